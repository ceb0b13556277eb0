"""Rectangle augmentations: Random Erasing (Zhong et al., AAAI 2020, Alg. 1) and Local
Grayscale Transformation (LGT, Gong et al., arXiv:2101.08533, Sec. 3.2; used by PAT).

Both draw one rectangle the same way (Alg. 1 of Zhong et al.): with probability ``prob``, try up
to ``max_attempts`` times an area ``S_e ~ U(sl, sh) * H * W`` and an aspect ratio
``r_e = H_e / W_e ~ U(r1, 1 / r1)``; the first rectangle that fits is used, otherwise the
image is left unchanged. Images are HxWx3 uint8 BGR; colour statistics are given in RGB
order on the 0-255 scale, like the data preprocessor's ``mean`` / ``std``.
"""
import math
from abc import abstractmethod
from typing import Optional, Sequence, Tuple

import cv2
import numpy as np
from mmcv.transforms import BaseTransform
from mmcv.transforms.utils import cache_randomness

from reidengine.registry import TRANSFORMS

from .processing import _check_image


def _check_args(owner: str, prob: float, area_range: Sequence[float], min_aspect: float,
                max_attempts: int) -> None:
    if not 0 <= prob <= 1:
        raise ValueError(f'{owner}: prob must be in [0, 1], got {prob!r}')
    if len(area_range) != 2 or not 0 < area_range[0] <= area_range[1] <= 1:
        raise ValueError(f'{owner}: area_range must be (sl, sh) with 0 < sl <= sh <= 1, '
                         f'got {area_range!r}')
    if not 0 < min_aspect <= 1:
        raise ValueError(f'{owner}: min_aspect must be in (0, 1], got {min_aspect!r}')
    if max_attempts < 1:
        raise ValueError(f'{owner}: max_attempts must be >= 1, got {max_attempts!r}')


def sample_rectangle(img_h: int, img_w: int, area_range: Sequence[float], min_aspect: float,
                     max_attempts: int, log_aspect: bool = False,
                     swap_side_bounds: bool = False) -> Optional[Tuple[int, int, int, int]]:
    """Draw ``(top, left, h, w)`` of a rectangle inside an ``img_h x img_w`` image, or None.

    ``log_aspect`` draws ``log r_e`` uniformly (timm / torchvision ``RandomErasing``) instead
    of ``r_e``. ``swap_side_bounds`` reproduces the reference LGT code: it checks the height
    against the image width and the width against the image height, draws the corner from
    those swapped ranges and clips the rectangle at the image border.
    """
    area = img_h * img_w
    lo, hi = min_aspect, 1.0 / min_aspect
    for _ in range(max_attempts):
        target_area = np.random.uniform(area_range[0], area_range[1]) * area
        if log_aspect:
            aspect = math.exp(np.random.uniform(math.log(lo), math.log(hi)))
        else:
            aspect = np.random.uniform(lo, hi)
        h = int(round(math.sqrt(target_area * aspect)))
        w = int(round(math.sqrt(target_area / aspect)))
        if swap_side_bounds:
            if w < img_h and h < img_w and h > 0 and w > 0:
                top = np.random.randint(0, img_h - w + 1)
                left = np.random.randint(0, img_w - h + 1)
                return top, left, min(h, img_h - top), min(w, img_w - left)
        elif 0 < h < img_h and 0 < w < img_w:
            top = np.random.randint(0, img_h - h + 1)
            left = np.random.randint(0, img_w - w + 1)
            return top, left, h, w
    return None


class _RectangleTransform(BaseTransform):
    """Shared drawing of the rectangle; subclasses fill it in ``_apply``."""

    def __init__(self, prob: float, area_range: Sequence[float], min_aspect: float,
                 max_attempts: int, log_aspect: bool = False, swap_side_bounds: bool = False):
        _check_args(self.__class__.__name__, prob, area_range, min_aspect, max_attempts)
        self.prob = prob
        self.area_range = tuple(area_range)
        self.min_aspect = min_aspect
        self.max_attempts = max_attempts
        self.log_aspect = log_aspect
        self.swap_side_bounds = swap_side_bounds

    @cache_randomness
    def _rectangle(self, img_h: int, img_w: int) -> Optional[Tuple[int, int, int, int]]:
        if np.random.rand() >= self.prob:
            return None
        return sample_rectangle(img_h, img_w, self.area_range, self.min_aspect,
                                self.max_attempts, self.log_aspect, self.swap_side_bounds)

    @abstractmethod
    def _apply(self, img: np.ndarray, region: Tuple[slice, slice]) -> None:
        """Fill ``img[region]`` in place."""

    def transform(self, results: dict) -> dict:
        img = _check_image(results, self.__class__.__name__)
        rect = self._rectangle(*img.shape[:2])
        if rect is not None:
            top, left, h, w = rect
            img = img.copy()
            self._apply(img, (slice(top, top + h), slice(left, left + w)))
            results['img'] = img
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(prob={self.prob}, area_range={self.area_range}, '
                f'min_aspect={self.min_aspect}, max_attempts={self.max_attempts}')


