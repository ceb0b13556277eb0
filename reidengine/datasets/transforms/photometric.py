"""Photometric augmentations: colour jitter and blur, torchvision's transforms on the pipeline's images.

Camera changes in ReID are largely photometric (white balance, colour response, exposure, focus);
domain-generalisation recipes counter them with colour jitter and blur on the training images
(e.g. fast-reid's ``INPUT.CJ`` option). The image math is torchvision's
(``torchvision.transforms.v2``); these wrappers only move the pipeline's HxWx3 BGR uint8 image to an
RGB tensor and back, and draw the randomness from ``torch``'s generator, which the data loader seeds
per worker. One exception for speed: the hue shift runs through OpenCV's 8-bit HSV conversion (0.06 ms
instead of torchvision's 0.6 ms for a 128x64 image, most of a worker's time per image; see
``benchmarks/README.md``, data pipeline); the hue is then quantised to 1/256 of the colour circle.
"""
from typing import Callable, Sequence, Tuple, Union

import cv2
import numpy as np
import torch
from mmcv.transforms import BaseTransform
from torchvision.transforms import v2
from torchvision.transforms.v2 import functional as F

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


def adjust_hue(rgb: torch.Tensor, hue_factor: float) -> torch.Tensor:
    """Shift the hue of a 3xHxW uint8 RGB tensor by ``hue_factor`` turns of the colour circle (as
    ``torchvision``'s ``adjust_hue``: HSV with V = max(R, G, B)), through OpenCV's 8-bit HSV_FULL
    (H in 0..255 for the full circle)."""
    if not -0.5 <= hue_factor <= 0.5:
        raise ValueError(f'adjust_hue: hue_factor must be in [-0.5, 0.5], got {hue_factor}')
    shift = round(hue_factor * 256) % 256
    if shift == 0:  # no shift at this resolution: spare the lossy 8-bit round trip
        return rgb
    hsv = cv2.cvtColor(np.ascontiguousarray(rgb.permute(1, 2, 0).numpy()), cv2.COLOR_RGB2HSV_FULL)
    hsv[..., 0] += np.uint8(shift)  # uint8 arithmetic wraps around the circle
    return torch.from_numpy(cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB_FULL)).permute(2, 0, 1)


def _check_prob(owner: str, prob: float) -> float:
    if not 0 <= prob <= 1:
        raise ValueError(f'{owner}: prob must be in [0, 1], got {prob!r}')
    return float(prob)


@TRANSFORMS.register_module()
class ColorJitter(BaseTransform):
    """With probability ``prob``, ``torchvision.transforms.v2.ColorJitter(brightness, contrast,
    saturation, hue)``: each factor drawn uniformly in ``[max(0, 1 - x), 1 + x]`` (hue: a shift in
    ``[-x, x]`` of the colour circle, x <= 0.5), applied in random order. Parameters and the
    brightness / contrast / saturation kernels are torchvision's; the hue shift is :func:`adjust_hue`."""

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
        return _apply_rgb(results, 'ColorJitter', self._jitter)

    def _jitter(self, rgb: torch.Tensor) -> torch.Tensor:
        params = self.jitter.make_params([rgb])
        kernels = (('brightness_factor', F.adjust_brightness), ('contrast_factor', F.adjust_contrast),
                   ('saturation_factor', F.adjust_saturation), ('hue_factor', adjust_hue))
        for fn_id in params['fn_idx'].tolist():
            name, kernel = kernels[fn_id]
            if params[name] is not None:
                rgb = kernel(rgb, params[name])
        return rgb

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
