"""ResNet and ResNet-IBN-a backbones for ReID, with offline pretrained weights.

- ResNet (He et al., CVPR 2016): torchvision's ``BasicBlock`` / ``Bottleneck`` (v1.5, stride on the 3x3 conv).
- IBN-a (Pan et al., ECCV 2018, Sec. 3.2, Fig. 3a): in every residual block of layer1-3 (conv2_x-conv4_x) the
  first normalisation is split: affine InstanceNorm on the first ``ratio`` of the channels, BatchNorm on the
  rest; layer4 keeps BatchNorm. Key layout of the official IBN-Net release: ``layerN.M.bn1.IN.*``, ``.bn1.BN.*``.
- Last stride 1 (Luo et al., "Bag of Tricks", CVPRW 2019, Sec. 3.3): layer4 does not down-sample, giving
  16 x 8 maps at 256 x 128 inputs.

Pretrained weights are read from local files only: torchvision, official IBN-Net, LUPerson MoCo
(``module.encoder_q.*`` inside ``state_dict``) or this engine's converted layout (``stem.*``); see
:func:`convert_resnet_weights` and ``tools/model_converters/resnet_to_reidengine.py``.
"""
import re
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
from mmengine.logging import MMLogger
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm
from torchvision.models.resnet import BasicBlock, Bottleneck, ResNet

from reidengine.registry import MODELS
from .weight_loading import load_pretrained, load_state_dict_safe, preview_keys

__all__ = ['IBN', 'ResNetReID', 'convert_resnet_weights', 'detect_resnet_weights_format',
           'infer_resnet_arch', 'RESNET_ARCHS', 'RESNET_WEIGHTS_FORMATS']

# depth -> (block type, number of blocks in layer1..layer4)
RESNET_ARCHS = {
    18: (BasicBlock, (2, 2, 2, 2)),
    34: (BasicBlock, (3, 4, 6, 3)),
    50: (Bottleneck, (3, 4, 6, 3)),
    101: (Bottleneck, (3, 4, 23, 3)),
    152: (Bottleneck, (3, 8, 36, 3)),
}
RESNET_WEIGHTS_FORMATS = ('auto', 'torchvision', 'ibn', 'moco', 'reidengine')
_STEM_KEYS = ('conv1.', 'bn1.')  # top-level keys of torchvision / IBN-Net files that live in ``stem`` here
_MOCO_PREFIXES = ('module.encoder_q.', 'encoder_q.')
_IBN_KEY = re.compile(r'^layer\d+\.\d+\.bn1\.IN\.')


class IBN(nn.Module):
    """Instance-Batch Normalisation of IBN-a (Pan et al., ECCV 2018, Sec. 3.2).

    The first ``int(planes * ratio)`` channels go through an affine InstanceNorm (``self.IN``), the
    others through BatchNorm (``self.BN``); the attribute names match the official checkpoints.
    """

    def __init__(self, planes: int, ratio: float = 0.5):
        super().__init__()
        self.half = int(planes * ratio)
        if not 0 < self.half < planes:
            raise ValueError(f'IBN: ratio={ratio} leaves no channel for InstanceNorm or BatchNorm '
                             f'with {planes} channels; expected 0 < int(planes * ratio) < planes')
        self.IN = nn.InstanceNorm2d(self.half, affine=True)
        self.BN = nn.BatchNorm2d(planes - self.half)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x_in, x_bn = torch.split(x, [self.half, x.shape[1] - self.half], dim=1)
        return torch.cat((self.IN(x_in), self.BN(x_bn)), dim=1)


def _narrow_resnet(block, num_blocks, base_channels: int) -> ResNet:
    """A torchvision-layout ResNet whose stage widths start at ``base_channels`` instead of 64.

    The small variant for tests and the CPU demo (e.g. ResNet-18 at width 16: ~1/16 of the
    FLOPs); the stages are built by torchvision's own ``ResNet._make_layer`` (same blocks,
    down-sampling and module names) and initialised as torchvision does.
    """
    net = ResNet(block, [1, 1, 1, 1])  # only for its stem modules' types and the forward layout
    net.conv1 = nn.Conv2d(3, base_channels, kernel_size=7, stride=2, padding=3, bias=False)
    net.bn1 = nn.BatchNorm2d(base_channels)
    net.inplanes = base_channels
    for i, n in enumerate(num_blocks):
        setattr(net, f'layer{i + 1}',
                net._make_layer(block, base_channels * 2 ** i, n, stride=1 if i == 0 else 2))
    for m in net.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode='fan_out', nonlinearity='relu')
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
    return net


