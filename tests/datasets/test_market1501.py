"""Market-1501 parser and the split protocol of BaseReIDDataset, on the MARKET_SPEC tree of conftest.py."""
import os

import numpy as np
import pytest

from reidengine.datasets import DatasetNotFoundError, Market1501
from reidengine.registry import DATASETS

TRAIN = 'market1501/Market-1501-v15.09.15/bounding_box_train'
QUERY = 'market1501/Market-1501-v15.09.15/query'
GALLERY = 'market1501/Market-1501-v15.09.15/bounding_box_test'


def items(dataset):
    return [dataset.get_data_info(i) for i in range(len(dataset))]


def test_train_split_relabels_sorted_pids_and_zero_based_cameras(market_root):
    ds = Market1501(data_root=str(market_root), split='train', domain=3)
    got = [(os.path.basename(it['img_path']), it['pid'], it['camid'], it['domain']) for it in items(ds)]
    # original pids 2, 7, 11 -> 0, 1, 2; camera cN -> N-1; Thumbs.db ignored
    assert got == [('0002_c1s1_000451_03.jpg', 0, 0, 3), ('0002_c2s1_000301_01.jpg', 0, 1, 3),
                   ('0007_c3s3_075694_02.jpg', 1, 2, 3), ('0011_c5s1_000001_00.jpg', 2, 4, 3),
                   ('0011_c6s4_002202_01.jpg', 2, 5, 3)]
    assert all('is_query' not in it for it in items(ds))
    assert items(ds)[0]['img_path'] == str(market_root / TRAIN / '0002_c1s1_000451_03.jpg')
    meta = ds.metainfo
    assert (meta['num_pids'], meta['num_cams'], meta['dataset_name'], meta['split']) == (3, 6, 'market1501', 'train')
    assert 'num_query' not in meta
    np.testing.assert_array_equal(ds.get_pids(), [0, 0, 1, 2, 2])
    np.testing.assert_array_equal(ds.get_domains(), [3] * 5)
    assert not ds.test_mode


def test_test_split_is_query_then_gallery_with_raw_pids_junk_and_distractors(market_root):
    ds = Market1501(data_root=str(market_root), split='test')
    got = [(os.path.basename(it['img_path']), it['pid'], it['camid'], it['is_query']) for it in items(ds)]
    assert got == [('0001_c1s1_001051_00.jpg', 1, 0, True), ('0003_c4s6_015641_00.jpg', 3, 3, True),
                   ('-1_c1s1_000401_07.jpg', -1, 0, False), ('0000_c3s2_000211_05.jpg', 0, 2, False),
                   ('0001_c1s1_001051_03.jpg', 1, 0, False), ('0001_c2s1_000301_02.jpg', 1, 1, False),
                   ('0003_c1s1_000976_01.jpg', 3, 0, False)]
    meta = ds.metainfo
    # ids 1 and 3; junk (-1) and distractor (0) not counted
    assert (meta['num_query'], meta['num_pids'], meta['num_cams']) == (2, 2, 6)
    assert ds.test_mode


def test_query_and_gallery_splits(market_root):
    query = Market1501(data_root=str(market_root), split='query')
    gallery = Market1501(data_root=str(market_root), split='gallery')
    assert [it['pid'] for it in items(query)] == [1, 3]
    assert all(it['is_query'] for it in items(query))
    assert query.metainfo['num_query'] == 2
    assert [it['pid'] for it in items(gallery)] == [-1, 0, 1, 1, 3]
    assert not any(it['is_query'] for it in items(gallery))
    assert gallery.metainfo['num_query'] == 0


def test_junk_and_distractors_are_dropped_from_train_and_query(tmp_path, tree_writer):
    tree_writer(tmp_path, {
        'market1501/bounding_box_train':
        ['-1_c1s1_000001_00.jpg', '0000_c1s1_000002_00.jpg', '0005_c2s1_000003_00.jpg'],
        'market1501/query': ['0000_c1s1_000004_00.jpg', '0009_c1s1_000005_00.jpg'],
        'market1501/bounding_box_test': ['0009_c2s1_000006_00.jpg'],
    })
    train = Market1501(data_root=str(tmp_path), split='train')
    assert [(os.path.basename(it['img_path']), it['pid']) for it in items(train)] == [('0005_c2s1_000003_00.jpg', 0)]
    query = Market1501(data_root=str(tmp_path), split='query')
    assert [it['pid'] for it in items(query)] == [9]


