"""Geometric transforms of the ReID training recipe (BoT, Luo et al. 2019, Sec. 3: resize,
flip, pad 10 + random crop; used unchanged by TransReID, PAT, FusionReID, MDPR).

Sizes are written ``(H, W)`` here, e.g. ``size=(256, 128)``, the order ReID papers use;
mmcv's own ``Resize`` takes ``scale=(W, H)``.
"""
from typing import Optional, Sequence

import numpy as np
from mmcv.transforms import BaseTransform, Resize
from mmcv.transforms.utils import cache_randomness

from reidengine.registry import TRANSFORMS


def _check_image(results: dict, owner: str) -> np.ndarray:
    img = results.get('img')
    if not isinstance(img, np.ndarray) or img.ndim != 3:
        raise ValueError(f'{owner}: expected results["img"] to be an HxWxC numpy array '
                         f'(image {results.get("img_path", "?")}), got '
                         f'{type(img).__name__} {getattr(img, "shape", "")}')
    return img


@TRANSFORMS.register_module()
class ReIDResize(Resize):
    """Resize to a fixed ``size=(H, W)``, aspect ratio not kept (mmcv ``Resize`` underneath).

    The defaults (PIL bicubic) match ``torchvision.transforms.Resize(size, interpolation=3)``
    of the official TransReID / fast-reid / PAT pipelines; ``backend='cv2'`` is faster but
    does not antialias when shrinking.
    """

    def __init__(self, size: Sequence[int], interpolation: str = 'bicubic',
                 backend: str = 'pillow'):
        if (not isinstance(size, Sequence) or len(size) != 2
                or not all(isinstance(s, int) and s > 0 for s in size)):
            raise ValueError(f'ReIDResize: size must be (H, W), two positive ints, got {size!r}')
        self.size = tuple(size)
        super().__init__(scale=(size[1], size[0]), keep_ratio=False, backend=backend,
                         interpolation=interpolation)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(size={self.size}, '
                f'interpolation={self.interpolation!r}, backend={self.backend!r})')


@TRANSFORMS.register_module()
class PadRandomCrop(BaseTransform):
    """Pad ``padding`` pixels of ``pad_val`` on every side, then crop a random ``size=(H, W)``
    window (default: the input's size), as ``T.Pad(padding)`` + ``T.RandomCrop(size)`` of
    BoT/TransReID. With the input's size the content moves by at most ``padding`` pixels in
    each direction and the uncovered border takes ``pad_val``.
    """

    def __init__(self, padding: int = 10, size: Optional[Sequence[int]] = None,
                 pad_val: int = 0):
        if not isinstance(padding, int) or padding < 0:
            raise ValueError(f'PadRandomCrop: padding must be an int >= 0, got {padding!r}')
        if size is not None and (not isinstance(size, Sequence) or len(size) != 2 or not all(
                isinstance(v, int) and v > 0 for v in size)):
            raise ValueError(f'PadRandomCrop: size must be None or (H, W), two positive ints, '
                             f'got {size!r}')
        self.padding = padding
        self.size = None if size is None else tuple(size)
        self.pad_val = pad_val

    @cache_randomness
    def _offset(self, free_h: int, free_w: int) -> tuple:
        """Top-left corner of the crop inside the padded image."""
        return np.random.randint(0, free_h + 1), np.random.randint(0, free_w + 1)

    def transform(self, results: dict) -> dict:
        img = _check_image(results, 'PadRandomCrop')
        p = self.padding
        h, w = self.size or img.shape[:2]
        free_h, free_w = img.shape[0] + 2 * p - h, img.shape[1] + 2 * p - w
        if free_h < 0 or free_w < 0:
            raise ValueError(f'PadRandomCrop: crop size {(h, w)} exceeds the padded image '
                             f'{(img.shape[0] + 2 * p, img.shape[1] + 2 * p)} of '
                             f'{results.get("img_path", "?")}; resize to the crop size first')
        top, left = self._offset(free_h, free_w)
        padded = np.pad(img, ((p, p), (p, p), (0, 0)), mode='constant',
                        constant_values=self.pad_val)
        results['img'] = np.ascontiguousarray(padded[top:top + h, left:left + w])
        results['img_shape'] = (h, w)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(padding={self.padding}, size={self.size}, '
                f'pad_val={self.pad_val})')
