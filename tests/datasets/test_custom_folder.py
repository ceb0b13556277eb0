"""CustomReIDFolder: configurable split folders and naming pattern."""
import os

import pytest

from reidengine.datasets import CustomReIDFolder


def rows(ds):
    return [(os.path.basename(d['img_path']), d['pid'], d['camid'], d.get('is_query'))
            for d in (ds.get_data_info(i) for i in range(len(ds)))]


def test_market_style_names_in_custom_folders(tmp_path, tree_writer):
    tree_writer(tmp_path, {'shop/train': ['0010_c1_a.jpg', '0030_c4_b.png', '0020_c2_c.jpg'],
                           'shop/probe': ['0100_c1_a.jpg'],
                           'shop/gallery': ['0100_c3_b.jpg', '0000_c2_c.jpg', '-1_c1_d.jpg']})
    kwargs = dict(data_root=str(tmp_path), dataset_dir='shop', train_dir='train', query_dir='probe',
                  gallery_dir='gallery')
    train = CustomReIDFolder(split='train', **kwargs)
    # pids 10, 20, 30 -> 0, 1, 2; cameras not declared: num_cams = largest camera id (c4)
    assert rows(train) == [('0010_c1_a.jpg', 0, 0, None), ('0020_c2_c.jpg', 1, 1, None),
                           ('0030_c4_b.png', 2, 3, None)]
    assert (train.metainfo['num_pids'], train.metainfo['num_cams'], train.metainfo['dataset_name']) == (3, 4, 'custom')
    test = CustomReIDFolder(split='test', **kwargs)
    assert rows(test) == [('0100_c1_a.jpg', 100, 0, True), ('-1_c1_d.jpg', -1, 0, False),
                          ('0000_c2_c.jpg', 0, 1, False), ('0100_c3_b.jpg', 100, 2, False)]
    assert (test.metainfo['num_query'], test.metainfo['num_pids'], test.metainfo['num_cams']) == (1, 1, 3)


def test_custom_pattern_camera_count_and_data_root_as_dataset_folder(tmp_path, tree_writer):
    tree_writer(tmp_path, {'bounding_box_train': ['id7-cam2.jpg', 'id3-cam1.jpg'], 'query': [],
                           'bounding_box_test': []})
    ds = CustomReIDFolder(data_root=str(tmp_path), name_pattern=r'^id(?P<pid>\d+)-cam(?P<cam>\d+)',
                          num_cameras=2, dataset_name='lab')
    assert rows(ds) == [('id3-cam1.jpg', 0, 0, None), ('id7-cam2.jpg', 1, 1, None)]
    assert (ds.metainfo['num_cams'], ds.metainfo['dataset_name']) == (2, 'lab')
    tree_writer(tmp_path, {'bounding_box_train': ['id9-cam3.jpg']})
    with pytest.raises(ValueError, match='id9-cam3.jpg: camera c3 is outside the cameras of lab \\(c1..c2\\)'):
        CustomReIDFolder(data_root=str(tmp_path), name_pattern=r'^id(?P<pid>\d+)-cam(?P<cam>\d+)', num_cameras=2,
                         dataset_name='lab')


def test_malformed_name_mentions_the_pattern(tmp_path, tree_writer):
    tree_writer(tmp_path, {'bounding_box_train': ['0001_c1_a.jpg', 'img_0001.jpg']})
    with pytest.raises(ValueError) as err:
        CustomReIDFolder(data_root=str(tmp_path))
    assert str(tmp_path / 'bounding_box_train' / 'img_0001.jpg') in str(err.value)
    assert "^(?P<pid>-1|\\d+)_c(?P<cam>\\d+)" in str(err.value)


def test_missing_folder_shows_configured_layout(tmp_path):
    with pytest.raises(FileNotFoundError) as err:
        CustomReIDFolder(data_root=str(tmp_path), dataset_dir='shop', train_dir='train')
    assert str(tmp_path / 'shop') in str(err.value) and 'train/' in str(err.value)


@pytest.mark.parametrize('kwargs, match', [(dict(name_pattern=r'^(\d+)_c(\d+)'), 'lacks the named group'),
                                           (dict(name_pattern=r'^(?P<pid>\d+'), 'not a valid regular expression'),
                                           (dict(num_cameras=0), 'num_cameras must be')])
def test_bad_arguments(tmp_path, kwargs, match):
    with pytest.raises(ValueError, match=match):
        CustomReIDFolder(data_root=str(tmp_path), **kwargs)
