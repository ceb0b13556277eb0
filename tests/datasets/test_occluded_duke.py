"""Occluded-Duke parser on the OCC_DUKE_SPEC tree of conftest.py."""
import os

import pytest

from reidengine.datasets import OccludedDuke


def rows(ds):
    return [(os.path.basename(d['img_path']), d['pid'], d['camid'], d.get('is_query'))
            for d in (ds.get_data_info(i) for i in range(len(ds)))]


def test_train_and_test_splits(occluded_duke_root):
    train = OccludedDuke(data_root=str(occluded_duke_root), split='train')
    # pids 2, 4 -> 0, 1
    assert rows(train) == [('0002_c1_f0000001.jpg', 0, 0, None), ('0004_c3_f0000003.jpg', 1, 2, None),
                           ('0004_c8_f0000002.jpg', 1, 7, None)]
    test = OccludedDuke(data_root=str(occluded_duke_root), split='test')
    assert rows(test) == [('0010_c2_f0000004.jpg', 10, 1, True), ('0011_c5_f0000005.jpg', 11, 4, True),
                          ('0010_c6_f0000006.jpg', 10, 5, False), ('0011_c1_f0000007.jpg', 11, 0, False),
                          ('0015_c4_f0000008.jpg', 15, 3, False)]
    assert (test.metainfo['num_query'], test.metainfo['num_pids'], test.metainfo['num_cams']) == (2, 3, 8)
    assert test.metainfo['dataset_name'] == 'occluded_duke'


def test_missing_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match='Occluded_Duke'):
        OccludedDuke(data_root=str(tmp_path), split='test')
