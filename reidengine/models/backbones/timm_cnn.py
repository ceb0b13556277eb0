"""Any timm CNN as a ReID backbone: its last feature map.

timm's ``features_only`` models keep the classification network's module names, so timm / torchvision-layout
checkpoints load without conversion (the classifier keys are reported unused). The ReID "last stride 1"
(Luo et al., "Bag of Tricks", CVPRW 2019, Sec. 3.3) is timm's ``output_stride=16``: the last stage keeps the
previous stage's resolution (by dilation in timm), giving 16 x 8 maps at 256 x 128.
"""
from typing import Optional

import timm
import torch
from mmengine.logging import MMLogger
from torch import nn

from reidengine.registry import MODELS
from .weight_loading import load_pretrained, load_state_dict_safe

__all__ = ['TimmCNN']


@MODELS.register_module()
class TimmCNN(nn.Module):
    """(B, 3, H, W) -> the network's last (B, C, H / s, W / s) map, s = 16 (last stride 1) or 32.

    Args:
        arch: a timm CNN name (``'resnet50'``, ``'convnext_tiny'``, ``'efficientnet_b0'``...).
        last_stride: 1 (ReID: output stride 16) or 2 (the ImageNet network: output stride 32).
        pretrained: local checkpoint path in timm's layout, loaded at construction (never downloaded).
        kwargs: passed to ``timm.create_model`` (e.g. ``drop_path_rate``).

    Attributes: ``out_channels`` (a one-element list, as ``ResNetReID``), ``uses_camera = False``.
    """

    uses_camera = False

    def __init__(self, arch: str, last_stride: int = 1, pretrained: Optional[str] = None, **kwargs):
        super().__init__()
        if last_stride not in (1, 2):
            raise ValueError(f'TimmCNN: last_stride={last_stride!r}; expected 1 or 2')
        try:
            self.body = timm.create_model(arch, pretrained=False, features_only=True, out_indices=(-1,),
                                          output_stride=16 if last_stride == 1 else 32, **kwargs)
        except (RuntimeError, TypeError, AssertionError) as err:
            raise ValueError(f'TimmCNN: timm cannot build arch={arch!r} as a feature extractor with output '
                             f'stride {16 if last_stride == 1 else 32} ({err}); e.g. resnet50, convnext_tiny, '
                             'efficientnet_b0') from err
        self.arch = arch
        self.out_channels = [self.body.feature_info.channels()[-1]]
        if pretrained is not None:
            load_pretrained(self.body, load_state_dict_safe(pretrained), logger=MMLogger.get_current_instance(),
                            source=pretrained, require_all=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)[-1]
