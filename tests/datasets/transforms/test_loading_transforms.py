import logging

import cv2
import numpy as np
import pytest
from mmengine.logging import MMLogger

from reidengine.datasets import Market1501
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


# ---------------------------------------------------------------- on_error='skip'
@pytest.fixture
def logged():
    """Messages of the warnings that ``print_log(logger='current')`` emits during the test."""
    logger = MMLogger.get_current_instance()
    records = []
    handler = logging.Handler(level=logging.WARNING)
    handler.emit = records.append
    logger.addHandler(handler)
    yield lambda: [r.getMessage() for r in records]
    logger.removeHandler(handler)


def _broken_files(tmp_path):
    img = np.random.default_rng(2).integers(0, 256, (16, 8, 3), dtype=np.uint8)
    full = cv2.imencode('.png', img)[1].tobytes()
    files = dict(truncated=full[:len(full) // 2], empty=b'', garbage=b'\x89PNG\r\n')
    paths = []
    for name, data in files.items():
        (tmp_path / f'{name}.png').write_bytes(data)
        paths.append(str(tmp_path / f'{name}.png'))
    return paths + [str(tmp_path / 'missing.png')]


@pytest.mark.parametrize('backend', ['cv2', 'pillow'])
def test_skip_returns_none_counts_and_still_loads_good_files(tmp_path, backend, logged):
    load = LoadReIDImage(imdecode_backend=backend, on_error='skip')
    broken = _broken_files(tmp_path)
    for i, path in enumerate(broken, 1):
        assert load(dict(img_path=path, pid=1)) is None
        assert load.num_skipped == i
        assert f'cannot read image {path}' in logged()[-1]
        assert f'{i} skipped so far in this process' in logged()[-1]
    img = np.random.default_rng(3).integers(0, 256, (5, 9, 3), dtype=np.uint8)
    good = _write_png(tmp_path / 'good.png', img)
    out = load(dict(img_path=good))
    np.testing.assert_array_equal(out['img'], img)
    assert load.num_skipped == len(broken) and len(logged()) == len(broken)


def test_warnings_name_the_first_files_then_the_power_of_two_counts(tmp_path, logged):
    load = LoadReIDImage(on_error='skip', warn_first=3)
    paths = [str(tmp_path / f'gone_{n}.png') for n in range(1, 21)]
    for path in paths:
        load(dict(img_path=path))
    expected = [n for n in range(1, 21) if n <= 3 or n in (1, 2, 4, 8, 16)]
    assert len(logged()) == len(expected)
    for msg, n in zip(logged(), expected):
        assert f'cannot read image {paths[n - 1]}' in msg and f'; {n} skipped so far' in msg
    assert load.num_skipped == 20


@pytest.mark.parametrize('is_query', [True, False])
def test_evaluation_items_are_never_skipped(tmp_path, is_query):
    missing = str(tmp_path / 'query_or_gallery.png')
    load = LoadReIDImage(on_error='skip')
    with pytest.raises(IOError, match=f'cannot read image {missing}'):
        load(dict(img_path=missing, is_query=is_query))
    assert load.num_skipped == 0


def _colour_market(root, broken_train=(), broken_query=()):
    """``root/market1501`` with 4 train, 1 query and 1 gallery PNG, each of one colour (i*40)."""
    names = dict(bounding_box_train=['0002_c1s1_000451_03.png', '0002_c2s1_000301_01.png',
                                     '0007_c3s3_075694_02.png', '0011_c6s4_002202_01.png'],
                 query=['0001_c1s1_001051_00.png'], bounding_box_test=['0001_c2s1_000301_02.png'])
    for folder, files in names.items():
        (root / 'market1501' / folder).mkdir(parents=True)
        for i, name in enumerate(files):
            path = root / 'market1501' / folder / name
            if (folder == 'bounding_box_train' and i in broken_train) or \
                    (folder == 'query' and i in broken_query):
                path.write_bytes(b'broken')
            else:
                _write_png(path, np.full((8, 4, 3), 40 * i, dtype=np.uint8))
    return root


def test_training_dataset_draws_another_item_for_a_skipped_file(tmp_path, logged):
    root = _colour_market(tmp_path, broken_train=(1, ))
    load = LoadReIDImage(on_error='skip', warn_first=100)
    ds = Market1501(data_root=str(root), split='train', pipeline=[load])
    broken = ds.get_data_info(1)['img_path']
    np.random.seed(0)
    for _ in range(5):
        out = ds[1]
        assert out['img_path'] != broken
        i = [ds.get_data_info(j)['img_path'] for j in range(4)].index(out['img_path'])
        np.testing.assert_array_equal(out['img'], np.full((8, 4, 3), 40 * i, dtype=np.uint8))
    assert load.num_skipped >= 5 and len(logged()) == load.num_skipped
    assert all(f'cannot read image {broken}' in msg for msg in logged())


def test_training_dataset_gives_up_after_max_refetch(tmp_path):
    root = _colour_market(tmp_path, broken_train=range(4))
    load = LoadReIDImage(on_error='skip')
    ds = Market1501(data_root=str(root), split='train', max_refetch=3, pipeline=[load])
    with pytest.raises(Exception, match='Cannot find valid image after 3'):
        ds[0]
    assert load.num_skipped == 3 + 1  # the first try and 3 refetches


def test_test_split_image_is_an_error_naming_the_file_even_with_skip(tmp_path):
    root = _colour_market(tmp_path, broken_query=(0, ))
    ds = Market1501(data_root=str(root), split='test', pipeline=[LoadReIDImage(on_error='skip')])
    assert ds.test_mode
    broken = ds.get_data_info(0)['img_path']
    with pytest.raises(IOError, match=f'cannot read image {broken}'):
        ds[0]
    np.testing.assert_array_equal(ds[1]['img'], np.zeros((8, 4, 3), dtype=np.uint8))  # gallery


def test_bad_on_error_arguments():
    with pytest.raises(ValueError, match="on_error must be 'raise' or 'skip', got 'ignore'"):
        LoadReIDImage(on_error='ignore')
    with pytest.raises(ValueError, match='warn_first must be an int >= 0, got -1'):
        LoadReIDImage(on_error='skip', warn_first=-1)
