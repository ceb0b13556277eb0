"""Heterogenous Transmission Module (FusionReID, Wang et al., IEEE T-ITS 2025, sec. III-B, Fig. 3).

Per branch x in {c (CNN), t (ViT)}: the global token g_x and the local tokens L_x (the LRU outputs).

Shared Encoding Unit, one ViT block on X = [g_x; L_x] (eq. 3-5):
    S_hat = MHSA(LN(X)) + X,    S = FFN(LN(S_hat)) + S_hat,    S = [S^g; S^l]
Mutual Fusion Unit of branch c (eq. 6, 8; branch t symmetric, eq. 7, 9):
    M_c = MHCA(Q = S^g_c, K = V = S^l_t),    f'_c = FFN(M_c) + M_c
    (released code, ``released_layer_norms=True``: f = q + MHCA(LN(q), K = LN(S^l_t), V = S^l_t),
    f'_c = f + FFN(LN(f)), and the SEU ends with one more LayerNorm.)

Orders of Table III (``order``): 'seu_mfu' (the method: SEU in front, MFUs in back), 'seu_only',
'mfu_seu' (MFUs read the previous global token and the other branch's LRU tokens, then the SEU encodes
[fused global; own LRU tokens]) and 'mfu_only'. Sharing of Table IV: ``share_seu`` (one SEU for both
branches: the method), ``share_mfu`` (one MFU for both directions). Only the global tokens leave a
layer: the next layer starts again from the LRU tokens (sec. III-B, "Stacking of HTM").
"""
from functools import partial
from typing import Dict, Optional, Tuple

import torch
from timm.models.vision_transformer import Block
from torch import nn

from reidengine.models.layers import CrossAttentionBlock

ORDERS = ('seu_mfu', 'seu_only', 'mfu_seu', 'mfu_only')


def block_attention(block: Block, x: torch.Tensor) -> torch.Tensor:
    """Self-attention weights softmax(q k^T / sqrt(d)) of a timm ViT ``block`` on ``x`` (B, T, D):
    (B, heads, T, T), computed again from its weights (the fused kernel does not return them)."""
    attn = block.attn
    qkv = attn.qkv(block.norm1(x)).reshape(x.shape[0], x.shape[1], 3, attn.num_heads, -1)
    q, k, _ = qkv.permute(2, 0, 3, 1, 4).unbind(0)
    q, k = attn.q_norm(q), attn.k_norm(k)
    return ((q * attn.scale) @ k.transpose(-2, -1)).softmax(dim=-1)


class SharedEncodingUnit(nn.Module):
    """One pre-norm ViT block (timm's ``Block``, eq. 3-4) on [global; local] tokens, (B, 1 + N, D).

    ``final_norm`` adds the released code's LayerNorm after the block.
    """

    def __init__(self, dim: int, num_heads: int, mlp_ratio: float, qkv_bias: bool, norm_eps: float,
                 drop_path: float = 0.0, final_norm: bool = False):
        super().__init__()
        norm_layer = partial(nn.LayerNorm, eps=norm_eps)
        self.block = Block(dim, num_heads, mlp_ratio=mlp_ratio, qkv_bias=qkv_bias, drop_path=drop_path,
                           norm_layer=norm_layer)
        self.norm = norm_layer(dim) if final_norm else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(self.block(x))

    def attention(self, x: torch.Tensor) -> torch.Tensor:
        """(B, heads, 1 + N, 1 + N) attention weights of the block on ``x``."""
        return block_attention(self.block, x)


class MutualFusionUnit(nn.Module):
    """Cross-attention of one branch's global token over the other branch's local tokens + FFN
    (eq. 6-9), a core ``CrossAttentionBlock``: (B, 1, D), (B, N, D) -> (B, 1, D).

    ``released_layer_norms=False`` (eq. 8-9): no LayerNorm, no residual from the query.
    ``released_layer_norms=True``: pre-norm on the query, LayerNorm on the keys only, residual from
    the query, pre-norm FFN.
    """

    def __init__(self, dim: int, num_heads: int, mlp_ratio: float, qkv_bias: bool, norm_eps: float,
                 released_layer_norms: bool = False):
        super().__init__()
        if released_layer_norms:
            self.block = CrossAttentionBlock(dim, num_heads, mlp_ratio=mlp_ratio, qkv_bias=qkv_bias,
                                             norm='pre', norm_query=True, norm_context='keys',
                                             query_residual=True, norm_eps=norm_eps)
        else:
            self.block = CrossAttentionBlock(dim, num_heads, mlp_ratio=mlp_ratio, qkv_bias=qkv_bias,
                                             norm='none', query_residual=False, norm_eps=norm_eps)

    def forward(self, query: torch.Tensor, context: torch.Tensor, return_attention: bool = False):
        return self.block(query, context, return_attention=return_attention)


