"""Identity classifiers: (B, D) features (and labels, for the margin-based ones) -> (B, C) logits.

- ``LinearClassifier``: W f without bias (Luo et al. 2019, "Bag of Tricks", sec. 3.5).
- ``CosineClassifier``: s cos(theta_c), theta_c the angle between f and the class weight W_c
  (Wang et al., CVPR 2018 "CosFace", eq. 3 without margin).
- ``CircleSoftmax``: Sun et al., CVPR 2020, "Circle Loss", sec. 3.3 (class-level labels), with
  O_p = 1 + m, O_n = -m, D_p = 1 - m, D_n = m: target logit s a_p (cos - D_p), other logits
  s a_n (cos - D_n), a_p = [O_p - cos]_+, a_n = [cos - O_n]_+ detached (as FastReID).
- ``ArcFace``: Deng et al., CVPR 2019, eq. 3: target logit s cos(theta_y + m).

Margins apply to the target class only and only when ``labels`` are given (training); without
labels each returns the margin-free logits (s cos for the cosine ones), e.g. for accuracy.
"""
import math
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from reidengine.registry import MODELS
from reidengine.utils.amp import float32_forward

# Floor of sin^2(theta) before the square root in ArcFace: a finite gradient at theta = 0.
_MIN_SIN_SQUARED = 1e-12


def _check_labels(name: str, labels: torch.Tensor, batch: int, num_classes: int) -> None:
    if labels.dim() != 1 or len(labels) != batch:
        raise ValueError(f'{name}: expected labels of shape ({batch},), got {tuple(labels.shape)}')
    if labels.numel() and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f'{name}: labels must lie in [0, {num_classes}), got min '
                         f'{int(labels.min())}, max {int(labels.max())}')


class _WeightClassifier(nn.Module):
    """A (num_classes, in_channels) weight initialised from N(0, init_std^2)."""

    def __init__(self, in_channels: int, num_classes: int, init_std: float):
        super().__init__()
        if in_channels <= 0 or num_classes <= 0:
            raise ValueError(f'{type(self).__name__}: in_channels and num_classes must be > 0, '
                             f'got {in_channels} and {num_classes}')
        self.in_channels = in_channels
        self.num_classes = num_classes
        self.weight = nn.Parameter(torch.empty(num_classes, in_channels))
        nn.init.normal_(self.weight, std=init_std)

    def _check(self, feats: torch.Tensor, labels: Optional[torch.Tensor]) -> None:
        name = type(self).__name__
        if feats.dim() != 2 or feats.shape[1] != self.in_channels:
            raise ValueError(f'{name}: expected features of shape (B, {self.in_channels}), '
                             f'got {tuple(feats.shape)}')
        if labels is not None:
            _check_labels(name, labels, len(feats), self.num_classes)

    def cosine(self, feats: torch.Tensor) -> torch.Tensor:
        return F.linear(F.normalize(feats, dim=1), F.normalize(self.weight, dim=1))

    def extra_repr(self) -> str:
        return f'in_channels={self.in_channels}, num_classes={self.num_classes}'


@MODELS.register_module()
class LinearClassifier(_WeightClassifier):
    """Bias-free linear layer. ``labels`` are accepted and ignored."""

    def __init__(self, in_channels: int, num_classes: int, init_std: float = 0.001):
        super().__init__(in_channels, num_classes, init_std)

    def forward(self, feats: torch.Tensor, labels: Optional[torch.Tensor] = None) -> torch.Tensor:
        self._check(feats, labels)
        return F.linear(feats, self.weight)


@MODELS.register_module()
class CosineClassifier(_WeightClassifier):
    """Scaled cosine logits s cos(theta). ``labels`` are accepted and ignored."""

    def __init__(self, in_channels: int, num_classes: int, scale: float = 16.0,
                 init_std: float = 0.01):
        super().__init__(in_channels, num_classes, init_std)
        self.scale = scale

    @float32_forward  # cosines and their margins in float32 under mixed precision
    def forward(self, feats: torch.Tensor, labels: Optional[torch.Tensor] = None) -> torch.Tensor:
        self._check(feats, labels)
        return self.scale * self.cosine(feats)


@MODELS.register_module()
class CircleSoftmax(_WeightClassifier):
    """Circle-loss logits; cross entropy on them is the class-level circle loss.

    Args:
        scale: s (the paper's gamma).
        margin: relaxation m.
    """

    def __init__(self, in_channels: int, num_classes: int, scale: float = 64.0,
                 margin: float = 0.35, init_std: float = 0.01):
        super().__init__(in_channels, num_classes, init_std)
        self.scale = scale
        self.margin = margin

    @float32_forward  # cosines and their margins in float32 under mixed precision
    def forward(self, feats: torch.Tensor, labels: Optional[torch.Tensor] = None) -> torch.Tensor:
        self._check(feats, labels)
        cos = self.cosine(feats)
        if labels is None:
            return self.scale * cos
        alpha_p = (1 + self.margin - cos.detach()).clamp(min=0)
        alpha_n = (cos.detach() + self.margin).clamp(min=0)
        logit_p = alpha_p * (cos - (1 - self.margin))
        logit_n = alpha_n * (cos - self.margin)
        is_target = F.one_hot(labels, self.num_classes).bool()
        return self.scale * torch.where(is_target, logit_p, logit_n)


@MODELS.register_module()
class ArcFace(_WeightClassifier):
    """Additive angular margin logits.

    Args:
        scale: s.
        margin: additive angle m (radians).

    Where theta_y + m would pass pi, the target logit is cos(theta_y) - m sin(m) instead (the
    ArcFace authors' code), which keeps it decreasing in theta_y.
    """

    def __init__(self, in_channels: int, num_classes: int, scale: float = 64.0,
                 margin: float = 0.5, init_std: float = 0.01):
        super().__init__(in_channels, num_classes, init_std)
        self.scale = scale
        self.margin = margin

    @float32_forward  # cosines and their margins in float32 under mixed precision
    def forward(self, feats: torch.Tensor, labels: Optional[torch.Tensor] = None) -> torch.Tensor:
        self._check(feats, labels)
        cos = self.cosine(feats)
        if labels is None:
            return self.scale * cos
        index = labels.view(-1, 1)
        cos_y = cos.gather(1, index)
        sin_y = (1 - cos_y.pow(2)).clamp(min=_MIN_SIN_SQUARED).sqrt()
        cos_margin = cos_y * math.cos(self.margin) - sin_y * math.sin(self.margin)
        fallback = cos_y - self.margin * math.sin(self.margin)
        cos_margin = torch.where(cos_y > math.cos(math.pi - self.margin), cos_margin, fallback)
        return self.scale * cos.scatter(1, index, cos_margin)
