"""Bidirectional fusion transformer of DRFormer (Shu et al., "DRFormer: A Dual-Regularized
Bidirectional Transformer for Person Re-identification", Sec. 3.2, eq. 3-5, Table 3 and Table 6).

Only the learnable tokens' outputs of each encoder go on (eq. 1-2): ``f_T^a`` (B, N, D) taken from
the encoder output ``[cls, T_1..T_N, image tokens]`` (the cls output is discarded). Then, for the
ordered pair of encoders (a, b) = (DINOv2, CLIP):

    H_{a->b} = Transformer_{a->b}(Q = f_T^a, K = V = f_T^b)                  (eq. 3)
    H_{b->a} = Transformer_{b->a}(Q = f_T^b, K = V = f_T^a)                  (eq. 4)
    Transformer = one cross-attention layer, then S self-attention layers (Table 6), final LayerNorm
    h_{a->b} = reduce_N(H_{a->b}),   z_f = [h_{a->b}; h_{b->a}]              (eq. 5 / eq. 13)

``reduce_N`` turns the N query tokens into one vector (mean by default: eq. 29's classifier
W in R^{M x (d_0 + d_1)} takes one d-vector per direction). ``fusion='concat'`` is Table 3's "+Concat"
row: no transformer, ``h_a = reduce_N(f_T^a)``.
"""
from typing import Dict, Optional, Sequence

import torch
from timm.models.vision_transformer import Block
from torch import nn

from reidengine.models.layers import CrossAttentionBlock
from reidengine.registry import MODELS

_FUSIONS = ('transformer', 'concat')
_REDUCTIONS = ('mean', 'first')


class FusionTransformer(nn.Module):
    """One direction: a cross-attention layer (queries from ``query``, keys / values from
    ``context``) then ``num_self_layers`` self-attention layers over the N query tokens, all
    pre-norm, and a final LayerNorm."""

    def __init__(self, dim: int, num_heads: int, num_self_layers: int, mlp_ratio: float,
                 qkv_bias: bool, final_norm: bool):
        super().__init__()
        self.cross = CrossAttentionBlock(dim, num_heads, mlp_ratio=mlp_ratio, qkv_bias=qkv_bias,
                                         norm='pre')
        self.self_layers = nn.ModuleList(
            Block(dim, num_heads, mlp_ratio=mlp_ratio, qkv_bias=qkv_bias)
            for _ in range(num_self_layers))
        self.norm = nn.LayerNorm(dim) if final_norm else nn.Identity()

    def forward(self, query: torch.Tensor, context: torch.Tensor,
                return_attention: bool = False):
        out = self.cross(query, context, return_attention=return_attention)
        x, attention = out if return_attention else (out, None)
        for layer in self.self_layers:
            x = layer(x)
        x = self.norm(x)
        return (x, attention) if return_attention else x


