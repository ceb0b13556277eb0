"""ResNetReID pretrained weights: torchvision, official IBN-Net (ResNet-IBN-a) and LUPerson MoCo layouts,
the converter tool and the errors for incompatible files. Checkpoints come from randomly initialised
reference models saved in tmp dirs."""
import importlib.util
import logging
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
import torchvision
from mmengine.logging import MMLogger
from torch import nn
from torchvision.models.feature_extraction import create_feature_extractor

from reidengine.models.backbones.resnet import ResNetReID, convert_resnet_weights

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def _randomise(model):
    """Random norm parameters and running statistics: a wrongly routed norm key changes the output."""
    with torch.no_grad():
        for name, t in model.state_dict().items():
            if name.endswith('running_var'):
                t.uniform_(0.5, 1.5)
            elif name.endswith('running_mean') or (t.dim() == 1 and name.endswith('bias')):
                t.normal_(0, 0.2)
            elif t.dim() == 1 and name.endswith('weight'):
                t.uniform_(0.5, 1.5)
    return model.eval()


def _close(a, b):
    torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)


# ---------------------------------------------------------------- torchvision
def test_torchvision_checkpoint_gives_the_reference_layer4(tmp_path):
    ref = _randomise(torchvision.models.resnet50())
    path = tmp_path / 'resnet50-0676ba61.pth'
    torch.save(ref.state_dict(), path)  # torchvision layout: conv1.*, bn1.*, layer*.*, fc.*

    model = ResNetReID(depth=50, last_stride=2, pretrained=str(path)).eval()
    x = torch.randn(2, 3, 64, 32)
    with torch.no_grad():
        expected = create_feature_extractor(ref, {'layer4': 'out'})(x)['out']
        _close(model(x), expected)


def test_explicit_format_must_match_the_keys(tmp_path):
    path = tmp_path / 'r18.pth'
    torch.save(torchvision.models.resnet18().state_dict(), path)
    with pytest.raises(ValueError, match=r"weights_format='moco'.*'torchvision'"):
        ResNetReID(depth=18, pretrained=str(path), weights_format='moco')


# ---------------------------------------------------------------- IBN-a reference, official layout
class _Affine(nn.Module):
    def __init__(self, n):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(n))
        self.bias = nn.Parameter(torch.zeros(n))


class RefIBN(nn.Module):
    """Paper Sec. 3.2: instance normalisation (written out) on half the channels, BN on the other half.
    Attribute names IN / BN as in the official IBN-Net release."""

    def __init__(self, planes):
        super().__init__()
        self.half = planes // 2
        self.IN = _Affine(self.half)
        self.BN = nn.BatchNorm2d(planes - self.half)

    def forward(self, x):
        a, b = x[:, :self.half], x[:, self.half:]
        mean = a.mean((2, 3), keepdim=True)
        var = a.var((2, 3), unbiased=False, keepdim=True)
        a = (a - mean) / torch.sqrt(var + 1e-5) * self.IN.weight[:, None, None] + self.IN.bias[:, None, None]
        return torch.cat([a, self.BN(b)], 1)


class RefBottleneck(nn.Module):
    def __init__(self, inplanes, planes, stride, ibn):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = RefIBN(planes) if ibn else nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.downsample = None
        if stride != 1 or inplanes != planes * 4:
            self.downsample = nn.Sequential(nn.Conv2d(inplanes, planes * 4, 1, stride, bias=False),
                                            nn.BatchNorm2d(planes * 4))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return F.relu(out + (x if self.downsample is None else self.downsample(x)))


class RefResNetIBNa(nn.Module):
    """ResNet-IBN-a (IBN in layer1-3, not layer4), ImageNet strides, with its fc classifier."""

    def __init__(self, blocks=(3, 4, 6, 3)):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        inplanes = 64
        for i, (n, planes) in enumerate(zip(blocks, (64, 128, 256, 512))):
            layer = []
            for j in range(n):
                layer.append(RefBottleneck(inplanes, planes, 2 if (j == 0 and i > 0) else 1, ibn=i < 3))
                inplanes = planes * 4
            setattr(self, f'layer{i + 1}', nn.Sequential(*layer))
        self.fc = nn.Linear(2048, 1000)

    def features(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 3, 2, 1)
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))


