"""Data transforms (mmcv-style, registered in ``reidengine.registry.TRANSFORMS``).

mmcv's generic transforms are registered here under their own names so that configs with
``default_scope='reidengine'`` find them. A typical training pipeline (sizes are (H, W))::

    [dict(type='LoadReIDImage'), dict(type='ReIDResize', size=(256, 128)),
     dict(type='RandomFlip', prob=0.5), dict(type='PadRandomCrop', padding=10),
     dict(type='RandomErasing', prob=0.5), dict(type='PackReIDInputs')]
"""
from mmcv.transforms import (CenterCrop, LoadImageFromFile, Normalize, Pad, RandomApply,
                             RandomChoice, RandomFlip, Resize)

from reidengine.registry import TRANSFORMS

from .degradation import RandomDownscale, RandomJPEG
from .erasing import LocalGrayscale, RandomErasing, sample_rectangle
from .formatting import PackReIDInputs
from .loading import LoadReIDImage
from .photometric import ColorJitter, RandomGaussianBlur
from .processing import PadRandomCrop, ReIDResize
from .random_patch import RandomPatch

for _cls in (LoadImageFromFile, Resize, RandomFlip, Pad, CenterCrop, Normalize, RandomApply,
             RandomChoice):
    TRANSFORMS.register_module(module=_cls)

__all__ = [
    'LoadReIDImage', 'ReIDResize', 'PadRandomCrop', 'RandomErasing', 'LocalGrayscale',
    'RandomPatch', 'ColorJitter', 'RandomGaussianBlur', 'RandomDownscale', 'RandomJPEG',
    'PackReIDInputs', 'sample_rectangle',
    'LoadImageFromFile', 'Resize', 'RandomFlip', 'Pad', 'CenterCrop', 'Normalize', 'RandomApply', 'RandomChoice'
]
