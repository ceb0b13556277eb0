"""Batches images: stack, BGR->RGB, normalise with mean/std (given on the 0-255 scale)."""
from typing import Sequence

import torch
from mmengine.model import ImgDataPreprocessor

from reidengine.registry import MODELS


@MODELS.register_module()
class ReIDDataPreprocessor(ImgDataPreprocessor):
    """``ImgDataPreprocessor`` with ImageNet statistics and BGR->RGB by default.

    Images are loaded by OpenCV (BGR, uint8); PAT and CLIP-style models use other statistics
    (e.g. mean = std = 127.5), set in their configs.

    ``channels_last=True`` hands the batch to the model in the NHWC memory layout (same values, same
    shape): CPU convolutions (oneDNN) then run without layout conversions and keep NHWC through the
    network: ResNet-50 inference 1.36x faster at 256x128 on the 2-core development CPU
    (``benchmarks/README.md``, Models).
    Meant for CNN backbones; ViTs gain nothing (one patch-embedding convolution).
    """

    def __init__(self,
                 mean: Sequence[float] = (123.675, 116.28, 103.53),
                 std: Sequence[float] = (58.395, 57.12, 57.375),
                 bgr_to_rgb: bool = True,
                 channels_last: bool = False,
                 **kwargs):
        super().__init__(mean=mean, std=std, bgr_to_rgb=bgr_to_rgb, **kwargs)
        self.channels_last = channels_last

    def forward(self, data: dict, training: bool = False) -> dict:
        data = super().forward(data, training)
        if self.channels_last and isinstance(data.get('inputs'), torch.Tensor) and data['inputs'].dim() == 4:
            data['inputs'] = data['inputs'].contiguous(memory_format=torch.channels_last)
        return data