@TRANSFORMS.register_module()
class RandomErasing(_RectangleTransform):
    """Random Erasing (Zhong et al. 2020, Alg. 1) on a uint8 BGR image.

    Args:
        prob: probability of erasing.
        area_range: ``(sl, sh)``, erased area as a fraction of the image.
        min_aspect: ``r1``; the aspect ratio is drawn from ``(r1, 1 / r1)``.
        fill: ``'random'``: each pixel and channel uniform in [0, 255] (the paper);
            ``'mean'``: the constant ``mean`` (fast-reid / MDPR, torchvision ``value=mean``);
            ``'normal'``: each value ~ N(mean, std), rounded and clipped to [0, 255]. With the
            preprocessor's mean/std this approximates timm's ``mode='pixel'`` (TransReID,
            FusionReID), which draws N(0, 1) after normalisation; values outside [0, 255]
            cannot be stored in a uint8 image and are clipped.
        mean, std: RGB order, 0-255 scale (for ``fill='mean'`` / ``'normal'``).
        max_attempts: 100 in the paper, 10 in timm / torchvision.
        log_aspect: draw the aspect ratio log-uniformly (timm / torchvision).
    """

    FILLS = ('random', 'mean', 'normal')

    def __init__(self, prob: float = 0.5, area_range: Sequence[float] = (0.02, 0.4),
                 min_aspect: float = 0.3, fill: str = 'random',
                 mean: Sequence[float] = (123.675, 116.28, 103.53),
                 std: Sequence[float] = (58.395, 57.12, 57.375),
                 max_attempts: int = 100, log_aspect: bool = False):
        super().__init__(prob, area_range, min_aspect, max_attempts, log_aspect)
        if fill not in self.FILLS:
            raise ValueError(f'RandomErasing: fill must be one of {self.FILLS}, got {fill!r}')
        if len(mean) != 3 or len(std) != 3:
            raise ValueError(f'RandomErasing: mean and std need 3 values (RGB), '
                             f'got mean={mean!r}, std={std!r}')
        self.fill = fill
        self.mean = tuple(float(m) for m in mean)
        self.std = tuple(float(s) for s in std)

    def _apply(self, img: np.ndarray, region: Tuple[slice, slice]) -> None:
        if img.shape[2] != 3:
            raise ValueError(f'RandomErasing: expected a 3-channel image, got shape {img.shape}')
        shape = img[region].shape
        mean_bgr = np.array(self.mean[::-1])
        if self.fill == 'random':
            img[region] = np.random.randint(0, 256, size=shape)
        elif self.fill == 'mean':
            img[region] = np.round(mean_bgr)
        else:
            values = np.random.normal(mean_bgr, np.array(self.std[::-1]), size=shape)
            img[region] = np.clip(np.round(values), 0, 255)

    def __repr__(self) -> str:
        return (super().__repr__() + f', log_aspect={self.log_aspect}, fill={self.fill!r}, '
                f'mean={self.mean}, std={self.std})')


@TRANSFORMS.register_module()
class LocalGrayscale(_RectangleTransform):
    """Local Grayscale Transformation (Gong et al., arXiv:2101.08533): with probability ``prob``
    a random rectangle is replaced by its grayscale (ITU-R 601 luma
    ``0.299 R + 0.587 G + 0.114 B``, the ``PIL convert('L')`` of the reference code) on all
    three channels; the rest of the image is untouched.

    Defaults are the reference code's (prob 0.2, area 0.02-0.4, r1 0.3, 100 attempts); PAT uses
    prob = 0.5. ``swap_side_bounds=True`` reproduces the reference code's swapped side bounds
    (see :func:`sample_rectangle`), which PAT's published numbers were trained with.
    """

    def __init__(self, prob: float = 0.2, area_range: Sequence[float] = (0.02, 0.4),
                 min_aspect: float = 0.3, max_attempts: int = 100,
                 swap_side_bounds: bool = False):
        super().__init__(prob, area_range, min_aspect, max_attempts,
                         swap_side_bounds=swap_side_bounds)

    def _apply(self, img: np.ndarray, region: Tuple[slice, slice]) -> None:
        if img.shape[2] != 3:
            raise ValueError(f'LocalGrayscale: expected a 3-channel image, got shape {img.shape}')
        gray = cv2.cvtColor(np.ascontiguousarray(img[region]), cv2.COLOR_BGR2GRAY)
        img[region] = gray[..., None]

    def __repr__(self) -> str:
        return super().__repr__() + f', swap_side_bounds={self.swap_side_bounds})'
