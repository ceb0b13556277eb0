"""A tiny trained-model set-up for the inference API, tool and picture tests.

``tiny_reid`` writes a Market-style folder of random images (4 ids x 2 cameras x 2 images in the
gallery, one query per id and camera), a config of an eighth-width ResNet-18 BoT model whose test
set is that folder, and a checkpoint of the model (random weights, BN statistics set).
"""
import gc
import os.path as osp
import types

import cv2
import numpy as np
import pytest
import torch

import reidengine.datasets  # noqa: F401
from reidengine.registry import MODELS
from reidengine.utils import register_all_modules

gc.freeze()  # fast mmengine dataset serialisation (see tests/datasets/conftest.py)

TINY_CONFIG = '''
default_scope = 'reidengine'
img_size = (32, 16)
test_pipeline = [
    dict(type='LoadReIDImage'),
    dict(type='ReIDResize', size=img_size),
    dict(type='PackReIDInputs'),
]
model = dict(
    type='ReIDModel',
    data_preprocessor=dict(type='ReIDDataPreprocessor', mean=[123.675, 116.28, 103.53],
                           std=[58.395, 57.12, 57.375], bgr_to_rgb=True),
    backbone=dict(type='ResNetReID', depth=18, base_channels=8, last_stride=1, pretrained=None),
    neck=dict(type='GlobalAvgPool'),
    head=dict(type='BNNeckHead', in_channels=64, num_classes=4, test_feat='after_bn'),
    test_cfg=dict(flip=False))
test_dataloader = dict(
    batch_size=5, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='CustomReIDFolder', data_root={root!r}, split='test',
                 pipeline=test_pipeline))
test_evaluator = dict(type='ReIDMetric', metric='cosine')
test_cfg = dict(type='ReIDTestLoop')
'''


def write_market_folder(root: str, num_ids: int = 4, seed: int = 0) -> None:
    """Random-pattern person images, each id with its own colour, Market-1501 names."""
    rng = np.random.default_rng(seed)
    for split, per_cam in (('bounding_box_test', 2), ('query', 1), ('bounding_box_train', 2)):
        folder = osp.join(root, split)
        import os
        os.makedirs(folder, exist_ok=True)
        for pid in range(1, num_ids + 1):
            colour = rng.integers(0, 256, 3)
            for cam in (1, 2):
                for k in range(per_cam):
                    img = np.clip(colour + rng.normal(0, 40, (48, 24, 3)), 0, 255).astype(np.uint8)
                    cv2.imwrite(osp.join(folder, f'{pid:04d}_c{cam}s1_{k:06d}_00.jpg'), img)


@pytest.fixture(scope='session')
def tiny_reid(tmp_path_factory):
    register_all_modules()
    root = str(tmp_path_factory.mktemp('tiny_reid'))
    data_root = osp.join(root, 'data')
    write_market_folder(data_root)
    config = osp.join(root, 'tiny_bot.py')
    with open(config, 'w') as f:
        f.write(TINY_CONFIG.format(root=data_root))
    from mmengine.config import Config
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(config).model)
    for m in model.modules():  # non-trivial BN statistics
        if isinstance(m, torch.nn.BatchNorm2d) or isinstance(m, torch.nn.BatchNorm1d):
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.5, 1.5)
    checkpoint = osp.join(root, 'tiny_bot.pth')
    torch.save(dict(state_dict=model.state_dict(), meta=dict()), checkpoint)
    return types.SimpleNamespace(root=root, data_root=data_root, config=config,
                                 checkpoint=checkpoint, gallery=osp.join(data_root, 'bounding_box_test'),
                                 query=osp.join(data_root, 'query'))
