"""Last step of every ReID pipeline (data contract of DESIGN.md): image array -> uint8 CHW
tensor, annotations -> :class:`ReIDDataSample` metainfo.

Normalisation and BGR->RGB happen later, batched, in ``ReIDDataPreprocessor``.
"""
from typing import Sequence

import numpy as np
import torch
from mmcv.transforms import BaseTransform

from reidengine.registry import TRANSFORMS
from reidengine.structures import ReIDDataSample

_CASTS = dict(pid=int, camid=int, domain=int, sample_idx=int, is_query=bool, img_path=str)


@TRANSFORMS.register_module()
class PackReIDInputs(BaseTransform):
    """Return ``dict(inputs=uint8 CxHxW tensor, data_samples=ReIDDataSample)``.

    Args:
        meta_keys: keys every item must carry, copied into the metainfo.
        optional_meta_keys: keys copied when present: ``sample_idx`` (added by mmengine's
            ``BaseDataset``; memory banks index by it) and ``is_query`` (test sets).
    """

    def __init__(self, meta_keys: Sequence[str] = ('pid', 'camid', 'domain', 'img_path'),
                 optional_meta_keys: Sequence[str] = ('sample_idx', 'is_query')):
        self.meta_keys = tuple(meta_keys)
        self.optional_meta_keys = tuple(optional_meta_keys)

    def transform(self, results: dict) -> dict:
        path = results.get('img_path', '?')
        img = results.get('img')
        if not isinstance(img, np.ndarray) or img.ndim != 3 or img.shape[2] != 3 \
                or img.dtype != np.uint8:
            raise ValueError(f'PackReIDInputs: expected results["img"] to be an HxWx3 uint8 '
                             f'array for image {path}, got {type(img).__name__} '
                             f'{getattr(img, "shape", "")} {getattr(img, "dtype", "")}')
        missing = [k for k in self.meta_keys if k not in results]
        if missing:
            raise KeyError(f'PackReIDInputs: image {path} lacks the keys {missing} '
                           f'(has {sorted(results)})')
        keys = self.meta_keys + tuple(k for k in self.optional_meta_keys if k in results)
        metainfo = {k: _CASTS.get(k, lambda v: v)(results[k]) for k in keys}
        inputs = torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))
        return dict(inputs=inputs, data_samples=ReIDDataSample(metainfo=metainfo))

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(meta_keys={self.meta_keys}, '
                f'optional_meta_keys={self.optional_meta_keys})')