@MODELS.register_module()
class DRFormerFusion(nn.Module):
    """Learnable tokens of two encoders -> ``{'fused', '<a>_to_<b>', '<b>_to_<a>', 'tokens_<name>'}``.

    Args:
        encoders: the two encoder names (keys of the model's ``backbones``) in the order (a, b) of
            eq. 3-4: the first is the query of ``<a>_to_<b>`` (DINOv2 -> CLIP).
        num_tokens: N learnable tokens per encoder; they follow the cls token in the encoder output.
        dims: embedding width of each encoder's tokens (``dict(name=D)``).
        fusion: ``'transformer'`` (eq. 3-4) or ``'concat'`` (Table 3: the reduced tokens concatenated).
        num_self_layers: S self-attention layers after the cross-attention layer (Table 6: 0, 1, 2).
        num_heads, mlp_ratio, qkv_bias: size of the fusion layers.
        share_weights: one transformer for both directions (eq. 27-28 write one theta_f); default
            False: one set of weights per direction.
        token_reduction: ``'mean'`` of the N output tokens, or ``'first'`` (the SIE token's).
        final_norm: LayerNorm at the end of each direction (pre-norm layers leave it unnormalised).

    Output (the head reads it): ``fused`` (B, D_a + D_b) = z_f; each direction (B, D); and each
    encoder's learnable tokens ``tokens_<name>`` (B, N, D) for the intra-model regulariser.
    """

    def __init__(self,
                 encoders: Sequence[str] = ('dino', 'clip'),
                 num_tokens: int = 2,
                 dims: Optional[Dict[str, int]] = None,
                 fusion: str = 'transformer',
                 num_self_layers: int = 2,
                 num_heads: int = 12,
                 mlp_ratio: float = 4.0,
                 qkv_bias: bool = True,
                 share_weights: bool = False,
                 token_reduction: str = 'mean',
                 final_norm: bool = True):
        super().__init__()
        name = type(self).__name__
        if len(encoders) != 2 or len(set(encoders)) != 2:
            raise ValueError(f'{name}: encoders must name two different encoders, got {encoders!r}')
        if fusion not in _FUSIONS:
            raise ValueError(f'{name}: fusion must be one of {_FUSIONS}, got {fusion!r}')
        if token_reduction not in _REDUCTIONS:
            raise ValueError(f'{name}: token_reduction must be one of {_REDUCTIONS}, '
                             f'got {token_reduction!r}')
        if not isinstance(num_tokens, int) or num_tokens < 1:
            raise ValueError(f'{name}: num_tokens must be an int >= 1, got {num_tokens!r}')
        if not isinstance(num_self_layers, int) or num_self_layers < 0:
            raise ValueError(f'{name}: num_self_layers must be an int >= 0, got {num_self_layers!r}')
        dims = dict(dims or {})
        missing = [e for e in encoders if e not in dims]
        if missing:
            raise ValueError(f'{name}: dims must give the token width of {missing}, got {dims!r}')
        self.encoders = tuple(encoders)
        self.num_tokens = num_tokens
        self.fusion = fusion
        self.token_reduction = token_reduction
        self.share_weights = share_weights
        a, b = self.encoders
        self.directions = (f'{a}_to_{b}', f'{b}_to_{a}')
        self.dims = {self.directions[0]: dims[a], self.directions[1]: dims[b]}
        self.out_channels = dims[a] + dims[b]
        self.transformers = nn.ModuleDict()
        if fusion == 'transformer':
            if dims[a] != dims[b]:
                raise ValueError(f'{name}: cross-attention needs equal token widths, got '
                                 f'{a}={dims[a]} and {b}={dims[b]}')
            make = lambda: FusionTransformer(dims[a], num_heads, num_self_layers,  # noqa: E731
                                             mlp_ratio, qkv_bias, final_norm)
            first = make()
            self.transformers[self.directions[0]] = first
            self.transformers[self.directions[1]] = first if share_weights else make()

    def learnable_tokens(self, outputs: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        """``f_T`` of each encoder: tokens 1..N of its (B, 1 + N + M, D) output (eq. 1-2)."""
        if not isinstance(outputs, dict) or any(e not in outputs for e in self.encoders):
            got = list(outputs) if isinstance(outputs, dict) else type(outputs).__name__
            raise ValueError(f'{type(self).__name__}: expected encoder outputs {list(self.encoders)}, '
                             f'got {got}')
        tokens = {}
        for enc in self.encoders:
            x = outputs[enc]
            if x.dim() != 3 or x.shape[1] < 1 + self.num_tokens:
                raise ValueError(f'{type(self).__name__}: encoder {enc!r} output must be (B, 1 + '
                                 f'{self.num_tokens} + M, D) [cls, learnable tokens, image tokens], '
                                 f'got {tuple(x.shape)}')
            tokens[enc] = x[:, 1:1 + self.num_tokens]
        return tokens

    def reduce(self, x: torch.Tensor) -> torch.Tensor:
        """(B, N, D) -> (B, D)."""
        return x.mean(dim=1) if self.token_reduction == 'mean' else x[:, 0]

    def forward(self, outputs: Dict[str, torch.Tensor], data_samples=None) -> Dict[str, torch.Tensor]:
        tokens = self.learnable_tokens(outputs)
        a, b = self.encoders
        feats = {f'tokens_{enc}': tokens[enc] for enc in self.encoders}
        for direction, (query, context) in zip(self.directions, ((a, b), (b, a))):
            if self.fusion == 'concat':
                feats[direction] = self.reduce(tokens[query])
            else:
                feats[direction] = self.reduce(self.transformers[direction](tokens[query],
                                                                            tokens[context]))
        feats['fused'] = torch.cat([feats[d] for d in self.directions], dim=1)
        return feats
