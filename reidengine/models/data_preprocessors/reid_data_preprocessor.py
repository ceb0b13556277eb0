"""Batches images: stack, BGR->RGB, normalise with mean/std (given on the 0-255 scale)."""
from typing import Sequence

from mmengine.model import ImgDataPreprocessor

from reidengine.registry import MODELS


@MODELS.register_module()
class ReIDDataPreprocessor(ImgDataPreprocessor):
    """``ImgDataPreprocessor`` with ImageNet statistics and BGR->RGB by default.

    Images are loaded by OpenCV (BGR, uint8); PAT and CLIP-style models use other statistics
    (e.g. mean = std = 127.5), set in their configs.
    """

    def __init__(self,
                 mean: Sequence[float] = (123.675, 116.28, 103.53),
                 std: Sequence[float] = (58.395, 57.12, 57.375),
                 bgr_to_rgb: bool = True,
                 **kwargs):
        super().__init__(mean=mean, std=std, bgr_to_rgb=bgr_to_rgb, **kwargs)
