import cv2
import numpy as np
import pytest
from PIL import Image

from reidengine.datasets.transforms import PadRandomCrop, ReIDResize


def test_resize_size_is_h_w_and_matches_pil_bicubic():
    img = np.random.default_rng(0).integers(0, 256, (9, 5, 3), dtype=np.uint8)
    out = ReIDResize(size=(20, 12))(dict(img=img))
    assert out['img'].shape == (20, 12, 3) and out['img'].dtype == np.uint8
    assert out['img_shape'] == (20, 12)
    # torchvision's T.Resize((20, 12), interpolation=3) on a PIL image == PIL bicubic
    expected = np.asarray(Image.fromarray(img).resize((12, 20), Image.BICUBIC))
    np.testing.assert_array_equal(out['img'], expected)


def test_resize_cv2_backend_matches_cv2():
    img = np.random.default_rng(1).integers(0, 256, (30, 14, 3), dtype=np.uint8)
    out = ReIDResize(size=(16, 8), interpolation='bilinear', backend='cv2')(dict(img=img))
    expected = cv2.resize(img, (8, 16), interpolation=cv2.INTER_LINEAR)
    np.testing.assert_array_equal(out['img'], expected)


@pytest.mark.parametrize('size', [(256, ), (0, 128), (256.0, 128), 256])
def test_resize_bad_size(size):
    with pytest.raises(ValueError, match='size must be'):
        ReIDResize(size=size)


def _coordinate_image(h, w):
    """Channel 0 = row + 1, channel 1 = col + 1, channel 2 = 9: no pixel is all zero."""
    rows, cols = np.mgrid[0:h, 0:w]
    return np.stack([rows + 1, cols + 1, np.full_like(rows, 9)], -1).astype(np.uint8)


def test_pad_random_crop_is_a_shift_of_at_most_padding():
    h, w, pad = 12, 7, 2
    img = _coordinate_image(h, w)
    transform = PadRandomCrop(padding=pad)
    np.random.seed(0)
    shifts = set()
    for _ in range(300):
        out = transform(dict(img=img.copy()))['img']
        assert out.shape == img.shape and out.dtype == np.uint8
        content = out[..., 2] == 9
        rows, cols = np.nonzero(content)
        dy = set((out[rows, cols, 0].astype(int) - 1 - rows).tolist())
        dx = set((out[rows, cols, 1].astype(int) - 1 - cols).tolist())
        assert len(dy) == 1 and len(dx) == 1  # one rigid shift for the whole image
        dy, dx = dy.pop(), dx.pop()
        assert abs(dy) <= pad and abs(dx) <= pad
        # every output pixel whose source lies inside the image shows it, the others are 0
        i, j = np.mgrid[0:h, 0:w]
        inside = (i + dy >= 0) & (i + dy < h) & (j + dx >= 0) & (j + dx < w)
        np.testing.assert_array_equal(content, inside)
        assert (out[~inside] == 0).all()
        shifts.add((dy, dx))
    assert shifts == {(a, b) for a in range(-pad, pad + 1) for b in range(-pad, pad + 1)}


def test_pad_random_crop_with_explicit_size():
    img = _coordinate_image(8, 6)
    np.random.seed(1)
    corners = set()
    for _ in range(200):
        out = PadRandomCrop(padding=1, size=(9, 5))(dict(img=img.copy()))
        assert out['img'].shape == (9, 5, 3) and out['img_shape'] == (9, 5)
        padded = np.pad(img, ((1, 1), (1, 1), (0, 0)))
        found = [(t, l) for t in range(2) for l in range(4)
                 if np.array_equal(padded[t:t + 9, l:l + 5], out['img'])]
        assert len(found) == 1  # a window of the padded image
        corners.add(found[0])
    assert corners == {(t, l) for t in range(2) for l in range(4)}


def test_pad_random_crop_zero_padding_is_identity_and_bad_args():
    img = _coordinate_image(5, 4)
    np.testing.assert_array_equal(PadRandomCrop(padding=0)(dict(img=img))['img'], img)
    with pytest.raises(ValueError, match=r'crop size \(8, 4\) exceeds the padded image'):
        PadRandomCrop(padding=1, size=(8, 4))(dict(img=img, img_path='a.jpg'))
    with pytest.raises(ValueError, match='size must be'):
        PadRandomCrop(size=(256, ))
    with pytest.raises(ValueError, match='padding'):
        PadRandomCrop(padding=-1)
    with pytest.raises(ValueError, match='HxWxC numpy array'):
        PadRandomCrop(padding=1)(dict(img=np.zeros((4, 4)), img_path='x.jpg'))
