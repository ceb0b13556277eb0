"""Multi-head cross-attention + FFN block: queries from one token set, keys/values from another
(Vaswani et al., NeurIPS 2017, Sec. 3.2.2; FusionReID's Mutual Fusion Unit, DRFormer's fusion layers).

    Attn(Q, C) = concat_h softmax(Q W_h^q (C W_h^k)^T / sqrt(d_h)) C W_h^v  W^o

    pre-norm:   x = q + Attn(LN_q(q), LN_c(c));    y = x + FFN(LN_2(x))
    post-norm:  x = LN_1(q + Attn(q, c));           y = LN_2(x + FFN(x))

``norm_query`` / ``norm_context`` drop LN_q / LN_c in the pre-norm form (e.g. a key-only LayerNorm);
``ffn=False`` leaves the FFN sub-layer out (y = x). The attention runs through
``F.scaled_dot_product_attention``; ``return_attention=True`` computes the softmax explicitly and also
returns it (B, heads, N_q, N_c) for pictures.
"""
from typing import Optional, Tuple, Union

import torch
import torch.nn.functional as F
from timm.layers import Mlp
from torch import nn

from reidengine.registry import MODELS

_NORMS = ('pre', 'post')


@MODELS.register_module()
class CrossAttentionBlock(nn.Module):
    """Args:
        dim: token width D (queries and context).
        num_heads: attention heads (D divisible by it).
        mlp_ratio: FFN hidden width / D.
        qkv_bias: biases of the query, key and value projections.
        norm: 'pre' or 'post' (see the module docstring).
        norm_query, norm_context: in the pre-norm form, LayerNorm the queries / the context.
        drop: dropout after the output projection and in the FFN; attn_drop: on the attention.
        ffn: include the FFN sub-layer.
        norm_eps: LayerNorm epsilon.
    """

    def __init__(self, dim: int, num_heads: int, mlp_ratio: float = 4.0, qkv_bias: bool = True,
                 norm: str = 'pre', norm_query: bool = True, norm_context: bool = True,
                 drop: float = 0.0, attn_drop: float = 0.0, ffn: bool = True,
                 norm_eps: float = 1e-6):
        super().__init__()
        if norm not in _NORMS:
            raise ValueError(f'CrossAttentionBlock: norm must be one of {_NORMS}, got {norm!r}')
        if dim % num_heads:
            raise ValueError(f'CrossAttentionBlock: dim={dim} is not divisible by num_heads={num_heads}')
        self.num_heads, self.head_dim, self.norm = num_heads, dim // num_heads, norm
        self.q = nn.Linear(dim, dim, bias=qkv_bias)
        self.kv = nn.Linear(dim, 2 * dim, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)
        self.attn_drop, self.proj_drop = attn_drop, nn.Dropout(drop)
        pre = norm == 'pre'
        self.norm_q = nn.LayerNorm(dim, eps=norm_eps) if pre and norm_query else nn.Identity()
        self.norm_c = nn.LayerNorm(dim, eps=norm_eps) if pre and norm_context else nn.Identity()
        self.norm1 = nn.LayerNorm(dim, eps=norm_eps) if not pre else nn.Identity()
        self.ffn = Mlp(dim, int(dim * mlp_ratio), drop=drop) if ffn else None
        self.norm2 = nn.LayerNorm(dim, eps=norm_eps) if ffn else nn.Identity()

    def attention(self, query: torch.Tensor, context: torch.Tensor,
                  attn_mask: Optional[torch.Tensor] = None, return_attention: bool = False):
        """Multi-head attention of ``query`` (B, Nq, D) over ``context`` (B, Nc, D).

        ``attn_mask``: bool (Nq, Nc) or (B, 1 | heads, Nq, Nc), True = may attend.
        """
        batch, n_q, dim = query.shape
        q = self.q(query).reshape(batch, n_q, self.num_heads, self.head_dim).transpose(1, 2)
        k, v = self.kv(context).reshape(batch, -1, 2, self.num_heads, self.head_dim) \
            .permute(2, 0, 3, 1, 4).unbind(0)
        weights = None
        if return_attention:
            scores = (q @ k.transpose(-2, -1)) * self.head_dim ** -0.5
            if attn_mask is not None:
                scores = scores.masked_fill(~attn_mask, float('-inf'))
            weights = scores.softmax(dim=-1)
            out = F.dropout(weights, self.attn_drop, self.training) @ v
        else:
            out = F.scaled_dot_product_attention(
                q, k, v, attn_mask=attn_mask, dropout_p=self.attn_drop if self.training else 0.0)
        out = self.proj_drop(self.proj(out.transpose(1, 2).reshape(batch, n_q, dim)))
        return out, weights

    def forward(self, query: torch.Tensor, context: torch.Tensor,
                attn_mask: Optional[torch.Tensor] = None, return_attention: bool = False
                ) -> Union[torch.Tensor, Tuple[torch.Tensor, torch.Tensor]]:
        """(B, Nq, D) queries updated from (B, Nc, D) context [, attention (B, heads, Nq, Nc)]."""
        if query.dim() != 3 or context.dim() != 3 or query.shape[0] != context.shape[0] \
                or query.shape[-1] != context.shape[-1]:
            raise ValueError(f'CrossAttentionBlock: expected query (B, Nq, D) and context (B, Nc, D) '
                             f'with the same B and D, got {tuple(query.shape)} and '
                             f'{tuple(context.shape)}')
        if self.norm == 'pre':
            attn, weights = self.attention(self.norm_q(query), self.norm_c(context), attn_mask,
                                           return_attention)
            x = query + attn
            if self.ffn is not None:
                x = x + self.ffn(self.norm2(x))
        else:
            attn, weights = self.attention(query, context, attn_mask, return_attention)
            x = self.norm1(query + attn)
            if self.ffn is not None:
                x = self.norm2(x + self.ffn(x))
        return (x, weights) if return_attention else x
