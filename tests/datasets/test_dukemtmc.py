"""DukeMTMC-reID parser on the DUKE_SPEC tree of conftest.py."""
import os

import pytest

from reidengine.datasets import DukeMTMCreID


def rows(ds, *keys):
    return [tuple(os.path.basename(info['img_path']) if k == 'name' else info[k] for k in keys)
            for info in (ds.get_data_info(i) for i in range(len(ds)))]


def test_train_relabel_and_cameras(duke_root):
    ds = DukeMTMCreID(data_root=str(duke_root), split='train')
    # pids 1, 5, 8 -> 0, 1, 2; cameras c1..c8 -> 0..7
    assert rows(ds, 'name', 'pid', 'camid') == [('0001_c2_f0046182.jpg', 0, 1), ('0001_c5_f0051781.jpg', 0, 4),
                                                ('0005_c8_f0000123.jpg', 1, 7), ('0008_c1_f0012345.jpg', 2, 0)]
    assert (ds.metainfo['num_pids'], ds.metainfo['num_cams'], ds.metainfo['dataset_name']) == (3, 8, 'dukemtmc')


def test_test_split(duke_root):
    ds = DukeMTMCreID(data_root=str(duke_root), split='test')
    assert rows(ds, 'name', 'pid', 'camid', 'is_query') == [
        ('0012_c3_f0000200.jpg', 12, 2, True), ('0012_c4_f0000300.jpg', 12, 3, False),
        ('0013_c7_f0000400.jpg', 13, 6, False)]
    assert (ds.metainfo['num_query'], ds.metainfo['num_pids']) == (1, 2)


def test_duke_has_no_junk_ids(tmp_path, tree_writer):
    tree_writer(tmp_path, {'dukemtmc-reid/bounding_box_train': ['-1_c2_f0046182.jpg']})
    with pytest.raises(ValueError, match=r"'<pid>_c<cam>_f<frame>.jpg'") as err:
        DukeMTMCreID(data_root=str(tmp_path), split='train')
    assert '-1_c2_f0046182.jpg' in str(err.value)


def test_camera_nine_is_rejected(tmp_path, tree_writer):
    tree_writer(tmp_path, {'dukemtmc-reid/DukeMTMC-reID/bounding_box_train': ['0001_c9_f0046182.jpg']})
    with pytest.raises(ValueError, match='camera c9 is outside the cameras of dukemtmc \\(c1..c8\\)'):
        DukeMTMCreID(data_root=str(tmp_path), split='train')


def test_missing_dataset_names_both_candidates(tmp_path):
    with pytest.raises(FileNotFoundError) as err:
        DukeMTMCreID(data_root=str(tmp_path), split='train')
    assert str(tmp_path / 'dukemtmc-reid' / 'DukeMTMC-reID') in str(err.value)
    assert 'REID_DATA_ROOT' in str(err.value)
