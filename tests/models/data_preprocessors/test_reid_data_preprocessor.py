import torch

from reidengine.models.backbones import ResNetReID
from reidengine.models.data_preprocessors.reid_data_preprocessor import ReIDDataPreprocessor


def _batch(n=3):
    g = torch.Generator().manual_seed(0)
    return dict(inputs=[torch.randint(0, 256, (3, 32, 16), dtype=torch.uint8, generator=g) for _ in range(n)])


def test_normalises_with_mean_std_and_swaps_bgr_to_rgb():
    data = _batch()
    out = ReIDDataPreprocessor(mean=(10., 20., 30.), std=(2., 4., 8.))(data)['inputs']
    raw = torch.stack(data['inputs']).float()
    mean, std = torch.tensor([10., 20., 30.]).view(1, 3, 1, 1), torch.tensor([2., 4., 8.]).view(1, 3, 1, 1)
    expected = (raw.flip(1) - mean) / std
    torch.testing.assert_close(out, expected)


def test_channels_last_keeps_values_and_changes_only_the_layout():
    data = _batch()
    plain = ReIDDataPreprocessor()(data)['inputs']
    nhwc = ReIDDataPreprocessor(channels_last=True)(data)['inputs']
    assert nhwc.is_contiguous(memory_format=torch.channels_last) and not plain.is_contiguous(
        memory_format=torch.channels_last)
    assert torch.equal(plain, nhwc)
    # a ResNet gives the same features from either layout
    torch.manual_seed(0)
    net = ResNetReID(depth=18, base_channels=8, ibn='a', pretrained=None).eval()
    with torch.no_grad():
        torch.testing.assert_close(net(nhwc)[-1], net(plain)[-1], rtol=1e-4, atol=1e-4)