@pytest.fixture(scope='module')
def ibn_reference():
    torch.manual_seed(1)
    ref = _randomise(RefResNetIBNa())
    keys = ref.state_dict().keys()
    # the official release's layout (resnet50_ibn_a-d9d0bb7b.pth)
    assert {'layer1.0.bn1.IN.weight', 'layer1.0.bn1.IN.bias', 'layer1.0.bn1.BN.running_mean',
            'layer3.5.bn1.BN.weight', 'layer4.0.bn1.weight', 'conv1.weight', 'bn1.weight', 'fc.weight'} <= keys
    return ref


def test_ibn_a_checkpoint_gives_the_reference_output(tmp_path, ibn_reference):
    path = tmp_path / 'resnet50_ibn_a-d9d0bb7b.pth'
    torch.save(ibn_reference.state_dict(), path)
    model = ResNetReID(depth=50, ibn='a', last_stride=2, pretrained=str(path)).eval()
    x = torch.randn(2, 3, 64, 32)
    with torch.no_grad():
        _close(model(x), ibn_reference.features(x))


def test_ibn_checkpoint_into_a_plain_model_is_refused(tmp_path, ibn_reference):
    path = tmp_path / 'resnet50_ibn_a.pth'
    torch.save(ibn_reference.state_dict(), path)
    with pytest.raises(ValueError, match=r"resnet50_ibn_a\.pth.*IBN-a.*ibn=None.*set ibn='a'"):
        ResNetReID(depth=50, pretrained=str(path))


# ---------------------------------------------------------------- LUPerson MoCo layout
def _moco_checkpoint(ref):
    """MoCo v2 training checkpoint: query and key encoders under ``module.``, MLP head in ``fc``, the queue."""
    sd = {k: v for k, v in ref.state_dict().items() if not k.startswith('fc.')}
    mlp = {'fc.0.weight': torch.randn(32, 2048), 'fc.0.bias': torch.randn(32),  # 2048 -> 2048 -> 128 in
           'fc.2.weight': torch.randn(16, 32), 'fc.2.bias': torch.randn(16)}    # the real file; small here
    state = {'module.encoder_q.' + k: v for k, v in {**sd, **mlp}.items()}
    for k in ('conv1.weight', 'layer1.0.bn1.IN.weight', 'layer4.2.bn3.running_var', 'fc.0.weight'):
        state['module.encoder_k.' + k] = torch.randn_like(state['module.encoder_q.' + k])  # must not be used
    state['module.queue'] = torch.randn(16, 64)
    state['module.queue_ptr'] = torch.zeros(1, dtype=torch.long)
    return {'epoch': 200, 'arch': 'resnet50', 'state_dict': state}


def test_moco_checkpoint_loads_the_query_encoder(tmp_path, ibn_reference):
    path = tmp_path / 'lup_moco_r50_ibn.pth'
    torch.save(_moco_checkpoint(ibn_reference), path)
    model = ResNetReID(depth=50, ibn='a', last_stride=2, pretrained=str(path)).eval()
    x = torch.randn(2, 3, 64, 32)
    with torch.no_grad():
        _close(model(x), ibn_reference.features(x))


def test_moco_conversion_keeps_exactly_the_query_backbone(ibn_reference):
    raw = _moco_checkpoint(ibn_reference)['state_dict']
    converted, dropped = convert_resnet_weights(raw, 'moco')
    expected_keys = {('stem.' + k if k.startswith(('conv1.', 'bn1.')) else k)
                     for k in ibn_reference.state_dict() if not k.startswith('fc.')}
    assert set(converted) == expected_keys
    assert set(dropped) == {k for k in raw if not k.startswith('module.encoder_q.')} | {
        f'fc.{i}.{p}' for i in (0, 2) for p in ('weight', 'bias')}
    assert torch.equal(converted['stem.conv1.weight'], ibn_reference.conv1.weight)
    # the same file with ``module.`` already removed (as a DataParallel unwrap leaves it)
    unwrapped = {k[len('module.'):]: v for k, v in raw.items()}
    assert set(convert_resnet_weights(unwrapped)[0]) == expected_keys


# ---------------------------------------------------------------- incompatible files
def test_depth18_weights_into_depth50_name_the_key_and_shapes(tmp_path):
    path = tmp_path / 'resnet18.pth'
    torch.save(torchvision.models.resnet18().state_dict(), path)
    with pytest.raises((ValueError, RuntimeError)) as err:
        ResNetReID(depth=50, pretrained=str(path))
    msg = str(err.value)
    assert 'layer1.0.conv1.weight' in msg
    assert '64, 64, 3, 3' in msg and '64, 64, 1, 1' in msg


