"""Random Patch (Zhou et al., "Learning Generalisable Omni-Scale Representations", TPAMI 2021,
Sec. 4.1; fast-reid's ``RandomPatch``, used by MDPR with prob 0.5).

Every image gives one random patch to a pool (first-in first-out, ``pool_capacity``); once the
pool holds ``min_sample_size`` patches, with probability ``prob`` a patch drawn from the pool,
randomly mirrored and rotated, is pasted at a random position to simulate occlusion.
The pool lives in the transform object, so each dataloader worker has its own.
"""
from collections import deque
from typing import Sequence

import cv2
import numpy as np
from mmcv.transforms import BaseTransform

from reidengine.registry import TRANSFORMS

from .erasing import _check_args, sample_rectangle
from .processing import _check_image


@TRANSFORMS.register_module()
class RandomPatch(BaseTransform):
    """Paste a patch taken from earlier images (fast-reid defaults).

    Args:
        prob: probability of pasting, once the pool is warm.
        pool_capacity: most patches kept (the oldest go first).
        min_sample_size: patches needed in the pool before anything is pasted.
        area_range: patch area as a fraction of the image it is cut from.
        min_aspect: patch aspect ratio drawn from ``(min_aspect, 1 / min_aspect)``.
        prob_flip: probability of mirroring the patch left-right before pasting.
        prob_rotate: probability of rotating it by an integer angle in
            ``[-max_rotation, max_rotation]`` degrees (same size, corners filled with 0).
        max_attempts: tries to find a patch size that fits the image.
    """

    def __init__(self, prob: float = 0.5, pool_capacity: int = 50000, min_sample_size: int = 100,
                 area_range: Sequence[float] = (0.01, 0.5), min_aspect: float = 0.1,
                 prob_flip: float = 0.5, prob_rotate: float = 0.5, max_rotation: int = 10,
                 max_attempts: int = 100):
        _check_args('RandomPatch', prob, area_range, min_aspect, max_attempts)
        for name, value in (('prob_flip', prob_flip), ('prob_rotate', prob_rotate)):
            if not 0 <= value <= 1:
                raise ValueError(f'RandomPatch: {name} must be in [0, 1], got {value!r}')
        if pool_capacity < 1 or min_sample_size < 1:
            raise ValueError(f'RandomPatch: pool_capacity and min_sample_size must be >= 1, '
                             f'got {pool_capacity!r} and {min_sample_size!r}')
        self.prob = prob
        self.pool_capacity = pool_capacity
        self.min_sample_size = min_sample_size
        self.area_range = tuple(area_range)
        self.min_aspect = min_aspect
        self.prob_flip = prob_flip
        self.prob_rotate = prob_rotate
        self.max_rotation = max_rotation
        self.max_attempts = max_attempts
        self.pool = deque(maxlen=pool_capacity)

    def _augment_patch(self, patch: np.ndarray) -> np.ndarray:
        if np.random.rand() < self.prob_flip:
            patch = patch[:, ::-1]
        if np.random.rand() < self.prob_rotate:
            angle = float(np.random.randint(-self.max_rotation, self.max_rotation + 1))
            h, w = patch.shape[:2]
            matrix = cv2.getRotationMatrix2D(((w - 1) / 2, (h - 1) / 2), angle, 1.0)
            patch = cv2.warpAffine(np.ascontiguousarray(patch), matrix, (w, h),
                                   flags=cv2.INTER_NEAREST, borderMode=cv2.BORDER_CONSTANT,
                                   borderValue=0)
            if patch.ndim == 2:  # cv2 drops a single channel axis
                patch = patch[..., None]
        return patch

    def transform(self, results: dict) -> dict:
        img = _check_image(results, 'RandomPatch')
        img_h, img_w = img.shape[:2]
        rect = sample_rectangle(img_h, img_w, self.area_range, self.min_aspect,
                                self.max_attempts)
        if rect is not None:
            top, left, h, w = rect
            self.pool.append(img[top:top + h, left:left + w].copy())

        if len(self.pool) < self.min_sample_size or np.random.rand() >= self.prob:
            return results

        patch = self._augment_patch(self.pool[np.random.randint(len(self.pool))])
        h, w = min(patch.shape[0], img_h), min(patch.shape[1], img_w)
        top = np.random.randint(0, img_h - h + 1)
        left = np.random.randint(0, img_w - w + 1)
        img = img.copy()
        img[top:top + h, left:left + w] = patch[:h, :w]
        results['img'] = img
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(prob={self.prob}, pool_capacity={self.pool_capacity}, '
                f'min_sample_size={self.min_sample_size}, area_range={self.area_range}, '
                f'min_aspect={self.min_aspect}, prob_flip={self.prob_flip}, '
                f'prob_rotate={self.prob_rotate}, max_rotation={self.max_rotation})')
