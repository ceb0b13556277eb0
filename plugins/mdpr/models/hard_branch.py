"""Hard Content Branch of MDPR (Sec. III-A, Fig. 3): the branch's own res-conv4/res-conv5 give
C5 (B, C, H, W), split into N horizontal parts P_1..P_N along the height; the whole map and each
part get their own embedding block (C -> M) and GeM (eq. 1): f_g5^Hard and f_p1..pN^Hard.
The BNs after them are the head's BNNecks.
"""
from typing import Dict, List

import torch
import torch.nn as nn

from reidengine.models.necks import GeneralizedMeanPooling
from .blocks import EmbeddingBlock, check_positive


class HardContentBranch(nn.Module):
    """Args:
        layer3, layer4: this branch's copies of the backbone stages (res-conv4, res-conv5).
        in_channels: C, channels of layer4's output.
        embed_dim: M.
        num_parts: N horizontal parts; the H rows are split as evenly as possible
            (``torch.tensor_split``: the first H mod N parts get one row more).
        gem_p: initial exponent of every GeM (learnable).

    ``forward`` returns pooled features ``hard_global`` (B, M), ``hard_part1..N`` (B, M) and, for
    the fusion module, the embedded maps ``hard_global_map`` (B, M, H, W) and ``hard_parts_map``
    (the embedded parts stacked back along the height, (B, M, H, W)).
    """

    def __init__(self, layer3: nn.Module, layer4: nn.Module, in_channels: int, embed_dim: int = 512,
                 num_parts: int = 2, gem_p: float = 3.0):
        super().__init__()
        check_positive('HardContentBranch', in_channels=in_channels, embed_dim=embed_dim,
                       num_parts=num_parts)
        self.num_parts = num_parts
        self.layer3, self.layer4 = layer3, layer4
        self.global_embed = EmbeddingBlock(in_channels, embed_dim)
        self.global_pool = GeneralizedMeanPooling(p=gem_p)
        self.part_embeds = nn.ModuleList(EmbeddingBlock(in_channels, embed_dim) for _ in range(num_parts))
        self.part_pools = nn.ModuleList(GeneralizedMeanPooling(p=gem_p) for _ in range(num_parts))

    def split_parts(self, c5: torch.Tensor) -> List[torch.Tensor]:
        if c5.shape[2] < self.num_parts:
            raise ValueError(f'HardContentBranch: a layer4 map of height {c5.shape[2]} cannot be split '
                             f'into num_parts={self.num_parts} horizontal parts')
        return list(torch.tensor_split(c5, self.num_parts, dim=2))

    def forward(self, x: torch.Tensor) -> Dict[str, torch.Tensor]:
        c5 = self.layer4(self.layer3(x))
        global_map = self.global_embed(c5)
        part_maps = [embed(p) for embed, p in zip(self.part_embeds, self.split_parts(c5))]
        out = dict(hard_global=self.global_pool(global_map))
        for i, (pool, part) in enumerate(zip(self.part_pools, part_maps)):
            out[f'hard_part{i + 1}'] = pool(part)
        out.update(hard_global_map=global_map, hard_parts_map=torch.cat(part_maps, dim=2))
        return out
