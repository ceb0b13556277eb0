import cv2
import numpy as np
import pytest

from reidengine.datasets.transforms import LoadReIDImage


def _write_png(path, img):
    assert cv2.imwrite(str(path), img)
    return str(path)


@pytest.mark.parametrize('backend', ['cv2', 'pillow'])
def test_loads_bgr_uint8_exactly(tmp_path, backend):
    img = np.random.default_rng(0).integers(0, 256, (13, 7, 3), dtype=np.uint8)
    path = _write_png(tmp_path / 'a.png', img)  # PNG is lossless: pixels come back exactly
    out = LoadReIDImage(imdecode_backend=backend)(dict(img_path=path, pid=3))
    assert out['img'].dtype == np.uint8 and out['img'].flags['C_CONTIGUOUS']
    np.testing.assert_array_equal(out['img'], img)  # BGR order, as cv2.imwrite took it
    assert out['img_shape'] == (13, 7) and out['ori_shape'] == (13, 7)
    assert out['pid'] == 3


@pytest.mark.parametrize('backend', ['cv2', 'pillow'])
@pytest.mark.parametrize('ext', ['png', 'jpg'])
def test_truncated_file_error_names_the_path(tmp_path, backend, ext):
    img = np.random.default_rng(1).integers(0, 256, (64, 32, 3), dtype=np.uint8)
    full = tmp_path / f'full.{ext}'
    assert cv2.imwrite(str(full), img)
    data = full.read_bytes()
    cut = tmp_path / f'cut.{ext}'
    cut.write_bytes(data[:len(data) - 40])
    with pytest.raises(IOError, match=f'cannot read image {cut}'):
        LoadReIDImage(imdecode_backend=backend)(dict(img_path=str(cut)))


def test_missing_and_garbage_files(tmp_path):
    missing = str(tmp_path / 'nope.jpg')
    with pytest.raises(IOError, match=f'cannot read image {missing}'):
        LoadReIDImage()(dict(img_path=missing))
    garbage = tmp_path / 'garbage.jpg'
    garbage.write_bytes(b'not an image at all')
    with pytest.raises(IOError, match=f'cannot read image {garbage}'):
        LoadReIDImage()(dict(img_path=str(garbage)))
    empty = tmp_path / 'empty.jpg'
    empty.write_bytes(b'')
    with pytest.raises(IOError, match=f'cannot read image {empty}'):
        LoadReIDImage(imdecode_backend='pillow')(dict(img_path=str(empty)))


def test_bad_arguments():
    with pytest.raises(KeyError, match='img_path'):
        LoadReIDImage()(dict(pid=1))
    with pytest.raises(ValueError, match='imdecode_backend'):
        LoadReIDImage(imdecode_backend='turbojpeg')
