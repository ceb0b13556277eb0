"""CUHK03-NP parser, both subsets, on the CUHK03NP_SPEC tree of conftest.py."""
import os

import pytest

from reidengine.datasets import CUHK03NP


def rows(ds):
    return [(os.path.basename(d['img_path']), d['pid'], d['camid'], d.get('is_query'))
            for d in (ds.get_data_info(i) for i in range(len(ds)))]


def test_detected_subset(cuhk03np_root):
    train = CUHK03NP(data_root=str(cuhk03np_root), split='train')  # detected is the default
    assert rows(train) == [('0001_c1_1.png', 0, 0, None), ('0001_c2_6.png', 0, 1, None), ('0003_c1_2.png', 1, 0, None)]
    assert train.get_data_info(0)['img_path'] == str(cuhk03np_root / 'cuhk03-np/detected/bounding_box_train'
                                                     / '0001_c1_1.png')
    assert (train.metainfo['num_pids'], train.metainfo['num_cams']) == (2, 2)
    assert train.metainfo['dataset_name'] == 'cuhk03np_detected'
    test = CUHK03NP(data_root=str(cuhk03np_root), split='test', subset='detected')
    assert rows(test) == [('0005_c1_1.png', 5, 0, True), ('0005_c2_6.png', 5, 1, False), ('0006_c2_7.png', 6, 1, False)]


def test_labeled_subset(cuhk03np_root):
    train = CUHK03NP(data_root=str(cuhk03np_root), split='train', subset='labeled')
    # pids 1, 2, 3 -> 0, 1, 2
    assert rows(train) == [('0001_c1_1.png', 0, 0, None), ('0002_c2_7.png', 1, 1, None),
                           ('0003_c1_2.png', 2, 0, None), ('0003_c2_8.png', 2, 1, None)]
    test = CUHK03NP(data_root=str(cuhk03np_root), split='test', subset='labeled')
    assert rows(test) == [('0005_c2_6.png', 5, 1, True), ('0006_c1_1.png', 6, 0, True), ('0005_c1_2.png', 5, 0, False)]
    assert test.metainfo['num_query'] == 2 and test.metainfo['dataset_name'] == 'cuhk03np_labeled'


def test_only_two_cameras(tmp_path, tree_writer):
    tree_writer(tmp_path, {'cuhk03-np/detected/bounding_box_train': ['0001_c3_1.png']})
    with pytest.raises(ValueError, match='0001_c3_1.png: camera c3 is outside .*c1..c2'):
        CUHK03NP(data_root=str(tmp_path), split='train')


def test_bad_subset_and_missing_subset_folder(cuhk03np_root, tmp_path, tree_writer):
    with pytest.raises(ValueError, match="subset must be one of \\('detected', 'labeled'\\), got 'both'"):
        CUHK03NP(data_root=str(cuhk03np_root), subset='both')
    only_labeled = tree_writer(tmp_path / 'other', {'cuhk03-np/labeled/bounding_box_train': ['0001_c1_1.png']})
    with pytest.raises(FileNotFoundError) as err:
        CUHK03NP(data_root=str(only_labeled), subset='detected')
    assert str(only_labeled / 'cuhk03-np' / 'detected') in str(err.value)
