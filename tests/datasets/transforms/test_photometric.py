import numpy as np
import pytest
import torch

from reidengine.datasets.transforms import ColorJitter, RandomGaussianBlur
from reidengine.registry import TRANSFORMS


def _image(seed=0, h=32, w=16):
    return (np.random.default_rng(seed).random((h, w, 3)) * 255).astype(np.uint8)


def test_color_jitter_brightness_scales_every_channel_of_the_bgr_image():
    img = _image()
    torch.manual_seed(0)
    out = ColorJitter(brightness=(0.5, 0.5))(dict(img=img.copy()))['img']
    assert out.shape == img.shape and out.dtype == np.uint8
    # brightness 0.5 halves every channel (torchvision rounds uint8 results)
    assert np.abs(out.astype(int) - np.round(img * 0.5).astype(int)).max() <= 1


def test_color_jitter_hue_keeps_channel_order_bgr():
    # a pure-blue BGR image: a zero hue shift must keep it blue (a BGR/RGB mix-up would make it red)
    img = np.zeros((8, 8, 3), np.uint8)
    img[..., 0] = 200
    out = ColorJitter(hue=(0.0, 0.0), saturation=(1.0, 1.0))(dict(img=img.copy()))['img']
    np.testing.assert_array_equal(out, img)
    # a hue shift of 1/3 of the colour circle turns blue (240 deg) into red (0 deg): BGR channel 2
    out = ColorJitter(hue=(1 / 3, 1 / 3))(dict(img=img.copy()))['img']
    assert out[..., 2].min() >= 195 and out[..., :2].max() <= 5


def test_color_jitter_prob_zero_and_deterministic_under_seed():
    img = _image(1)
    np.testing.assert_array_equal(ColorJitter(brightness=0.4, prob=0.0)(dict(img=img.copy()))['img'], img)
    t = ColorJitter(brightness=0.4, contrast=0.4, saturation=0.4, hue=0.1)
    torch.manual_seed(3)
    a = t(dict(img=img.copy()))['img']
    torch.manual_seed(3)
    b = t(dict(img=img.copy()))['img']
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, img)


def test_gaussian_blur_matches_a_direct_convolution():
    img = _image(2, 24, 24)
    sigma = 1.0
    out = RandomGaussianBlur(sigma=(sigma, sigma), prob=1.0)(dict(img=img.copy()))['img']
    # direct separable Gaussian with reflect padding, kernel 2 * ceil(3 sigma) + 1
    r = 3
    x = np.arange(-r, r + 1)
    k = np.exp(-x ** 2 / (2 * sigma ** 2))
    k /= k.sum()
    pad = np.pad(img.astype(np.float64), ((r, r), (r, r), (0, 0)), mode='reflect')
    rows = sum(k[i] * pad[i:i + 24] for i in range(2 * r + 1))
    ref = sum(k[i] * rows[:, i:i + 24] for i in range(2 * r + 1))
    assert np.abs(out.astype(float) - ref).max() <= 1.0
    assert out.std() < img.std()


@pytest.mark.parametrize('cfg, match', [
    (dict(type='ColorJitter', hue=0.7), 'ColorJitter'),
    (dict(type='ColorJitter', brightness=0.2, prob=1.5), 'prob'),
    (dict(type='RandomGaussianBlur', sigma=(2.0, 1.0)), 'sigma'),
])
def test_bad_arguments_are_named(cfg, match):
    with pytest.raises(ValueError, match=match):
        TRANSFORMS.build(cfg)


def test_non_uint8_image_names_the_file():
    with pytest.raises(ValueError, match='x.jpg'):
        ColorJitter(brightness=0.2)(dict(img=np.zeros((4, 4, 3), np.float32), img_path='x.jpg'))


def test_adjust_hue_matches_torchvision_up_to_quantisation():
    from torchvision.transforms.v2 import functional as F

    from reidengine.datasets.transforms.photometric import adjust_hue
    # saturated, bright colours (where the hue is well defined) and greys (which must stay grey)
    rgb = torch.from_numpy(_image(4, 32, 32)).permute(2, 0, 1).contiguous()
    rgb[:, :4] = 128
    for h in (-0.3, -0.05, 0.1, 0.25, 0.5):
        ours, ref = adjust_hue(rgb, h).int(), F.adjust_hue(rgb, h).int()
        diff = (ours - ref).abs()
        assert diff.float().mean() < 2.0 and diff.max() <= 12, (h, diff.float().mean(), diff.max())
        assert torch.equal(ours[:, :4], rgb[:, :4].int())  # greys unchanged
    assert torch.equal(adjust_hue(rgb, 0.0), rgb)
    with pytest.raises(ValueError, match='hue_factor'):
        adjust_hue(rgb, 0.7)


def test_color_jitter_follows_torchvision_parameters_and_order():
    # without hue, the jitter is exactly torchvision's ColorJitter under the same random state
    from torchvision.transforms import v2
    img = _image(5)
    ours = ColorJitter(brightness=0.4, contrast=0.4, saturation=0.4)
    ref = v2.ColorJitter(0.4, 0.4, 0.4)
    for seed in range(5):
        torch.manual_seed(seed)
        torch.rand(())  # the prob draw of ours
        expected = ref(torch.from_numpy(np.ascontiguousarray(img[..., ::-1])).permute(2, 0, 1))
        torch.manual_seed(seed)
        got = ours(dict(img=img.copy()))['img']
        np.testing.assert_array_equal(got[..., ::-1], expected.permute(1, 2, 0).numpy())
