"""ReIDModel with a tiny conv backbone, GAP and BNNeckHead: loss, train step, predict, flip test."""
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.optim import OptimWrapper

from reidengine.registry import MODELS
from reidengine.utils import register_all_modules
from reidengine.structures import ReIDDataSample

MEAN = torch.tensor([123.675, 116.28, 103.53]).view(1, 3, 1, 1)
STD = torch.tensor([58.395, 57.12, 57.375]).view(1, 3, 1, 1)


@MODELS.register_module(name='_TestTinyConvBackbone', force=True)
class TinyConvBackbone(nn.Module):
    """3x3 conv + ReLU: (B, 3, H, W) -> (B, C, H, W)."""

    def __init__(self, out_channels: int = 8):
        super().__init__()
        self.conv = nn.Conv2d(3, out_channels, 3, padding=1)

    def forward(self, x):
        return F.relu(self.conv(x))


def _model(flip=False):
    register_all_modules()
    return MODELS.build(dict(
        type='ReIDModel',
        backbone=dict(type='_TestTinyConvBackbone', out_channels=8),
        neck=dict(type='GlobalAvgPool'),
        head=dict(type='BNNeckHead', in_channels=8, num_classes=3, test_feat='after_bn'),
        test_cfg=dict(flip=flip)))


def _data(pids=(0, 0, 1, 1, 2, 2)):
    gen = torch.Generator().manual_seed(0)
    imgs = [torch.randint(0, 256, (3, 16, 8), dtype=torch.uint8, generator=gen) for _ in pids]
    samples = [ReIDDataSample(metainfo=dict(pid=p, camid=0)) for p in pids]
    return dict(inputs=imgs, data_samples=samples)


def _manual_features(model, imgs, flip):
    """BGR->RGB, normalise, conv + ReLU, mean over positions, BN with running statistics."""
    x = (torch.stack(imgs).float()[:, [2, 1, 0]] - MEAN) / STD
    if flip:
        x = x.flip(-1)
    conv = model.backbone.conv
    f = F.relu(F.conv2d(x, conv.weight, conv.bias, padding=1)).mean(dim=(2, 3))
    bn = model.head.bnneck
    return (f - bn.running_mean) / (bn.running_var + bn.eps).sqrt() * bn.weight + bn.bias


def test_loss_mode_and_parse_losses():
    model = _model()
    data = model.data_preprocessor(_data(), training=True)
    losses = model(**data, mode='loss')
    assert set(losses) == {'loss_cls', 'loss_triplet', 'acc'}
    total, log_vars = model.parse_losses(losses)
    assert torch.allclose(total, losses['loss_cls'] + losses['loss_triplet'])
    assert 'acc' in log_vars


def test_train_step_updates_weights_keeps_bn_bias():
    model = _model()
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1))
    before = model.backbone.conv.weight.detach().clone()
    model.train_step(_data(), optim)
    assert not torch.equal(model.backbone.conv.weight, before)
    assert torch.equal(model.head.bnneck.bias.detach(), torch.zeros(8))


@pytest.mark.parametrize('flip', [False, True])
def test_predict_matches_manual_features(flip):
    model = _model(flip=flip).eval()
    with torch.no_grad():
        model.head.bnneck.running_mean.uniform_(-0.5, 0.5)
        model.head.bnneck.running_var.uniform_(0.5, 2.0)
        model.head.bnneck.weight.uniform_(0.5, 2.0)
    data = _data()
    with torch.no_grad():
        out = model.test_step(data)
        expected = _manual_features(model, data['inputs'], flip=False)
        if flip:
            expected = (expected + _manual_features(model, data['inputs'], flip=True)) / 2
    assert len(out) == 6
    got = torch.stack([s.pred_feature for s in out])
    assert got.shape == (6, 8)
    assert torch.allclose(got, expected, atol=1e-5)
    if flip:
        assert not torch.allclose(got, _manual_features(model, data['inputs'], False), atol=1e-5)


def test_tensor_mode_returns_test_feature():
    model = _model().eval()
    data = model.data_preprocessor(_data(), training=False)
    with torch.no_grad():
        feats = model(data['inputs'], mode='tensor')
        expected = _manual_features(model, _data()['inputs'], flip=False)
    assert torch.allclose(feats, expected, atol=1e-5)
