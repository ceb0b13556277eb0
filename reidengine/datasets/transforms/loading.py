"""Image loading for ReID pipelines (data contract of DESIGN.md: ``img_path`` -> ``img``).

Reads the file named by ``img_path`` into an HxWx3 uint8 BGR array (the OpenCV / mmcv
convention) and fails loudly, naming the file, on a missing, empty or truncated image.
"""
from typing import Optional

import mmengine.fileio as fileio
import numpy as np
from mmcv.image import imfrombytes
from mmcv.transforms import BaseTransform

from reidengine.registry import TRANSFORMS


@TRANSFORMS.register_module()
class LoadReIDImage(BaseTransform):
    """Load ``results['img_path']`` as a BGR uint8 image under ``results['img']``.

    Adds ``img_shape`` and ``ori_shape`` (H, W) as mmcv's ``LoadImageFromFile`` does.

    Args:
        imdecode_backend: decoder of :func:`mmcv.imfrombytes`: ``'cv2'`` (fast) or
            ``'pillow'`` (the decoder of the PIL-based official pipelines of TransReID,
            fast-reid and PAT). Both reject truncated files.
        backend_args: file backend arguments of :func:`mmengine.fileio.get`.
    """

    def __init__(self, imdecode_backend: str = 'cv2', backend_args: Optional[dict] = None):
        if imdecode_backend not in ('cv2', 'pillow'):
            raise ValueError(f"LoadReIDImage: imdecode_backend must be 'cv2' or 'pillow', "
                             f'got {imdecode_backend!r}')
        self.imdecode_backend = imdecode_backend
        self.backend_args = None if backend_args is None else dict(backend_args)

    def transform(self, results: dict) -> dict:
        if 'img_path' not in results:
            raise KeyError(f'LoadReIDImage: the data item has no "img_path" key '
                           f'(keys: {sorted(results)})')
        path = results['img_path']
        try:
            img_bytes = fileio.get(path, backend_args=self.backend_args)
            img = imfrombytes(img_bytes, flag='color', channel_order='bgr',
                              backend=self.imdecode_backend)
        except Exception as e:  # missing file, unknown format, truncated data
            raise IOError(f'cannot read image {path}: {type(e).__name__}: {e}') from e
        if img is None:
            raise IOError(f'cannot read image {path}: the decoder returned nothing '
                          f'(empty, truncated or not an image file)')
        img = np.ascontiguousarray(img, dtype=np.uint8)
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['ori_shape'] = img.shape[:2]
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(imdecode_backend={self.imdecode_backend!r}, '
                f'backend_args={self.backend_args})')