class HTMLayer(nn.Module):
    """One HTM: the SEU(s) and MFUs of one layer in the given ``order`` (own parameters per layer)."""

    def __init__(self, dim: int, num_heads: int, mlp_ratio: float, qkv_bias: bool, norm_eps: float,
                 order: str, share_seu: bool, share_mfu: bool, released_layer_norms: bool,
                 drop_path: float = 0.0):
        super().__init__()
        self.order = order
        common = dict(dim=dim, num_heads=num_heads, mlp_ratio=mlp_ratio, qkv_bias=qkv_bias,
                      norm_eps=norm_eps)
        self.seu = self.mfu = None
        if order != 'mfu_only':
            seu = partial(SharedEncodingUnit, **common, drop_path=drop_path,
                          final_norm=released_layer_norms)
            # one module for both branches (shared) or one per branch
            self.seu = nn.ModuleDict(dict(cnn=seu())) if share_seu else \
                nn.ModuleDict(dict(cnn=seu(), vit=seu()))
        if order != 'seu_only':
            mfu = partial(MutualFusionUnit, **common, released_layer_norms=released_layer_norms)
            self.mfu = nn.ModuleDict(dict(cnn=mfu())) if share_mfu else \
                nn.ModuleDict(dict(cnn=mfu(), vit=mfu()))

    def _seu(self, branch: str) -> SharedEncodingUnit:
        return self.seu[branch] if branch in self.seu else self.seu['cnn']

    def _mfu(self, branch: str) -> MutualFusionUnit:
        return self.mfu[branch] if branch in self.mfu else self.mfu['cnn']

    def forward(self, globals_: Dict[str, torch.Tensor], locals_: Dict[str, torch.Tensor],
                attention: Optional[dict] = None) -> Dict[str, torch.Tensor]:
        """``globals_``: branch -> (B, 1, D); ``locals_``: branch -> (B, N_branch, D) LRU tokens.
        Returns the new global tokens. ``attention``, if a dict, receives the attention weights of
        every unit: ``seu_<branch>`` (B, heads, N_branch) of the global token over its own local
        tokens, ``mfu_<branch>`` (B, heads, N_other) over the other branch's local tokens."""
        other = dict(cnn='vit', vit='cnn')
        g = dict(globals_)
        if self.order in ('seu_mfu', 'seu_only'):
            encoded = {}
            for b in ('cnn', 'vit'):
                x = torch.cat([g[b], locals_[b]], dim=1)
                encoded[b] = self._seu(b)(x)
                if attention is not None:
                    attention[f'seu_{b}'] = self._seu(b).attention(x)[:, :, 0, 1:]
            if self.order == 'seu_only':
                return {b: encoded[b][:, :1] for b in ('cnn', 'vit')}
            return {b: self._fuse(b, encoded[b][:, :1], encoded[other[b]][:, 1:], attention)
                    for b in ('cnn', 'vit')}
        fused = {b: self._fuse(b, g[b], locals_[other[b]], attention) for b in ('cnn', 'vit')}
        if self.order == 'mfu_only':
            return fused
        out = {}
        for b in ('cnn', 'vit'):  # 'mfu_seu'
            x = torch.cat([fused[b], locals_[b]], dim=1)
            out[b] = self._seu(b)(x)[:, :1]
            if attention is not None:
                attention[f'seu_{b}'] = self._seu(b).attention(x)[:, :, 0, 1:]
        return out

    def _fuse(self, branch: str, query: torch.Tensor, context: torch.Tensor,
              attention: Optional[dict]) -> torch.Tensor:
        if attention is None:
            return self._mfu(branch)(query, context)
        out, weights = self._mfu(branch)(query, context, return_attention=True)
        attention[f'mfu_{branch}'] = weights[:, :, 0]
        return out


class HeterogenousTransmissionModule(nn.Module):
    """L stacked HTM layers (Fig. 3a), each with its own parameters.

    Args:
        dim: D, the fusion width. num_heads: heads of every SEU / MFU. mlp_ratio: FFN width / D.
        num_layers: L. qkv_bias: bias on the q/k/v projections (the released code has none).
        norm_eps: LayerNorm epsilon. order: one of ``ORDERS`` (Table III).
        share_seu / share_mfu: one unit for both branches (Table IV). drop_path: stochastic depth of
        the SEU blocks. released_layer_norms: the released code's LayerNorm placement (see module doc).
    """

    def __init__(self, dim: int = 768, num_heads: int = 12, mlp_ratio: float = 4.0, num_layers: int = 2,
                 qkv_bias: bool = False, norm_eps: float = 1e-5, order: str = 'seu_mfu',
                 share_seu: bool = True, share_mfu: bool = False, released_layer_norms: bool = False,
                 drop_path: float = 0.0):
        super().__init__()
        if order not in ORDERS:
            raise ValueError(f'HeterogenousTransmissionModule: order must be one of {ORDERS}, '
                             f'got {order!r}')
        if num_layers < 1:
            raise ValueError(f'HeterogenousTransmissionModule: num_layers must be >= 1, got {num_layers}')
        if dim % num_heads:
            raise ValueError(f'HeterogenousTransmissionModule: dim {dim} is not divisible by '
                             f'num_heads {num_heads}')
        self.layers = nn.ModuleList([
            HTMLayer(dim, num_heads, mlp_ratio, qkv_bias, norm_eps, order, share_seu, share_mfu,
                     released_layer_norms, drop_path) for _ in range(num_layers)])

    def forward(self, globals_: Dict[str, torch.Tensor], locals_: Dict[str, torch.Tensor],
                attention: Optional[list] = None) -> Tuple[torch.Tensor, torch.Tensor]:
        """(B, 1, D) global and (B, N, D) local tokens per branch -> final global tokens (B, D) of the
        CNN and ViT branches. ``attention``, if a list, receives one dict per layer."""
        g = dict(globals_)
        for layer in self.layers:
            record = {} if attention is not None else None
            g = layer(g, locals_, record)
            if attention is not None:
                attention.append(record)
        return g['cnn'][:, 0], g['vit'][:, 0]
