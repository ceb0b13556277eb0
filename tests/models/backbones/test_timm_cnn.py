"""TimmCNN: any timm CNN's last map, last stride 1 or 2, and its timm weights loaded from a local file."""
import pytest
import timm
import torch

from reidengine.models.backbones import TimmCNN


@pytest.mark.parametrize('last_stride,grid', [(1, (4, 2)), (2, (2, 1))])
def test_last_map_and_stride(last_stride, grid):
    net = TimmCNN('mobilenetv3_small_050', last_stride=last_stride).eval()
    out = net(torch.randn(2, 3, 64, 32))
    assert out.shape == (2, net.out_channels[0], *grid) and net.out_channels == [288]


def test_timm_weights_load_from_a_local_file(tmp_path):
    torch.manual_seed(0)
    full = timm.create_model('mobilenetv3_small_050', pretrained=False)
    path = tmp_path / 'weights.pth'
    torch.save(full.state_dict(), path)  # with the classifier keys, as released checkpoints are
    net = TimmCNN('mobilenetv3_small_050', last_stride=2, pretrained=str(path))
    own, ref = net.body.state_dict(), full.state_dict()
    assert all(torch.equal(value, ref[key]) for key, value in own.items())  # every weight, same names


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match='last_stride'):
        TimmCNN('mobilenetv3_small_050', last_stride=3)
    with pytest.raises((ValueError, RuntimeError), match='not_a_model|Unknown model|TimmCNN'):
        TimmCNN('not_a_model')
