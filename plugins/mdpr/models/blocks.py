"""Building blocks of MDPR (Fu, Cui et al., "Mutual Distillation Learning For Person
Re-Identification", 2024).

- ``EmbeddingBlock`` (Sec. III-A, Fig. 3): F = ReLU(BN(W * X)), W a 1x1 convolution C -> M.
- ``AttentionGenerator`` phi (eq. 2, Fig. 4): A = ReLU(BN(W1 * X + W3 * X)), W1 1x1 and W3 3x3
  convolutions C -> K + 1, summed.
- ``keep_foreground_maps`` (Sec. III-B): softmax over the K + 1 maps at every position, the first
  K kept (the last one takes the background), so the kept maps sum to less than 1.
- ``BilinearAttentionPooling`` (eq. 3): f_i = GeM_i(E_i(A_i . C)) for i = 1..K.
- ``FusionBlock`` (Sec. III-C, Fig. 6): a 1x1 and a 3x3 convolution, BN, ReLU.
"""
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from reidengine.models.necks import GeneralizedMeanPooling

FUSION_CONVS = ('sequential', 'summed')


def kaiming_init(module: nn.Module) -> None:
    """Convolutions and linear layers: Kaiming normal (fan out); norm layers: weight 1, bias 0."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.kaiming_normal_(m.weight, mode='fan_out', nonlinearity='relu')
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)


class EmbeddingBlock(nn.Sequential):
    """1x1 convolution (no bias) + BN + ReLU: (B, C, H, W) -> (B, M, H, W)."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, 1, bias=False)
        self.bn = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)
        kaiming_init(self)


class AttentionGenerator(nn.Module):
    """phi of eq. 2: ReLU(BN(conv1x1(x) + conv3x3(x))), giving ``num_maps`` raw attention maps."""

    def __init__(self, in_channels: int, num_maps: int):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, num_maps, 1, bias=False)
        self.conv3 = nn.Conv2d(in_channels, num_maps, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(num_maps)
        kaiming_init(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.bn(self.conv1(x) + self.conv3(x)))


def keep_foreground_maps(raw: torch.Tensor, num_kept: int) -> torch.Tensor:
    """(B, K + 1, H, W) raw maps -> (B, K, H, W): softmax over the map axis (in fp32), first K."""
    if raw.dim() != 4 or raw.shape[1] != num_kept + 1:
        raise ValueError(f'keep_foreground_maps: expected (B, {num_kept + 1}, H, W) raw maps, '
                         f'got {tuple(raw.shape)}')
    with torch.autocast(raw.device.type, enabled=False):
        probs = torch.softmax(raw.float(), dim=1)
    return probs[:, :num_kept].to(raw.dtype)


class BilinearAttentionPooling(nn.Module):
    """Eq. 3: for each of the K maps, embed A_i . C (``EmbeddingBlock`` C -> M, own weights) and
    GeM-pool it: (B, K, H, W) maps and (B, C, H, W) features -> (B, K, M).

    Args:
        in_channels: C.
        embed_dim: M.
        num_maps: K.
        gem_p: initial GeM exponent (learnable).
        shared_gem: one GeM exponent for the K maps (the released code) instead of one per map
            (the paper: "not parameter-shared across the different attention maps").
    """

    def __init__(self, in_channels: int, embed_dim: int, num_maps: int, gem_p: float = 3.0,
                 shared_gem: bool = False):
        super().__init__()
        self.num_maps = num_maps
        self.embeds = nn.ModuleList(EmbeddingBlock(in_channels, embed_dim) for _ in range(num_maps))
        self.pools = nn.ModuleList(GeneralizedMeanPooling(p=gem_p)
                                   for _ in range(1 if shared_gem else num_maps))

    def forward(self, maps: torch.Tensor, feats: torch.Tensor) -> torch.Tensor:
        if maps.shape[1] != self.num_maps or maps.shape[-2:] != feats.shape[-2:]:
            raise ValueError(f'BilinearAttentionPooling: expected (B, {self.num_maps}, H, W) maps on '
                             f'the feature grid {tuple(feats.shape[-2:])}, got {tuple(maps.shape)}')
        pooled = []
        for i, embed in enumerate(self.embeds):
            pool = self.pools[i if len(self.pools) > 1 else 0]
            pooled.append(pool(embed(feats * maps[:, i:i + 1])))
        return torch.stack(pooled, dim=1)


class FusionBlock(nn.Module):
    """Fusion block of Sec. III-C: 1x1 and 3x3 convolutions (C -> C, no bias), BN, ReLU.

    Args:
        channels: C.
        convs: 'sequential' (3x3 after 1x1: the released code) or 'summed' (the two convolutions
            side by side and summed, as the attention generator of Fig. 4).
    """

    def __init__(self, channels: int, convs: str = 'sequential'):
        super().__init__()
        if convs not in FUSION_CONVS:
            raise ValueError(f'FusionBlock: convs={convs!r}; expected one of {FUSION_CONVS}')
        self.convs = convs
        self.conv1 = nn.Conv2d(channels, channels, 1, bias=False)
        self.conv3 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(channels)
        kaiming_init(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.convs == 'sequential':
            x = self.conv3(self.conv1(x))
        else:
            x = self.conv1(x) + self.conv3(x)
        return F.relu(self.bn(x))


def check_positive(owner: str, **values: Optional[int]) -> None:
    """Clear errors for sizes that must be positive ints."""
    for key, value in values.items():
        if not isinstance(value, int) or value < 1:
            raise ValueError(f'{owner}: {key}={value!r}; expected a positive int')
