"""Configs with default_scope='reidengine' find our transforms and mmcv's generic ones."""
import cv2
import mmcv.transforms as mmcv_transforms
import numpy as np
import pytest
from mmengine.dataset import Compose

from reidengine.datasets import transforms as T
from reidengine.registry import TRANSFORMS
from reidengine.utils import register_all_modules


@pytest.fixture(scope='module', autouse=True)
def _scope():
    register_all_modules()


@pytest.mark.parametrize('cfg,cls', [
    (dict(type='LoadReIDImage'), T.LoadReIDImage),
    (dict(type='ReIDResize', size=(256, 128)), T.ReIDResize),
    (dict(type='PadRandomCrop', padding=10), T.PadRandomCrop),
    (dict(type='RandomErasing', prob=0.5), T.RandomErasing),
    (dict(type='LocalGrayscale', prob=0.5), T.LocalGrayscale),
    (dict(type='RandomPatch', prob=0.5), T.RandomPatch),
    (dict(type='PackReIDInputs'), T.PackReIDInputs),
    (dict(type='RandomFlip', prob=0.5), mmcv_transforms.RandomFlip),
    (dict(type='LoadImageFromFile'), mmcv_transforms.LoadImageFromFile),
    (dict(type='Resize', scale=(128, 256)), mmcv_transforms.Resize),
    (dict(type='Pad', size=(128, 256)), mmcv_transforms.Pad),
    (dict(type='Normalize', mean=(0, 0, 0), std=(1, 1, 1)), mmcv_transforms.Normalize),
    (dict(type='RandomApply', transforms=[dict(type='LocalGrayscale', prob=1.0)]),
     mmcv_transforms.RandomApply),
])
def test_built_from_config(cfg, cls):
    assert type(TRANSFORMS.build(cfg)) is cls


def test_random_flip_from_config_mirrors_horizontally():
    img = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    out = TRANSFORMS.build(dict(type='RandomFlip', prob=1.0))(dict(img=img.copy()))
    np.testing.assert_array_equal(out['img'], img[:, ::-1])


def test_training_pipeline_end_to_end(tmp_path):
    img = np.random.default_rng(0).integers(0, 256, (90, 40, 3), dtype=np.uint8)
    path = str(tmp_path / '0002_c1s1_000451_03.png')
    cv2.imwrite(path, img)
    pipeline = Compose([
        dict(type='LoadReIDImage'), dict(type='ReIDResize', size=(32, 16)),
        dict(type='RandomFlip', prob=0.5), dict(type='PadRandomCrop', padding=2),
        dict(type='LocalGrayscale', prob=0.5), dict(type='RandomErasing', prob=0.5),
        dict(type='RandomPatch', prob=0.5, min_sample_size=1), dict(type='PackReIDInputs')])
    out = pipeline(dict(img_path=path, pid=2, camid=0, domain=1, sample_idx=5))
    assert out['inputs'].shape == (3, 32, 16)
    assert out['data_samples'].metainfo == dict(pid=2, camid=0, domain=1, img_path=path,
                                                sample_idx=5)
