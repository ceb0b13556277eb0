"""Dual-branch outputs -> the six supervised features of FusionReID (Wang et al., IEEE T-ITS 2025,
sec. III-A and III-B, Fig. 2): the Dual-attention Mutual Fusion (DMF) as a neck of
``MultiBackboneReIDModel``.

    f_c^hat = GeM(X_c)                      CNN map X_c (B, D_c, H_c, W_c)              (sec. III-A)
    f_t^hat = Z[:, 0],  X_t = Z[:, 1:]      ViT tokens Z (B, 1 + N, D_t), cls first     (sec. III-A)
    F_c = LRU_c(X_c),  F_t = LRU_t(reshape(X_t))                                        (eq. 1-2)
    f'_(c,0) = Pool(F_c),  f'_(t,0) = Pool(F_t)        Pool = GeM (or average, Table V)
    f'_(c,L), f'_(t,L) = HTM^L(f'_(c,0), f'_(t,0); flatten(F_c), flatten(F_t))          (eq. 3-9)

LRU modes: 'resize' (the paper: both maps brought to the smaller grid, rows and columns separately, by
the depthwise conv) and 'no_resize' (the released code: 1 x 1 depthwise conv, so the two branches keep
token sets of different length, e.g. 128 CNN and 210 ViT tokens).
"""
from typing import Dict, List, Optional, Sequence

import torch
from torch import nn

from reidengine.registry import MODELS
from .htm import HeterogenousTransmissionModule
from .lru import LocalRefinementUnit, grid_pair

LRU_MODES = ('resize', 'no_resize')
FEATURES = ('cnn', 'vit', 'lru_cnn', 'lru_vit', 'htm_cnn', 'htm_vit')


