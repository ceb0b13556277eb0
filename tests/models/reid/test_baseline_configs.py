"""The baseline model configs build a working ReIDModel (their backbones swapped for tiny ones)."""
import os.path as osp

import pytest
import torch
import torch.nn as nn
from mmengine import Config

from reidengine.registry import MODELS
from reidengine.utils import register_all_modules
from reidengine.structures import ReIDDataSample

CONFIGS = osp.join(osp.dirname(__file__), '..', '..', '..', 'configs', '_base_', 'models')


@MODELS.register_module(name='_TestTinyMapBackbone', force=True)
class TinyMapBackbone(nn.Module):
    """(B, 3, H, W) -> (B, C, H/4, W/4) map, like a ResNet's last stage."""

    def __init__(self, out_channels: int):
        super().__init__()
        self.conv = nn.Conv2d(3, out_channels, 4, stride=4)

    def forward(self, x):
        return self.conv(x).relu()


@MODELS.register_module(name='_TestTinyTokenBackbone', force=True)
class TinyTokenBackbone(nn.Module):
    """(B, 3, H, W) -> (B, 1 + patches, D) tokens, like a ViT's output."""

    def __init__(self, embed_dim: int):
        super().__init__()
        self.patch = nn.Conv2d(3, embed_dim, 8, stride=8)
        self.cls_token = nn.Parameter(torch.randn(1, 1, embed_dim))

    def forward(self, x):
        tokens = self.patch(x).flatten(2).transpose(1, 2)
        return torch.cat([self.cls_token.expand(len(x), -1, -1), tokens], dim=1)


def _data():
    gen = torch.Generator().manual_seed(0)
    pids = [0, 0, 1, 1]
    return dict(inputs=[torch.randint(0, 256, (3, 16, 8), dtype=torch.uint8, generator=gen)
                        for _ in pids],
                data_samples=[ReIDDataSample(metainfo=dict(pid=p, camid=0)) for p in pids])


@pytest.mark.parametrize('name,backbone_type,backbone_dict,test_feat', [
    ('bot_r50.py', 'ResNetReID', dict(type='_TestTinyMapBackbone', out_channels=2048), 'after_bn'),
    ('vit_base.py', 'ViTReID', dict(type='_TestTinyTokenBackbone', embed_dim=768), 'before_bn'),
])
def test_config_builds_and_trains(name, backbone_type, backbone_dict, test_feat):
    register_all_modules()
    cfg = Config.fromfile(osp.join(CONFIGS, name)).model
    assert cfg.backbone.type == backbone_type
    assert cfg.head.num_classes is None
    assert cfg.head.test_feat == test_feat and cfg.head.triplet_feat == 'before_bn'
    with pytest.raises(ValueError, match='num_classes'):
        MODELS.build(cfg.head)
    cfg.backbone = backbone_dict
    cfg.head.num_classes = 2
    model = MODELS.build(cfg)
    data = model.data_preprocessor(_data(), training=True)
    losses = model(**data, mode='loss')
    assert set(losses) == {'loss_cls', 'loss_triplet', 'acc'}
    model.eval()
    with torch.no_grad():
        out = model.test_step(_data())
    assert out[0].pred_feature.shape == (cfg.head.in_channels,)
