"""Image loading for ReID pipelines (data contract of DESIGN.md: ``img_path`` -> ``img``).

Reads the file named by ``img_path`` into an HxWx3 uint8 BGR array (the OpenCV / mmcv
convention) and fails loudly, naming the file, on a missing, empty or truncated image, or a JPEG
whose data is garbled (which the decoders accept with a bare warning on stderr; see
``jpeg_check.py``); or, with
``on_error='skip'``, returns None for a training item so that MMEngine's ``BaseDataset.__getitem__``
draws another one (at most ``max_refetch`` times), counting the skips in logged warnings.
"""
import logging
from typing import Optional

import mmengine.fileio as fileio
import numpy as np
from mmcv.image import imfrombytes
from mmcv.transforms import BaseTransform
from mmengine.logging import print_log

from reidengine.registry import TRANSFORMS
from .jpeg_check import is_jpeg, jpeg_damage


@TRANSFORMS.register_module()
class LoadReIDImage(BaseTransform):
    """Load ``results['img_path']`` as a BGR uint8 image under ``results['img']``.

    Adds ``img_shape`` and ``ori_shape`` (H, W) as mmcv's ``LoadImageFromFile`` does.

    Args:
        imdecode_backend: decoder of :func:`mmcv.imfrombytes`: ``'cv2'`` (fast) or
            ``'pillow'`` (the decoder of the PIL-based official pipelines of TransReID,
            fast-reid and PAT). Both reject truncated files.
        backend_args: file backend arguments of :func:`mmengine.fileio.get`.
        on_error: what an unreadable (missing, empty, truncated, garbled JPEG, not an image) file does:
            ``'raise'`` an IOError naming it, or ``'skip'`` it: return None, which makes a
            training dataset draw another random item. Evaluation items (those with
            ``is_query``: query, gallery and test splits) are never skipped, since the metric
            cannot lose a query or gallery image silently: they raise the IOError either way.
        check_jpeg: check the structure of JPEG files (:func:`jpeg_damage`) and treat a damaged
            one as unreadable; the decoders return an image of garbage for it.
        warn_first: with ``'skip'``, the first ``warn_first`` skips, then the 2^k-th ones (so
            always the first), log a warning naming the file and the running count.

    ``num_skipped`` counts the skips of this process: each DataLoader worker holds its own copy
    of the pipeline (and, with ``persistent_workers=False``, a fresh one every epoch), so the
    logged counts are per worker (per epoch), not totals over the run. A training split built
    with ``test_mode=True`` has no ``is_query``: there MMEngine raises its own error on the None,
    and the warning logged just before names the file.
    """

    def __init__(self,
                 imdecode_backend: str = 'cv2',
                 backend_args: Optional[dict] = None,
                 on_error: str = 'raise',
                 check_jpeg: bool = True,
                 warn_first: int = 10):
        if imdecode_backend not in ('cv2', 'pillow'):
            raise ValueError(f"LoadReIDImage: imdecode_backend must be 'cv2' or 'pillow', "
                             f'got {imdecode_backend!r}')
        if on_error not in ('raise', 'skip'):
            raise ValueError(f"LoadReIDImage: on_error must be 'raise' or 'skip', got {on_error!r}")
        if not isinstance(warn_first, int) or warn_first < 0:
            raise ValueError(f'LoadReIDImage: warn_first must be an int >= 0, got {warn_first!r}')
        self.imdecode_backend = imdecode_backend
        self.backend_args = None if backend_args is None else dict(backend_args)
        self.on_error = on_error
        self.check_jpeg = bool(check_jpeg)
        self.warn_first = warn_first
        self.num_skipped = 0

    def transform(self, results: dict) -> Optional[dict]:
        if 'img_path' not in results:
            raise KeyError(f'LoadReIDImage: the data item has no "img_path" key '
                           f'(keys: {sorted(results)})')
        path = results['img_path']
        try:
            img = self.read(path)
        except IOError as e:
            if self.on_error == 'raise' or 'is_query' in results:
                raise
            self.skip(e)
            return None
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['ori_shape'] = img.shape[:2]
        return results

    def read(self, path: str) -> np.ndarray:
        """The image at ``path`` (HxWx3 uint8 BGR); an IOError naming the file if unreadable."""
        try:
            img_bytes = fileio.get(path, backend_args=self.backend_args)
        except Exception as e:  # missing file, no permission
            raise IOError(f'cannot read image {path}: {type(e).__name__}: {e}') from e
        if self.check_jpeg and is_jpeg(img_bytes):
            damage = jpeg_damage(img_bytes)
            if damage:
                raise IOError(f'cannot read image {path}: {damage}')
        try:
            img = imfrombytes(img_bytes, flag='color', channel_order='bgr',
                              backend=self.imdecode_backend)
        except Exception as e:  # unknown format, truncated data
            raise IOError(f'cannot read image {path}: {type(e).__name__}: {e}') from e
        if img is None:
            raise IOError(f'cannot read image {path}: the decoder returned nothing '
                          f'(empty, truncated or not an image file)')
        return np.ascontiguousarray(img, dtype=np.uint8)

    def skip(self, error: IOError) -> None:
        """Count a skipped file; warn for the first ``warn_first`` and then the 2^k-th skips."""
        self.num_skipped += 1
        n = self.num_skipped
        if n <= self.warn_first or n & (n - 1) == 0:
            print_log(f"LoadReIDImage(on_error='skip'): skipped an unreadable image ({error}); "
                      f'{n} skipped so far in this process', logger='current',
                      level=logging.WARNING)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(imdecode_backend={self.imdecode_backend!r}, '
                f'backend_args={self.backend_args}, on_error={self.on_error!r}, '
                f'check_jpeg={self.check_jpeg})')