@MODELS.register_module()
class DualAttentionMutualFusion(nn.Module):
    """Args:
        cnn_channels / cnn_grid: channels and (rows, cols) of the CNN backbone's map.
        vit_channels / vit_grid: width and patch grid of the ViT backbone's tokens.
        dim: D, the fusion width (768 in the paper; Fig. 6 varies it).
        lru_mode: 'resize' or 'no_resize' (see module doc).
        cnn_pool: pooling of the CNN map into f_c^hat (GeM, p = 3 learnable).
        dmf_pool: pooling of the LRU maps into the global tokens (GeM; ``dict(type='GlobalAvgPool')``
            for Table V's GAP row).
        htm: ``HeterogenousTransmissionModule`` arguments (``dim`` is filled in).
        cnn_key / vit_key: names of the two backbones in ``MultiBackboneReIDModel.backbones``.
        vit_prefix_tokens: tokens before the patches in the ViT output (cls only: 1).

    Output: dict of the six features ``FEATURES``: 'cnn' (D_c), 'vit' (D_t), 'lru_cnn', 'lru_vit',
    'htm_cnn', 'htm_vit' (D each).
    """

    def __init__(self,
                 cnn_channels: int,
                 cnn_grid: Sequence[int],
                 vit_channels: int,
                 vit_grid: Sequence[int],
                 dim: int = 768,
                 lru_mode: str = 'resize',
                 cnn_pool: Optional[dict] = None,
                 dmf_pool: Optional[dict] = None,
                 htm: Optional[dict] = None,
                 cnn_key: str = 'cnn',
                 vit_key: str = 'vit',
                 vit_prefix_tokens: int = 1):
        super().__init__()
        if lru_mode not in LRU_MODES:
            raise ValueError(f'DualAttentionMutualFusion: lru_mode must be one of {LRU_MODES}, '
                             f'got {lru_mode!r}')
        self.cnn_channels, self.vit_channels, self.dim = cnn_channels, vit_channels, dim
        self.cnn_grid = grid_pair(cnn_grid, 'DualAttentionMutualFusion: cnn_grid')
        self.vit_grid = grid_pair(vit_grid, 'DualAttentionMutualFusion: vit_grid')
        self.lru_mode = lru_mode
        self.cnn_key, self.vit_key = cnn_key, vit_key
        self.vit_prefix_tokens = vit_prefix_tokens
        if lru_mode == 'resize':  # the smaller of the two grids, per direction
            target = tuple(min(c, t) for c, t in zip(self.cnn_grid, self.vit_grid))
            self.lru_grids = dict(cnn=target, vit=target)
        else:
            self.lru_grids = dict(cnn=self.cnn_grid, vit=self.vit_grid)
        self.lru_cnn = LocalRefinementUnit(cnn_channels, dim, self.cnn_grid, self.lru_grids['cnn'])
        self.lru_vit = LocalRefinementUnit(vit_channels, dim, self.vit_grid, self.lru_grids['vit'])
        gem = dict(type='GeM', p=3.0, learnable=True)
        self.cnn_pool = MODELS.build(cnn_pool or gem)
        self.pool_cnn = MODELS.build(dmf_pool or gem)  # f'_(c,0)
        self.pool_vit = MODELS.build(dmf_pool or gem)  # f'_(t,0)
        self.htm = HeterogenousTransmissionModule(dim=dim, **(htm or {}))

    def _inputs(self, outputs: Dict[str, torch.Tensor]):
        if not isinstance(outputs, dict) or self.cnn_key not in outputs or self.vit_key not in outputs:
            got = list(outputs) if isinstance(outputs, dict) else type(outputs).__name__
            raise ValueError(f'DualAttentionMutualFusion: expected backbone outputs '
                             f'{{{self.cnn_key!r}: map, {self.vit_key!r}: tokens}}, got {got}')
        cnn, vit = outputs[self.cnn_key], outputs[self.vit_key]
        if isinstance(cnn, (tuple, list)):
            cnn = cnn[-1]
        expected = (self.cnn_channels, *self.cnn_grid)
        if cnn.dim() != 4 or tuple(cnn.shape[1:]) != expected:
            raise ValueError(f'DualAttentionMutualFusion: the CNN map is {tuple(cnn.shape)}, expected '
                             f'(B, {expected[0]}, {expected[1]}, {expected[2]}) (model.neck.cnn_channels '
                             f'/ cnn_grid must match the CNN backbone and image size)')
        num_tokens = self.vit_prefix_tokens + self.vit_grid[0] * self.vit_grid[1]
        if vit.dim() != 3 or tuple(vit.shape[1:]) != (num_tokens, self.vit_channels):
            raise ValueError(f'DualAttentionMutualFusion: the ViT output is {tuple(vit.shape)}, expected '
                             f'(B, {num_tokens}, {self.vit_channels}) ({self.vit_prefix_tokens} prefix '
                             f'token(s) + a {self.vit_grid[0]}x{self.vit_grid[1]} grid: model.neck.'
                             f'vit_channels / vit_grid must match the ViT backbone)')
        return cnn, vit

    def forward_intermediates(self, outputs: Dict[str, torch.Tensor],
                              attention: Optional[List[dict]] = None) -> Dict[str, torch.Tensor]:
        """The six features and every intermediate: 'cnn_map' (B, D_c, H_c, W_c), 'vit_map'
        (B, D_t, H_t, W_t), 'lru_cnn_map' / 'lru_vit_map' (B, D, h, w), 'lru_cnn_tokens' /
        'lru_vit_tokens' (B, h * w, D). ``attention``: see ``HeterogenousTransmissionModule``."""
        cnn, vit = self._inputs(outputs)
        batch = cnn.shape[0]
        vit_map = vit[:, self.vit_prefix_tokens:].transpose(1, 2).reshape(
            batch, self.vit_channels, *self.vit_grid)
        lru_cnn, lru_vit = self.lru_cnn(cnn), self.lru_vit(vit_map)
        g_cnn, g_vit = self.pool_cnn(lru_cnn), self.pool_vit(lru_vit)  # (B, D)
        tokens = dict(cnn=lru_cnn.flatten(2).transpose(1, 2), vit=lru_vit.flatten(2).transpose(1, 2))
        htm_cnn, htm_vit = self.htm(dict(cnn=g_cnn[:, None], vit=g_vit[:, None]), tokens, attention)
        return dict(cnn=self.cnn_pool(cnn), vit=vit[:, 0], lru_cnn=g_cnn, lru_vit=g_vit,
                    htm_cnn=htm_cnn, htm_vit=htm_vit, cnn_map=cnn, vit_map=vit_map,
                    lru_cnn_map=lru_cnn, lru_vit_map=lru_vit, lru_cnn_tokens=tokens['cnn'],
                    lru_vit_tokens=tokens['vit'])

    def forward(self, outputs: Dict[str, torch.Tensor], data_samples=None) -> Dict[str, torch.Tensor]:
        """Backbone outputs -> the six features (B, D_name)."""
        inter = self.forward_intermediates(outputs)
        return {name: inter[name] for name in FEATURES}
