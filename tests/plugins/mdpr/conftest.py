"""A tiny MDPR for the tests: narrow ResNet-18-IBN-a (width 8), M = 16, 64 x 32 inputs (4 x 2 maps
after layer3/layer4 with last stride 1)."""
import pytest
import torch

import plugins.mdpr  # noqa: F401
from reidengine.registry import MODELS
from reidengine.structures import ReIDDataSample
from reidengine.utils import register_all_modules

IMG = (64, 32)


def tiny_cfg(num_classes=4, embed_dim=16, **kwargs):
    head = kwargs.pop('head', {})
    cfg = dict(
        type='MDPRModel',
        data_preprocessor=dict(type='ReIDDataPreprocessor', mean=[123.675, 116.28, 103.53],
                               std=[58.395, 57.12, 57.375], bgr_to_rgb=True),
        backbone=dict(type='ResNetReID', depth=18, base_channels=8, ibn='a', last_stride=1),
        head=dict(dict(type='MDPRHead', num_classes=num_classes), **head),
        embed_dim=embed_dim)
    cfg.update(kwargs)
    return cfg


def build(**kwargs):
    register_all_modules()
    torch.manual_seed(0)
    return MODELS.build(tiny_cfg(**kwargs))


def samples(pids):
    return [ReIDDataSample(metainfo=dict(pid=p, camid=0)) for p in pids]


@pytest.fixture
def batch():
    torch.manual_seed(1)
    return torch.randn(8, 3, *IMG), samples([0, 0, 1, 1, 2, 2, 3, 3])


@pytest.fixture
def build_mdpr():
    """``build(**MDPRModel kwargs)`` of the tiny MDPR."""
    return build


@pytest.fixture
def build_samples():
    """``samples(pids)``: data samples with these pids (camera 0)."""
    return samples