def test_folder_without_version_level_and_dataset_dir_override(tmp_path, tree_writer):
    spec = {'market1501/bounding_box_train': ['0002_c1s1_000451_03.jpg'], 'market1501/query': [],
            'market1501/bounding_box_test': []}
    tree_writer(tmp_path, spec)
    assert len(Market1501(data_root=str(tmp_path), split='train')) == 1
    tree_writer(tmp_path, {'Market-1501-v15.09.15/bounding_box_train': ['0004_c2s1_000451_03.jpg'] * 1})
    ds = Market1501(data_root=str(tmp_path), dataset_dir='Market-1501-v15.09.15', split='train')
    assert ds.get_data_info(0)['img_path'] == str(tmp_path / 'Market-1501-v15.09.15/bounding_box_train'
                                                  / '0004_c2s1_000451_03.jpg')


def test_data_root_from_environment_and_registry_build(market_root, monkeypatch):
    monkeypatch.setenv('REID_DATA_ROOT', str(market_root))
    ds = DATASETS.build(dict(type='Market1501', split='train'))
    assert isinstance(ds, Market1501) and len(ds) == 5


def test_indices_subset_keeps_pid_cache_consistent(market_root):
    ds = Market1501(data_root=str(market_root), split='train', indices=[1, 3])
    np.testing.assert_array_equal(ds.get_pids(), [0, 2])
    full = Market1501(data_root=str(market_root), split='train')
    np.testing.assert_array_equal(full.get_pids(), [0, 0, 1, 2, 2])
    sub = full.get_subset([4, 2])
    np.testing.assert_array_equal(sub.get_pids(), [2, 1])
    full.get_subset_([0])
    np.testing.assert_array_equal(full.get_pids(), [0])


def test_missing_dataset_error_names_paths_layout_env_var_and_demo(tmp_path, monkeypatch):
    monkeypatch.delenv('REID_DATA_ROOT', raising=False)
    with pytest.raises(DatasetNotFoundError) as err:
        Market1501(data_root=str(tmp_path / 'nowhere'), split='train')
    msg = str(err.value)
    assert str(tmp_path / 'nowhere' / 'market1501' / 'Market-1501-v15.09.15') in msg
    assert str(tmp_path / 'nowhere' / 'market1501') in msg
    assert 'bounding_box_train' in msg and 'REID_DATA_ROOT' in msg
    assert 'configs/demo' in msg and 'SynthReID' in msg


def test_missing_split_folder_error_names_it(tmp_path, tree_writer):
    tree_writer(tmp_path, {'market1501/bounding_box_train': ['0002_c1s1_000451_03.jpg']})
    with pytest.raises(DatasetNotFoundError, match='query folder not found') as err:
        Market1501(data_root=str(tmp_path), split='test')
    assert str(tmp_path / 'market1501' / 'query') in str(err.value)


def test_malformed_name_raises_or_is_skipped(tmp_path, tree_writer):
    tree_writer(tmp_path, {'market1501/bounding_box_train': ['0002_c1s1_000451_03.jpg', 'person7_cam1.jpg']})
    with pytest.raises(ValueError) as err:
        Market1501(data_root=str(tmp_path), split='train')
    msg = str(err.value)
    assert str(tmp_path / 'market1501/bounding_box_train/person7_cam1.jpg') in msg
    assert '<pid>_c<cam>s<seq>_<frame>_<box>.jpg' in msg and 'skip_malformed' in msg
    ds = Market1501(data_root=str(tmp_path), split='train', skip_malformed=True)
    assert [os.path.basename(it['img_path']) for it in items(ds)] == ['0002_c1s1_000451_03.jpg']


def test_empty_split_raises_naming_the_folder(tmp_path, tree_writer):
    tree_writer(tmp_path, {'market1501/bounding_box_train': ['readme.txt']})
    with pytest.raises(ValueError, match='train split is empty') as err:
        Market1501(data_root=str(tmp_path), split='train')
    assert str(tmp_path / 'market1501' / 'bounding_box_train') in str(err.value)


def test_only_junk_split_raises(tmp_path, tree_writer):
    tree_writer(tmp_path, {'market1501/bounding_box_train': ['-1_c1s1_000451_03.jpg']})
    with pytest.raises(ValueError, match='no usable images'):
        Market1501(data_root=str(tmp_path), split='train')


@pytest.mark.parametrize('name, cam', [('0002_c7s1_000451_03.jpg', 'c7'), ('0002_c0s1_000451_03.jpg', 'c0')])
def test_camera_outside_known_range_raises(tmp_path, tree_writer, name, cam):
    tree_writer(tmp_path, {'market1501/bounding_box_train': [name]})
    with pytest.raises(ValueError, match=f'camera {cam} is outside') as err:
        Market1501(data_root=str(tmp_path), split='train')
    assert name in str(err.value) and 'c1..c6' in str(err.value)


@pytest.mark.parametrize('kwargs, match', [(dict(split='val'), 'split must be one of'),
                                           (dict(domain=-1), 'domain must be')])
def test_bad_arguments(market_root, kwargs, match):
    with pytest.raises(ValueError, match=match):
        Market1501(data_root=str(market_root), **kwargs)
