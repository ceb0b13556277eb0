"""MultiBackboneReIDModel: each encoder gets its own size and normalisation of the one decoded
image; camera ids only reach SIE backbones; the fusion neck sees every output. ReIDModel's
``backbone_kwargs`` is the override point for forward arguments."""
import pytest
import torch
from torch import nn

from reidengine.models.reid import ReIDModel
from reidengine.registry import MODELS
from reidengine.structures import ReIDDataSample
from reidengine.utils import register_all_modules


class _Recorder(nn.Module):
    """Backbone that records its input and keyword arguments and returns its mean per image."""

    def __init__(self, uses_camera=False):
        super().__init__()
        self.uses_camera = uses_camera
        self.scale = nn.Parameter(torch.ones(1))
        self.seen = None

    def forward(self, x, **kwargs):
        self.seen = (x.detach().clone(), kwargs)
        return self.scale * x.mean(dim=(1, 2, 3))[:, None]


class _ConcatNeck(nn.Module):
    def forward(self, outputs, data_samples=None):
        return torch.cat(list(outputs.values()), dim=1)


MODELS.register_module('_TestRecorderBackbone', module=_Recorder, force=True)
MODELS.register_module('_TestConcatNeck', module=_ConcatNeck, force=True)


def _model(**kwargs):
    register_all_modules()
    cfg = dict(type='MultiBackboneReIDModel',
               backbones=dict(
                   small=dict(backbone=dict(type='_TestRecorderBackbone', uses_camera=True),
                              mean=(10.0, 20.0, 30.0), std=(2.0, 4.0, 5.0), img_size=(6, 4)),
                   full=dict(backbone=dict(type='_TestRecorderBackbone'),
                             mean=(100.0, 100.0, 100.0), std=(50.0, 50.0, 50.0))),
               neck=dict(type='_TestConcatNeck'),
               head=dict(type='BNNeckHead', in_channels=2, num_classes=2, loss_triplet=None))
    cfg.update(kwargs)
    return MODELS.build(cfg)


def test_each_encoder_gets_its_own_size_and_normalisation():
    model = _model().eval()
    torch.manual_seed(0)
    images = torch.rand(2, 3, 8, 6) * 255  # what the preprocessor hands over: RGB, 0-255
    samples = [ReIDDataSample(metainfo=dict(pid=0, camid=c)) for c in (1, 0)]
    model(images, samples, mode='tensor')
    small_in, small_kwargs = model.backbones['small'].seen
    full_in, full_kwargs = model.backbones['full'].seen
    resized = nn.functional.interpolate(images, size=(6, 4), mode='bilinear', align_corners=False)
    mean, std = torch.tensor([10.0, 20.0, 30.0]), torch.tensor([2.0, 4.0, 5.0])
    torch.testing.assert_close(small_in, (resized - mean[:, None, None]) / std[:, None, None])
    torch.testing.assert_close(full_in, (images - 100.0) / 50.0)
    assert torch.equal(small_kwargs['camids'], torch.tensor([1, 0])) and full_kwargs == {}


def test_a_normalising_preprocessor_is_refused():
    with pytest.raises(ValueError, match='must not normalise'):
        _model(data_preprocessor=dict(type='ReIDDataPreprocessor'))


def test_backbone_kwargs_is_the_override_point():
    register_all_modules()

    class WithFlag(ReIDModel):
        def backbone_kwargs(self, inputs, data_samples=None):
            return dict(super().backbone_kwargs(inputs, data_samples), flag=7)

    model = WithFlag(backbone=dict(type='_TestRecorderBackbone', uses_camera=True),
                     head=dict(type='BNNeckHead', in_channels=1, num_classes=2, loss_triplet=None))
    samples = [ReIDDataSample(metainfo=dict(pid=0, camid=3))]
    model.extract_feat(torch.zeros(1, 3, 4, 4), samples)
    _, kwargs = model.backbone.seen
    assert kwargs['flag'] == 7 and torch.equal(kwargs['camids'], torch.tensor([3]))
    with pytest.raises(ValueError, match='uses camera ids'):
        model.extract_feat(torch.zeros(1, 3, 4, 4), None)
