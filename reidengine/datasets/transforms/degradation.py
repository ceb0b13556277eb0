"""Camera-quality degradations: low resolution and JPEG compression, torchvision's on the pipeline's images.

Cameras of another deployment differ not only in colour but in quality: fewer pixels on the person (a
distant or cheaper camera, then upscaled to the network's input size) and stronger compression. Training on
randomly degraded copies is a generic domain-generalisation augmentation (no knowledge of the target
cameras): the network cannot rely on detail that another camera will not deliver. The image math is
torchvision's (``F.resize`` with antialiasing, ``v2.JPEG``); like ``photometric.py``, the wrappers move the
HxWx3 BGR uint8 image to an RGB tensor and back and draw their randomness from ``torch``'s generator.
"""
from typing import Sequence, Tuple

import torch
from mmcv.transforms import BaseTransform
from torchvision.transforms import InterpolationMode, v2
from torchvision.transforms.v2 import functional as F

from reidengine.registry import TRANSFORMS
from .photometric import _apply_rgb, _check_prob


def _check_range(owner: str, name: str, value, low: float, high: float) -> Tuple[float, float]:
    if (not isinstance(value, Sequence) or len(value) != 2
            or not low <= value[0] <= value[1] <= high):
        raise ValueError(f'{owner}: {name} must be (min, max) with {low} <= min <= max <= {high}, '
                         f'got {value!r}')
    return float(value[0]), float(value[1])


@TRANSFORMS.register_module()
class RandomDownscale(BaseTransform):
    """With probability ``prob``, resize the image by a factor drawn uniformly in ``scale`` (both sides,
    antialiased) and back to its size (bilinear): the same frame seen with fewer pixels."""

    def __init__(self, scale: Sequence[float] = (0.5, 1.0), prob: float = 0.5):
        self.prob = _check_prob('RandomDownscale', prob)
        self.scale = _check_range('RandomDownscale', 'scale', scale, 1e-3, 1.0)

    def transform(self, results: dict) -> dict:
        if torch.rand(()) >= self.prob:
            return results
        factor = self.scale[0] + (self.scale[1] - self.scale[0]) * float(torch.rand(()))
        return _apply_rgb(results, 'RandomDownscale', lambda rgb: self._degrade(rgb, factor))

    @staticmethod
    def _degrade(rgb: torch.Tensor, factor: float) -> torch.Tensor:
        height, width = rgb.shape[-2:]
        small = [max(1, round(height * factor)), max(1, round(width * factor))]
        low = F.resize(rgb, small, interpolation=InterpolationMode.BILINEAR, antialias=True)
        return F.resize(low, [height, width], interpolation=InterpolationMode.BILINEAR, antialias=False)

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(scale={self.scale}, prob={self.prob})'


@TRANSFORMS.register_module()
class RandomJPEG(BaseTransform):
    """With probability ``prob``, JPEG-compress the image at a quality drawn uniformly in ``quality``
    (integers, 1-100; ``torchvision.transforms.v2.JPEG``) and decode it again."""

    def __init__(self, quality: Sequence[int] = (50, 95), prob: float = 0.5):
        self.prob = _check_prob('RandomJPEG', prob)
        low, high = _check_range('RandomJPEG', 'quality', quality, 1, 100)
        self.quality = (int(low), int(high))
        self.jpeg = v2.JPEG(self.quality)

    def transform(self, results: dict) -> dict:
        if torch.rand(()) >= self.prob:
            return results
        return _apply_rgb(results, 'RandomJPEG', self.jpeg)

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(quality={self.quality}, prob={self.prob})'
