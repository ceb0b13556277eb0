"""SynergyReID parser on a generated tree with the toolkit's naming (``<pid>_<seq>_<frame>.jpeg``)."""
import os

import pytest

from reidengine.datasets import SynergyReID

SYNERGY_SPEC = {
    'synergyreid/data_reid/reid_training': ['12_3_1.jpeg', '12_3_7.jpeg', '40_5_2.jpeg', '7_1_20.jpeg',
                                            'notes.txt'],
    'synergyreid/data_reid/reid_test/query': ['101_9_1.jpeg', '102_9_1.jpeg'],
    'synergyreid/data_reid/reid_test/gallery': ['101_9_2.jpeg', '101_9_3.jpeg', '102_9_20.jpeg'],
    'synergyreid/data_reid/reid_challenge/query': ['5.jpeg'],
}


def rows(ds, *keys):
    return [tuple(os.path.basename(info['img_path']) if k == 'name' else info[k] for k in keys)
            for info in (ds.get_data_info(i) for i in range(len(ds)))]


def test_train_relabelled_camera_zero(tmp_path, tree_writer):
    tree_writer(tmp_path, SYNERGY_SPEC)
    ds = SynergyReID(data_root=str(tmp_path), split='train')
    # pids 7, 12, 40 -> 0, 1, 2 (sorted); no camera in the names: all camera 0
    assert rows(ds, 'name', 'pid', 'camid') == [('12_3_1.jpeg', 1, 0), ('12_3_7.jpeg', 1, 0),
                                                ('40_5_2.jpeg', 2, 0), ('7_1_20.jpeg', 0, 0)]
    assert (ds.metainfo['num_pids'], ds.metainfo['dataset_name']) == (3, 'synergyreid')


def test_test_split_query_camera_0_gallery_camera_1(tmp_path, tree_writer):
    tree_writer(tmp_path, SYNERGY_SPEC)
    ds = SynergyReID(data_root=str(tmp_path), split='test')
    assert rows(ds, 'name', 'pid', 'camid', 'is_query') == [
        ('101_9_1.jpeg', 101, 0, True), ('102_9_1.jpeg', 102, 0, True),
        ('101_9_2.jpeg', 101, 1, False), ('101_9_3.jpeg', 101, 1, False), ('102_9_20.jpeg', 102, 1, False)]
    assert (ds.metainfo['num_query'], ds.metainfo['num_pids'], ds.metainfo['num_cams']) == (2, 2, 2)


def test_without_the_optional_level(tmp_path, tree_writer):
    tree_writer(tmp_path, {'synergyreid/reid_training': ['1_1_1.jpeg', '2_1_1.jpeg']})
    assert len(SynergyReID(data_root=str(tmp_path), split='train')) == 2


def test_malformed_name_is_named(tmp_path, tree_writer):
    tree_writer(tmp_path, {'synergyreid/reid_training': ['1_1_1.jpeg', 'player_3.jpeg']})
    with pytest.raises(ValueError, match=r"'<pid>_<sequence>_<frame>.jpeg'") as err:
        SynergyReID(data_root=str(tmp_path), split='train')
    assert 'player_3.jpeg' in str(err.value)
    assert len(SynergyReID(data_root=str(tmp_path), split='train', skip_malformed=True)) == 1


def test_missing_dataset_shows_the_layout(tmp_path):
    with pytest.raises(FileNotFoundError) as err:
        SynergyReID(data_root=str(tmp_path), split='test')
    assert 'reid_test/query/' in str(err.value) and str(tmp_path / 'synergyreid' / 'data_reid') in str(err.value)