def _set_first_block_stride(layer: nn.Sequential, stride: int) -> None:
    """Change the down-sampling stride of the first block of a stage (used for the ReID last stride)."""
    block = layer[0]
    strided_conv = block.conv2 if isinstance(block, Bottleneck) else block.conv1
    strided_conv.stride = (stride, stride)
    block.stride = stride
    if block.downsample is not None:
        block.downsample[0].stride = (stride, stride)


@MODELS.register_module()
class ResNetReID(nn.Module):
    """ResNet / ResNet-IBN-a feature extractor returning NCHW maps of the chosen stages.

    Args:
        depth: 18, 34, 50, 101 or 152.
        ibn: ``None`` (plain ResNet) or ``'a'`` (IBN-a in layer1-3).
        ibn_ratio: fraction of the first-norm channels that use InstanceNorm in IBN-a (0.5 in the paper).
        last_stride: stride of layer4 (1 for ReID, 2 for the ImageNet network).
        out_indices: stages to return, 0..3 = layer1..layer4, increasing. One index returns a tensor,
            several a tuple. Stages after the last index are not run.
        frozen_stages: -1 freezes nothing; k >= 0 freezes the stem and layer1..layer k (no gradients,
            norm layers kept in eval mode), as in mmpretrain.
        norm_eval: keep every BatchNorm in eval mode (frozen running statistics) while training.
        pretrained: local checkpoint path (torchvision, official IBN-Net, LUPerson MoCo or the engine's
            converted layout), loaded at construction, so modules copied from this backbone afterwards
            (MDPR's per-branch layer3/layer4) carry the pretrained weights.
        weights_format: 'auto' (detected from the keys), 'torchvision', 'ibn', 'moco' or 'reidengine'.
        base_channels: width of the first stage (64 = standard); smaller gives the narrow variants
            used by tests and the CPU demo (stage widths base x 1, 2, 4, 8).

    Attributes ``stem`` (conv1, bn1, relu, maxpool) and ``layer1``..``layer4`` are the stages as modules;
    ``out_channels`` lists the channels of each returned stage. Multi-branch CNNs (MGN, MDPR) run a
    shared trunk with ``forward_stages(x, 0, 2)`` and give each branch ``copy.deepcopy(self.layer3)``
    etc. (copies carry the pretrained weights: they are loaded at construction).
    """

    uses_camera = False

    def __init__(self,
                 depth: int = 50,
                 ibn: Optional[str] = None,
                 ibn_ratio: float = 0.5,
                 last_stride: int = 1,
                 out_indices: Sequence[int] = (3,),
                 frozen_stages: int = -1,
                 norm_eval: bool = False,
                 pretrained: Optional[str] = None,
                 weights_format: str = 'auto',
                 base_channels: int = 64):
        super().__init__()
        if not isinstance(base_channels, int) or base_channels < 4 or base_channels % 2:
            raise ValueError(f'ResNetReID: base_channels={base_channels!r}; expected an even int >= 4 '
                             '(64 = the standard widths)')
        if depth not in RESNET_ARCHS:
            raise ValueError(f'ResNetReID: depth={depth!r}; expected one of {sorted(RESNET_ARCHS)}')
        if ibn not in (None, 'a'):
            raise ValueError(f"ResNetReID: ibn={ibn!r}; expected None or 'a'")
        if last_stride not in (1, 2):
            raise ValueError(f'ResNetReID: last_stride={last_stride!r}; expected 1 or 2')
        out_indices = tuple(out_indices)
        if (not out_indices or any(i not in (0, 1, 2, 3) for i in out_indices)
                or list(out_indices) != sorted(set(out_indices))):
            raise ValueError(f'ResNetReID: out_indices={out_indices!r}; expected increasing, distinct '
                             'stage indices in 0..3 (0 = layer1, 3 = layer4)')
        if frozen_stages not in range(-1, 4):
            raise ValueError(f'ResNetReID: frozen_stages={frozen_stages!r}; expected -1..3')
        if weights_format not in RESNET_WEIGHTS_FORMATS:
            raise ValueError(f'ResNetReID: weights_format={weights_format!r}; '
                             f'expected one of {RESNET_WEIGHTS_FORMATS}')
        self.depth = depth
        self.ibn = ibn
        self.out_indices = out_indices
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval

        block, num_blocks = RESNET_ARCHS[depth]
        if base_channels == 64:
            net = ResNet(block, list(num_blocks))  # torchvision init: Kaiming convs, BN weight 1 bias 0
        else:
            net = _narrow_resnet(block, num_blocks, base_channels)
        self.stem = nn.Sequential(OrderedDict(
            conv1=net.conv1, bn1=net.bn1, relu=net.relu, maxpool=net.maxpool))
        self.layer1, self.layer2, self.layer3, self.layer4 = net.layer1, net.layer2, net.layer3, net.layer4
        if ibn == 'a':
            for layer in (self.layer1, self.layer2, self.layer3):
                for blk in layer:
                    blk.bn1 = IBN(blk.bn1.num_features, ibn_ratio)
        _set_first_block_stride(self.layer4, last_stride)
        self.stage_channels = [base_channels] + [base_channels * 2 ** i * block.expansion
                                                 for i in range(4)]
        self.out_channels: List[int] = [self.stage_channels[i + 1] for i in out_indices]

        if pretrained is not None:
            self.load_pretrained_weights(pretrained, weights_format)
        self._freeze_stages()

    @property
    def res_layers(self) -> List[nn.Sequential]:
        """``[layer1, layer2, layer3, layer4]``."""
        return [self.layer1, self.layer2, self.layer3, self.layer4]

    def stage(self, index: int) -> nn.Module:
        """Stage ``index``: 0 = stem, 1..4 = layer1..layer4."""
        if index not in range(5):
            raise ValueError(f'ResNetReID: stage index {index!r}; expected 0 (stem) .. 4 (layer4)')
        return self.stem if index == 0 else self.res_layers[index - 1]

    def out_channels_of(self, index: int) -> int:
        """Channels after stage ``index`` (0 = stem, 1..4 = layer1..layer4)."""
        self.stage(index)
        return self.stage_channels[index]

    def forward_stages(self, x: torch.Tensor, first: int = 0, last: int = 4) -> torch.Tensor:
        """Run stages ``first..last`` inclusive (0 = stem, 1..4 = layer1..layer4) on ``x``."""
        if not 0 <= first <= last <= 4:
            raise ValueError(f'ResNetReID.forward_stages: need 0 <= first <= last <= 4, got '
                             f'first={first}, last={last}')
        for index in range(first, last + 1):
            x = self.stage(index)(x)
        return x

    def forward(self, x: torch.Tensor) -> Union[torch.Tensor, Tuple[torch.Tensor, ...]]:
        x = self.stem(x)
        outs = []
        for i, layer in enumerate(self.res_layers[:self.out_indices[-1] + 1]):
            x = layer(x)
            if i in self.out_indices:
                outs.append(x)
        return outs[0] if len(outs) == 1 else tuple(outs)

    def _frozen_modules(self) -> List[nn.Module]:
        if self.frozen_stages < 0:
            return []
        return [self.stem] + self.res_layers[:self.frozen_stages]

    def _freeze_stages(self) -> None:
        for module in self._frozen_modules():
            module.eval()
            for param in module.parameters():
                param.requires_grad = False

    def train(self, mode: bool = True) -> 'ResNetReID':
        """Train mode, keeping frozen stages (and every BatchNorm if ``norm_eval``) in eval mode."""
        super().train(mode)
        if mode:
            for module in self._frozen_modules():
                module.eval()
            if self.norm_eval:
                for module in self.modules():
                    if isinstance(module, _BatchNorm):
                        module.eval()
        return self

    def load_pretrained_weights(self, path: str, weights_format: str = 'auto') -> None:
        """Load a local checkpoint (any supported layout) into this backbone.

        Raises ``ValueError`` naming the file and the key at fault when the file is not a compatible
        ResNet: another block type or depth, IBN-a weights for a plain model or the reverse.
        """
        logger = MMLogger.get_current_instance()
        state_dict, dropped = convert_resnet_weights(
            load_state_dict_safe(path), weights_format, source=path)
        if dropped:
            logger.debug(f'{path}: dropped {len(dropped)} keys not used by the backbone '
                        f'(classifier / MoCo heads): {preview_keys(dropped)}')
        ckpt_ibn = any(_IBN_KEY.match(k) for k in state_dict)
        if ckpt_ibn != (self.ibn == 'a'):
            found = 'ResNet-IBN-a (keys layerN.M.bn1.IN.*)' if ckpt_ibn else 'plain ResNet (no bn1.IN.* keys)'
            raise ValueError(f'{path}: the checkpoint holds a {found} but the model was built with '
                             f"ibn={self.ibn!r}; set ibn={'a' if ckpt_ibn else None!r}")
        report = load_pretrained(self, state_dict, logger=logger, source=path)
        if report['missing'] or report['unexpected']:
            raise ValueError(
                f'{path}: not a ResNet-{self.depth} checkpoint: model keys missing from the file: '
                f'{preview_keys(report["missing"])}; file keys unknown to the model: '
                f'{preview_keys(report["unexpected"])}')


