"""SynthReID scenes: camera capture arithmetic, camera draws within the style, image rendering."""
import dataclasses

import numpy as np
import pytest

from reidengine.datasets.synthreid.identities import random_identity
from reidengine.datasets.synthreid.scene import STYLES, _capture, make_camera, render_image

SIZE = (64, 32)


def flat_camera(**changes):
    """A camera of style A without per-image jitter whose capture settings are set by hand."""
    style = dataclasses.replace(STYLES['A'], cast_jitter=0.0, light_jitter=(1.0, 1.0))
    cam = make_camera(style, 1, SIZE, np.random.default_rng(0))
    settings = dict(mix=np.eye(3, dtype=np.float32), gains=np.array([1.2, 1.0, 0.8], np.float32), brightness=1.0, gamma=1.0, contrast=1.0,
                    saturation=1.0, blur=0.0, noise=0.0, resolution=1.0)
    settings.update(changes)
    return dataclasses.replace(cam, **settings)


def capture_flat(rgb, **changes):
    img = np.empty((*SIZE, 3), np.float32)
    img[:] = rgb
    return _capture(img, flat_camera(**changes), SIZE, np.random.default_rng(0))


def test_white_balance_per_channel_and_bgr_output():
    out = capture_flat((100, 150, 200))
    # R*1.2, G*1.0, B*0.8 = 120, 150, 160; written in OpenCV's BGR order
    assert out.dtype == np.uint8 and out.shape == (*SIZE, 3)
    assert np.abs(out[5, 5].astype(int) - [160, 150, 120]).max() <= 1


def test_gamma_brightness_and_contrast_by_hand():
    gamma = capture_flat((100, 150, 200), gamma=2.0, brightness=1.1)
    expected = (np.array([100 * 1.2, 150.0, 200 * 0.8]) / 255 * 1.1) ** 2 * 255
    assert np.abs(gamma[5, 5, ::-1].astype(float) - expected).max() <= 1
    # contrast pulls every value towards the image mean (here over the three channels)
    low = capture_flat((100, 150, 200), contrast=0.5)
    wb = np.array([120.0, 150.0, 160.0])
    assert np.abs(low[5, 5, ::-1].astype(float) - (wb.mean() + (wb - wb.mean()) * 0.5)).max() <= 1
    grey = capture_flat((100, 150, 200), saturation=0.0)
    assert np.abs(grey[5, 5].astype(float) - wb.mean()).max() <= 1


def test_colour_matrix_mixes_channels_and_keeps_greys():
    mix = np.array([[0.8, 0.2, 0.0], [0.0, 1.0, 0.0], [0.1, 0.0, 0.9]], np.float32)
    out = capture_flat((100, 150, 200), mix=mix, gains=np.ones(3, np.float32))
    # R = 0.8*100 + 0.2*150 = 110, G = 150, B = 0.1*100 + 0.9*200 = 190
    assert np.abs(out[5, 5, ::-1].astype(int) - [110, 150, 190]).max() <= 1
    for style in STYLES.values():
        cam = make_camera(style, 1, (128, 64), np.random.default_rng(3))
        assert np.allclose(cam.mix.sum(axis=1), 1, atol=1e-5)
        assert np.abs(cam.mix - np.eye(3)).max() > 1e-3


def test_cameras_are_drawn_inside_their_style():
    for style in STYLES.values():
        for index in range(1, 6):
            cam = make_camera(style, index, (128, 64), np.random.default_rng(index))
            assert style.gamma[0] <= cam.gamma <= style.gamma[1]
            assert style.noise[0] <= cam.noise <= style.noise[1]
            assert style.resolution[0] <= cam.resolution <= style.resolution[1]
            assert style.jpeg_quality[0] <= cam.jpeg_quality <= style.jpeg_quality[1]
            assert style.person_scale[0] <= cam.scale[0] <= cam.scale[1] <= 1.0
            assert cam.view_probs.min() >= style.view_floor / 4 - 1e-6
            assert abs(cam.view_probs.sum() - 1) < 1e-6
            assert cam.panorama.shape == (128, 4 * 64, 3)


def test_render_is_deterministic_and_cameras_differ():
    person = random_identity(np.random.default_rng(5))
    cams = [make_camera(STYLES['B'], i, (128, 64), np.random.default_rng(i)) for i in (1, 2)]
    a, info = render_image(person, cams[0], SIZE, 2, np.random.default_rng(7))
    b, _ = render_image(person, cams[0], SIZE, 2, np.random.default_rng(7))
    c, _ = render_image(person, cams[1], SIZE, 2, np.random.default_rng(7))
    assert a.shape == (*SIZE, 3) and a.dtype == np.uint8
    assert np.array_equal(a, b)
    assert np.abs(a.astype(int) - c).mean() > 5
    assert info['view'] in ('front', 'back', 'left', 'right')
    assert info['occluder'] in ('none', 'object', 'pole', 'passer')


def test_wrong_render_size_for_the_camera_is_named():
    cam = make_camera(STYLES['A'], 1, (128, 64), np.random.default_rng(0))
    with pytest.raises(ValueError, match='render_scale'):
        render_image(random_identity(np.random.default_rng(0)), cam, SIZE, 1, np.random.default_rng(0))
