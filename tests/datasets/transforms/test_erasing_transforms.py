import numpy as np
import pytest

from reidengine.datasets.transforms import LocalGrayscale, RandomErasing, sample_rectangle


def _changed_box(before, after):
    """Bounding box (top, left, h, w) of the changed pixels, and the change mask."""
    changed = (before != after).any(-1)
    rows, cols = np.nonzero(changed)
    top, left = rows.min(), cols.min()
    return (top, left, rows.max() - top + 1, cols.max() - left + 1), changed


def test_sample_rectangle_fits_and_respects_area_and_aspect():
    np.random.seed(0)
    img_h, img_w, sl, sh, r1 = 256, 128, 0.02, 0.4, 0.3
    for _ in range(500):
        top, left, h, w = sample_rectangle(img_h, img_w, (sl, sh), r1, 100)
        assert 0 <= top and top + h <= img_h and 0 < h < img_h
        assert 0 <= left and left + w <= img_w and 0 < w < img_w
        # h, w are rounded from sqrt(S r) and sqrt(S / r): allow half a pixel on each side
        assert (h - .5) * (w - .5) <= sh * img_h * img_w
        assert (h + .5) * (w + .5) >= sl * img_h * img_w
        assert r1 * 0.9 <= h / w <= 1 / r1 / 0.9


def test_sample_rectangle_gives_up_when_nothing_fits():
    # area fraction 1 can never fit strictly inside the image
    assert sample_rectangle(10, 10, (1.0, 1.0), 1.0, 20) is None


def test_swap_side_bounds_bounds_height_by_image_width():
    """The reference LGT code checks the height against the image width."""
    np.random.seed(1)
    normal = [sample_rectangle(256, 128, (0.02, 0.4), 0.3, 100) for _ in range(400)]
    swapped = [sample_rectangle(256, 128, (0.02, 0.4), 0.3, 100, swap_side_bounds=True)
               for _ in range(400)]
    assert max(r[2] for r in normal) >= 128  # tall rectangles exist normally
    for top, left, h, w in swapped:
        assert h < 128 and top + h <= 256 and left + w <= 128  # clipped inside the image


def test_random_erasing_mean_fill_changes_exactly_a_rectangle():
    rng = np.random.default_rng(0)
    np.random.seed(0)
    transform = RandomErasing(prob=1.0, fill='mean', mean=(200.4, 150.6, 90.0))
    for _ in range(50):
        img = rng.integers(0, 60, (64, 32, 3), dtype=np.uint8)  # never equal to the fill
        out = transform(dict(img=img.copy()))['img']
        (top, left, h, w), changed = _changed_box(img, out)
        assert changed[top:top + h, left:left + w].all()  # the changed set is a full box
        # fill is RGB (200.4, 150.6, 90) rounded, stored BGR
        assert (out[top:top + h, left:left + w] == [90, 151, 200]).all()
        assert 0.02 * 64 * 32 <= (h + .5) * (w + .5) and (h - .5) * (w - .5) <= 0.4 * 64 * 32


def test_random_erasing_random_fill_is_uniform_0_255():
    np.random.seed(3)
    transform = RandomErasing(prob=1.0, fill='random', area_range=(0.3, 0.4))
    img = np.full((64, 32, 3), 7, dtype=np.uint8)
    out = transform(dict(img=img.copy()))['img']
    (top, left, h, w), changed = _changed_box(img, out)
    assert changed[top:top + h, left:left + w].all()
    values = out[top:top + h, left:left + w].astype(float)
    assert values.min() < 10 and values.max() > 245 and abs(values.mean() - 127.5) < 8


def test_random_erasing_normal_fill_statistics_per_channel():
    np.random.seed(4)
    transform = RandomErasing(prob=1.0, fill='normal', area_range=(0.3, 0.4),
                              mean=(100., 150., 50.), std=(10., 20., 5.))
    img = np.zeros((128, 64, 3), dtype=np.uint8)
    out = transform(dict(img=img))['img']
    (top, left, h, w), _ = _changed_box(img, out)
    region = out[top:top + h, left:left + w].reshape(-1, 3).astype(float)
    # BGR storage of RGB statistics
    np.testing.assert_allclose(region.mean(0), [50, 150, 100], atol=1.5)
    np.testing.assert_allclose(region.std(0), [5, 20, 10], rtol=0.1)


@pytest.mark.parametrize('transform', [RandomErasing(prob=0.0), LocalGrayscale(prob=0.0)])
def test_probability_zero_changes_nothing(transform):
    rng = np.random.default_rng(5)
    for _ in range(30):
        img = rng.integers(0, 256, (32, 16, 3), dtype=np.uint8)
        out = transform(dict(img=img.copy()))['img']
        np.testing.assert_array_equal(out, img)


def test_local_grayscale_turns_exactly_a_rectangle_gray():
    rng = np.random.default_rng(6)
    np.random.seed(6)
    transform = LocalGrayscale(prob=1.0)
    for _ in range(50):
        img = rng.integers(0, 256, (64, 32, 3), dtype=np.uint8)
        out = transform(dict(img=img.copy()))['img']
        (top, left, h, w), changed = _changed_box(img, out)
        box = np.zeros_like(changed)
        box[top:top + h, left:left + w] = True
        np.testing.assert_array_equal(out[~box], img[~box])  # outside: untouched
        b, g, r = (img[box][:, c].astype(float) for c in range(3))
        luma = 0.299 * r + 0.587 * g + 0.114 * b  # ITU-R 601, as PIL convert('L')
        inside = out[box].astype(float)
        assert (inside[:, 0] == inside[:, 1]).all() and (inside[:, 1] == inside[:, 2]).all()
        assert np.abs(inside[:, 0] - luma).max() <= 1.0


def test_input_is_not_modified_in_place():
    np.random.seed(7)
    img = np.random.randint(0, 256, (32, 16, 3)).astype(np.uint8)
    keep = img.copy()
    RandomErasing(prob=1.0)(dict(img=img))
    LocalGrayscale(prob=1.0)(dict(img=img))
    np.testing.assert_array_equal(img, keep)


@pytest.mark.parametrize('kwargs,match', [
    (dict(prob=1.5), 'prob must be'), (dict(area_range=(0.5, 0.1)), 'area_range'),
    (dict(min_aspect=2.0), 'min_aspect'), (dict(max_attempts=0), 'max_attempts'),
    (dict(fill='zeros'), 'fill must be'), (dict(mean=(1, 2)), 'mean and std')])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        RandomErasing(**kwargs)