def detect_resnet_weights_format(state_dict: Dict[str, torch.Tensor], source: str = '<state dict>') -> str:
    """Tell the checkpoint layout from its keys: 'moco', 'reidengine', 'ibn' or 'torchvision'."""
    keys = list(state_dict)
    if any(k.startswith(_MOCO_PREFIXES) for k in keys):
        return 'moco'
    if 'stem.conv1.weight' in state_dict:
        return 'reidengine'
    if 'conv1.weight' in state_dict:
        return 'ibn' if any(_IBN_KEY.match(k) for k in keys) else 'torchvision'
    raise ValueError(f'{source}: not a recognised ResNet checkpoint: expected a key "conv1.weight" '
                     '(torchvision / IBN-Net), "stem.conv1.weight" (reidengine) or keys prefixed '
                     f'"module.encoder_q." (MoCo); found {preview_keys(keys)}')


def convert_resnet_weights(state_dict: Dict[str, torch.Tensor], weights_format: str = 'auto',
                           source: str = '<state dict>') -> Tuple[Dict[str, torch.Tensor], List[str]]:
    """Map a ResNet checkpoint to the ``ResNetReID`` key layout.

    torchvision / IBN-Net: ``conv1.*``, ``bn1.*`` -> ``stem.conv1.*``, ``stem.bn1.*``; ``fc.*`` dropped.
    MoCo (LUPerson): keep ``[module.]encoder_q.*`` without the prefix, then as above (drops the ``fc``
    MLP head, ``encoder_k`` and the queue). 'reidengine': unchanged.

    Returns the converted state dict and the list of dropped keys.
    """
    if weights_format not in RESNET_WEIGHTS_FORMATS:
        raise ValueError(f'weights_format={weights_format!r}; expected one of {RESNET_WEIGHTS_FORMATS}')
    found = detect_resnet_weights_format(state_dict, source)
    if weights_format != 'auto' and weights_format != found:
        raise ValueError(f'{source}: weights_format={weights_format!r} was requested but the keys are '
                         f'in the {found!r} layout (e.g. {preview_keys(list(state_dict), 3)})')
    dropped = []
    if found == 'moco':
        query = {}
        for key, value in state_dict.items():
            prefix = next((p for p in _MOCO_PREFIXES if key.startswith(p)), None)
            if prefix is None:
                dropped.append(key)
            else:
                query[key[len(prefix):]] = value
        state_dict = query
    if found == 'reidengine':
        return dict(state_dict), dropped
    converted = {}
    for key, value in state_dict.items():
        if key.startswith('fc.'):
            dropped.append(key)
        elif key.startswith(_STEM_KEYS):
            converted['stem.' + key] = value
        else:
            converted[key] = value
    return converted, dropped


def infer_resnet_arch(state_dict: Dict[str, torch.Tensor], source: str = '<state dict>') -> Tuple[int, Optional[str]]:
    """``(depth, ibn)`` of a checkpoint already in the ``ResNetReID`` layout, from its block counts."""
    counts = []
    for stage in range(1, 5):
        ids = {int(m.group(1)) for k in state_dict if (m := re.match(rf'layer{stage}\.(\d+)\.', k))}
        counts.append(len(ids))
    block = Bottleneck if 'layer1.0.conv3.weight' in state_dict else BasicBlock
    for depth, (arch_block, arch_counts) in RESNET_ARCHS.items():
        if arch_block is block and tuple(counts) == arch_counts:
            ibn = 'a' if any(_IBN_KEY.match(k) for k in state_dict) else None
            return depth, ibn
    raise ValueError(f'{source}: blocks per stage {tuple(counts)} with {block.__name__} blocks match no '
                     f'ResNet depth; expected one of '
                     f'{ {d: (b.__name__, c) for d, (b, c) in RESNET_ARCHS.items()} }')
