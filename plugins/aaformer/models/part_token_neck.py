"""AAformer's features (Zhu et al., IEEE TNNLS 2023, Sec. III-C, eq. 6-7): the output [CLS] Z_0 is the
global feature, each output [PART] Z_p a part feature, and the concatenated [PART]s Z_{1:P} the feature of
the part triplet loss.
"""
from typing import Dict

import torch
from torch import nn

from reidengine.registry import MODELS


def part_names(num_parts: int) -> list:
    """Feature names of the parts: ``part_1 .. part_P``."""
    return [f'part_{i + 1}' for i in range(num_parts)]


@MODELS.register_module()
class PartTokenSplit(nn.Module):
    """(B, T, D) tokens ``[cls, part_1 .. part_P, patches]`` -> dict of (B, D) features ``cls``,
    ``part_1`` .. ``part_P`` and ``parts`` (B, P * D), the parts concatenated in order."""

    def __init__(self, num_parts: int):
        super().__init__()
        if not isinstance(num_parts, int) or num_parts < 1:
            raise ValueError(f'PartTokenSplit: num_parts must be a positive int, got {num_parts!r}')
        self.num_parts = num_parts
        self.names = part_names(num_parts)

    def forward(self, x: torch.Tensor) -> Dict[str, torch.Tensor]:
        if not isinstance(x, torch.Tensor) or x.dim() != 3 or x.shape[1] < 1 + self.num_parts:
            shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
            raise ValueError(f'PartTokenSplit: expected tokens (B, T, D) with T > 1 + {self.num_parts} '
                             f'(cls + parts + patches), got {shape}')
        parts = x[:, 1:1 + self.num_parts]
        feats = {'cls': x[:, 0]}
        feats.update({name: parts[:, i] for i, name in enumerate(self.names)})
        feats['parts'] = parts.flatten(1)
        return feats

    def extra_repr(self) -> str:
        return f'num_parts={self.num_parts}'
