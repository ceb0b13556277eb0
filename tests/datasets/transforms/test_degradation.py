import numpy as np
import pytest
import torch

from reidengine.datasets.transforms import RandomDownscale, RandomJPEG
from reidengine.registry import TRANSFORMS


def _stripes(h=32, w=16):
    """Fine detail: one-pixel black / white columns (BGR, uint8)."""
    img = np.zeros((h, w, 3), np.uint8)
    img[:, ::2] = 255
    return img


def test_downscale_removes_detail_and_keeps_the_size():
    img = _stripes()
    out = RandomDownscale(scale=(0.5, 0.5), prob=1.0)(dict(img=img.copy()))['img']
    assert out.shape == img.shape and out.dtype == np.uint8
    # at half resolution one-pixel stripes average out to grey: the contrast is gone
    assert out.astype(int).std() < 0.2 * img.astype(int).std()
    assert abs(out.astype(int).mean() - img.astype(int).mean()) < 20
    # a flat image is unchanged, and so is any image at scale 1 (identity resize)
    flat = np.full((32, 16, 3), 77, np.uint8)
    np.testing.assert_array_equal(RandomDownscale(scale=(0.5, 0.5), prob=1.0)(dict(img=flat.copy()))['img'],
                                  flat)
    np.testing.assert_array_equal(RandomDownscale(scale=(1.0, 1.0), prob=1.0)(dict(img=img.copy()))['img'],
                                  img)


def test_jpeg_quality_orders_the_error_and_channels_stay_bgr():
    img = (np.random.default_rng(0).random((32, 16, 3)) * 255).astype(np.uint8)
    low = RandomJPEG(quality=(5, 5), prob=1.0)(dict(img=img.copy()))['img']
    high = RandomJPEG(quality=(95, 95), prob=1.0)(dict(img=img.copy()))['img']
    assert low.shape == img.shape and low.dtype == np.uint8
    err = lambda x: np.abs(x.astype(int) - img.astype(int)).mean()  # noqa: E731
    assert err(high) < err(low) and err(low) > 10
    blue = np.zeros((16, 16, 3), np.uint8)
    blue[..., 0] = 220  # a BGR/RGB mix-up would make it red
    out = RandomJPEG(quality=(90, 90), prob=1.0)(dict(img=blue.copy()))['img']
    assert out[..., 0].min() > 200 and out[..., 2].max() < 20


def test_prob_zero_seeded_and_bad_arguments_named():
    img = _stripes()
    for t in (RandomDownscale(prob=0.0), RandomJPEG(prob=0.0)):
        np.testing.assert_array_equal(t(dict(img=img.copy()))['img'], img)
    t = TRANSFORMS.build(dict(type='RandomDownscale', scale=(0.3, 0.9), prob=1.0))
    torch.manual_seed(4)
    a = t(dict(img=img.copy()))['img']
    torch.manual_seed(4)
    np.testing.assert_array_equal(t(dict(img=img.copy()))['img'], a)
    with pytest.raises(ValueError, match='RandomDownscale: scale'):
        RandomDownscale(scale=(0.5, 1.5))
    with pytest.raises(ValueError, match='RandomJPEG: quality'):
        RandomJPEG(quality=(0, 90))
    with pytest.raises(ValueError, match='prob'):
        RandomJPEG(prob=2)
