"""Photometric augmentations: colour jitter and blur, torchvision's transforms on the pipeline's images.

Camera changes in ReID are largely photometric (white balance, colour response, exposure, focus);
domain-generalisation recipes counter them with colour jitter and blur on the training images
(e.g. the "ColorJitter" of fast-reid's DG configs). The image math is torchvision's
(``torchvision.transforms.v2``); these wrappers only move the pipeline's HxWx3 BGR uint8 image to an
RGB tensor and back, and draw the randomness from ``torch``'s generator, which the data loader seeds
per worker.
"""
from typing import Callable, Sequence, Tuple, Union

import numpy as np
import torch
from mmcv.transforms import BaseTransform
from torchvision.transforms import v2

from reidengine.registry import TRANSFORMS

Range = Union[float, Sequence[float]]


def _apply_rgb(results: dict, owner: str, fn: Callable[[torch.Tensor], torch.Tensor]) -> dict:
    img = results.get('img')
    if not isinstance(img, np.ndarray) or img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
        raise ValueError(f'{owner}: expected results["img"] to be an HxWx3 uint8 BGR image '
                         f'(image {results.get("img_path", "?")}), got {type(img).__name__} '
                         f'{getattr(img, "shape", "")} {getattr(img, "dtype", "")}')
    rgb = torch.from_numpy(np.ascontiguousarray(img[..., ::-1])).permute(2, 0, 1)
    out = fn(rgb).permute(1, 2, 0).numpy()[..., ::-1]
    results['img'] = np.ascontiguousarray(out)
    return results


def _check_prob(owner: str, prob: float) -> float:
    if not 0 <= prob <= 1:
        raise ValueError(f'{owner}: prob must be in [0, 1], got {prob!r}')
    return float(prob)


@TRANSFORMS.register_module()
class ColorJitter(BaseTransform):
    """With probability ``prob``, ``torchvision.transforms.v2.ColorJitter(brightness, contrast,
    saturation, hue)``: each factor drawn uniformly in ``[max(0, 1 - x), 1 + x]`` (hue: a shift in
    ``[-x, x]`` of the colour circle, x <= 0.5), applied in random order."""

    def __init__(self, brightness: Range = 0.0, contrast: Range = 0.0, saturation: Range = 0.0,
                 hue: Range = 0.0, prob: float = 1.0):
        self.prob = _check_prob('ColorJitter', prob)
        try:
            self.jitter = v2.ColorJitter(brightness, contrast, saturation, hue)
        except (TypeError, ValueError) as err:
            raise ValueError(f'ColorJitter: invalid argument ({err})') from err

    def transform(self, results: dict) -> dict:
        if torch.rand(()) >= self.prob:
            return results
        return _apply_rgb(results, 'ColorJitter', self.jitter)

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(prob={self.prob}, {self.jitter!r})'


@TRANSFORMS.register_module()
class RandomGaussianBlur(BaseTransform):
    """With probability ``prob``, ``torchvision.transforms.v2.GaussianBlur`` with sigma drawn uniformly
    in ``sigma=(low, high)`` (pixels); the kernel covers +-3 sigma of the largest sigma."""

    def __init__(self, sigma: Tuple[float, float] = (0.1, 1.5), prob: float = 0.5):
        self.prob = _check_prob('RandomGaussianBlur', prob)
        if (not isinstance(sigma, Sequence) or len(sigma) != 2 or not 0 < sigma[0] <= sigma[1]):
            raise ValueError(f'RandomGaussianBlur: sigma must be (low, high) with 0 < low <= high, '
                             f'got {sigma!r}')
        self.sigma = (float(sigma[0]), float(sigma[1]))
        kernel = 2 * int(np.ceil(3 * self.sigma[1])) + 1
        self.blur = v2.GaussianBlur(kernel, self.sigma)

    def transform(self, results: dict) -> dict:
        if torch.rand(()) >= self.prob:
            return results
        return _apply_rgb(results, 'RandomGaussianBlur', self.blur)

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(sigma={self.sigma}, prob={self.prob})'
