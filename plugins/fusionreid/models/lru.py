"""Local Refinement Unit (FusionReID, Wang et al., "Unity is Strength: Unifying Convolutional and
Transformeral Features for Better Person Re-Identification", IEEE T-ITS 2025, sec. III-B, eq. 1-2):

    F   = delta(phi(F_hat))        phi: depthwise conv + BN, delta: PReLU          (eq. 1)
    F_x = delta(varphi(F))         varphi: pointwise (1x1) conv to D channels + BN  (eq. 2)

The depthwise conv "changes the spatial size": with ``out_grid`` smaller than ``in_grid`` it is a valid
(unpadded, stride 1) convolution of kernel ``in_grid - out_grid + 1`` (21 x 10 -> 16 x 8 with a 6 x 3
kernel); with ``out_grid == in_grid`` its kernel is 1 x 1 (the released code's LRU in every case).
"""
from typing import Sequence, Tuple

import torch
from torch import nn


def grid_pair(value, name: str) -> Tuple[int, int]:
    """(rows, cols) from an int or a pair of positive ints; ``name`` goes into the error."""
    grid = tuple(value) if not isinstance(value, int) else (value, value)
    if len(grid) != 2 or not all(isinstance(v, int) and v > 0 for v in grid):
        raise ValueError(f'{name} must be (rows, cols) of positive ints, got {value!r}')
    return grid


class LocalRefinementUnit(nn.Module):
    """(B, C, H_in, W_in) -> (B, D, H_out, W_out).

    Args:
        in_channels: C, channels of the backbone map.
        out_channels: D, the fusion width.
        in_grid: (H_in, W_in) of the backbone map.
        out_grid: (H_out, W_out), at most ``in_grid`` in both directions.

    PReLU with one slope per unit (``nn.PReLU()``), depthwise and pointwise convs with bias, as released.
    """

    def __init__(self, in_channels: int, out_channels: int, in_grid: Sequence[int],
                 out_grid: Sequence[int]):
        super().__init__()
        self.in_grid, self.out_grid = (grid_pair(in_grid, 'LocalRefinementUnit: in_grid'),
                                      grid_pair(out_grid, 'LocalRefinementUnit: out_grid'))
        kernel = tuple(i - o + 1 for i, o in zip(self.in_grid, self.out_grid))
        if min(kernel) < 1:
            raise ValueError(f'LocalRefinementUnit: out_grid {self.out_grid} is larger than in_grid '
                             f'{self.in_grid}; the depthwise conv can only keep or shrink the map')
        self.kernel_size = kernel
        self.depthwise = nn.Conv2d(in_channels, in_channels, kernel, groups=in_channels)
        self.bn1 = nn.BatchNorm2d(in_channels)
        self.act1 = nn.PReLU()
        self.pointwise = nn.Conv2d(in_channels, out_channels, 1)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.act2 = nn.PReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or tuple(x.shape[-2:]) != self.in_grid:
            raise ValueError(f'LocalRefinementUnit: expected a (B, C, {self.in_grid[0]}, '
                             f'{self.in_grid[1]}) map, got {tuple(x.shape)}')
        x = self.act1(self.bn1(self.depthwise(x)))     # eq. 1
        return self.act2(self.bn2(self.pointwise(x)))  # eq. 2

    def extra_repr(self) -> str:
        return f'in_grid={self.in_grid}, out_grid={self.out_grid}, kernel_size={self.kernel_size}'
