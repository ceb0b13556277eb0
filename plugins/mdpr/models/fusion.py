"""Fusion of MDPR's Knowledge Distillation and Fusion Module (Sec. III-C, Fig. 6).

On the embedded maps (M channels each) of both branches, merge within each branch, then across:
    H = B_2M([B_M(P_1 ; ... ; P_N), G5^Hard])        (parts stacked back along the height)
    S = B_2M([G5^Soft, G4^Soft])
    f_fusion = GeM(B_4M([H, S]))                      (B, 4M); its BN is the head's BNNeck
with B_C a ``FusionBlock`` on C channels and [.,.] channel concatenation. All maps must share one
grid (last stride 1 gives layer3 and layer4 the same size).
"""
from typing import Dict

import torch
import torch.nn as nn

from reidengine.models.necks import GeneralizedMeanPooling
from .blocks import FusionBlock, check_positive


class FeatureFusion(nn.Module):
    """Args:
        embed_dim: M.
        convs: ``FusionBlock`` convolution layout, 'sequential' (released) or 'summed'.
        gem_p: initial GeM exponent.
    """

    def __init__(self, embed_dim: int = 512, convs: str = 'sequential', gem_p: float = 3.0):
        super().__init__()
        check_positive('FeatureFusion', embed_dim=embed_dim)
        m = embed_dim
        self.merge_parts = FusionBlock(m, convs)
        self.merge_hard = FusionBlock(2 * m, convs)
        self.merge_soft = FusionBlock(2 * m, convs)
        self.merge_all = FusionBlock(4 * m, convs)
        self.pool = GeneralizedMeanPooling(p=gem_p)

    def forward(self, feats: Dict[str, torch.Tensor]) -> torch.Tensor:
        names = ('hard_parts_map', 'hard_global_map', 'soft_global5_map', 'soft_global4_map')
        grids = {n: tuple(int(v) for v in feats[n].shape[-2:]) for n in names}
        if len(set(grids.values())) != 1:
            raise ValueError(f'FeatureFusion: the embedded maps must share one grid (build the '
                             f'backbone with last_stride=1), got {grids}')
        hard = self.merge_hard(torch.cat([self.merge_parts(feats['hard_parts_map']),
                                          feats['hard_global_map']], dim=1))
        soft = self.merge_soft(torch.cat([feats['soft_global5_map'], feats['soft_global4_map']], dim=1))
        return self.pool(self.merge_all(torch.cat([hard, soft], dim=1)))