def test_shallower_checkpoint_of_the_same_block_type_is_refused(tmp_path):
    path = tmp_path / 'resnet18.pth'
    torch.save(torchvision.models.resnet18().state_dict(), path)
    with pytest.raises(ValueError, match=r'resnet18\.pth.*not a ResNet-34.*layer1\.2\.conv1\.weight'):
        ResNetReID(depth=34, pretrained=str(path))


def test_unrecognised_file_names_the_file(tmp_path):
    path = tmp_path / 'vit.pth'
    torch.save({'cls_token': torch.zeros(1, 1, 8), 'pos_embed': torch.zeros(1, 5, 8)}, path)
    with pytest.raises(ValueError, match=r'vit\.pth.*not a recognised ResNet checkpoint.*cls_token'):
        ResNetReID(depth=18, pretrained=str(path))


# ---------------------------------------------------------------- converter tool
def _converter():
    spec = importlib.util.spec_from_file_location(
        'resnet_to_reidengine', REPO / 'tools' / 'model_converters' / 'resnet_to_reidengine.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_converter_writes_a_checkpoint_in_the_engine_layout(tmp_path, capsys):
    ref = _randomise(torchvision.models.resnet18())
    src, dst = tmp_path / 'resnet18-f37072fd.pth', tmp_path / 'r18_reidengine.pth'
    torch.save(ref.state_dict(), src)
    _converter().main([str(src), str(dst)])
    assert 'torchvision layout, ResNet-18' in capsys.readouterr().out

    saved = torch.load(dst, weights_only=True)
    assert 'stem.conv1.weight' in saved and 'conv1.weight' not in saved and 'fc.weight' not in saved
    torch.testing.assert_close(saved['stem.bn1.running_var'], ref.bn1.running_var)
    model = ResNetReID(depth=18, last_stride=2, pretrained=str(dst), weights_format='reidengine').eval()
    x = torch.randn(2, 3, 64, 32)
    with torch.no_grad():
        _close(model(x), create_feature_extractor(ref, {'layer4': 'out'})(x)['out'])


def test_converter_reads_moco_ibn_files(tmp_path, capsys, ibn_reference):
    src, dst = tmp_path / 'lup_moco.pth', tmp_path / 'out.pth'
    torch.save(_moco_checkpoint(ibn_reference), src)
    _converter().main([str(src), str(dst), '--format', 'moco'])
    assert 'moco layout, ResNet-50-IBN-a' in capsys.readouterr().out
    saved = torch.load(dst, weights_only=True)
    assert torch.equal(saved['layer2.1.bn1.IN.weight'], ibn_reference.layer2[1].bn1.IN.weight)


# ---------------------------------------------------------------- IBN layers reported at load time
class _Records(logging.Handler):
    def __init__(self):
        super().__init__()
        self.lines = []

    def emit(self, record):
        self.lines.append(record.getMessage())


def _load_messages(build):
    logger = MMLogger.get_current_instance()
    handler = _Records()
    logger.addHandler(handler)
    try:
        build()
    finally:
        logger.removeHandler(handler)
    return '\n'.join(handler.lines)


def test_ibn_layers_found_are_reported(tmp_path, ibn_reference):
    path = tmp_path / 'lup_moco_r50_ibn.pth'
    torch.save(_moco_checkpoint(ibn_reference), path)
    text = _load_messages(lambda: ResNetReID(depth=50, ibn='a', pretrained=str(path)))
    # ResNet-50: 3 + 4 + 6 blocks in layer1-3 carry IBN-a
    assert ('IBN layers: found in the checkpoint for 13 blocks (layerN.M.bn1.IN.*); the model has 13 '
            "IBN-a layers (ibn='a'), 13 of them covered") in text


def test_plain_checkpoint_for_an_ibn_model_says_so_and_is_refused(tmp_path):
    plain = {'module.encoder_q.' + k: v for k, v in torchvision.models.resnet18().state_dict().items()}
    path = tmp_path / 'lup_moco_r18_plain.pth'
    torch.save({'state_dict': plain}, path)
    with pytest.raises(ValueError, match=r"lup_moco_r18_plain\.pth: the checkpoint holds a plain ResNet "
                       r"\(no bn1\.IN\.\* keys\) but the model was built with ibn='a'; loading it "
                       r'non-strictly would leave every IBN layer at its default initialisation'):
        ResNetReID(depth=18, ibn='a', pretrained=str(path))
    plain_report = ResNetReID(depth=18, ibn='a').ibn_report(convert_resnet_weights(plain)[0])
    assert plain_report == ("IBN layers: none found in the checkpoint (plain ResNet); the model has 6 "
                            "IBN-a layers (ibn='a')")
