"""MSMT17 parser: V1 and V2 list files, version detection, the folder-only copy; trees from conftest.py."""
import os

import pytest

from reidengine.datasets import MSMT17


def rows(ds):
    return [(os.path.basename(d['img_path']), d['pid'], d['camid'], d.get('is_query'))
            for d in (ds.get_data_info(i) for i in range(len(ds)))]


# expected from MSMT17_LISTS: the camera is the third field of the image name, minus one
TRAIN_WITH_VAL = [('0000_000_01_0303morning_0015_0.jpg', 0, 0, None), ('0000_001_05_0303noon_0200_1.jpg', 0, 4, None),
                  ('0003_000_15_0303afternoon_0100_0.jpg', 2, 14, None),
                  ('0001_002_07_0304morning_0300_0.jpg', 1, 6, None)]  # list_val last; pids 0, 1, 3 -> 0, 1, 2
TEST = [('0000_000_02_0113morning_0010_0.jpg', 0, 1, True), ('0000_003_10_0113noon_0500_0.jpg', 0, 9, False),
        ('0002_000_03_0113afternoon_0020_1.jpg', 2, 2, False)]


@pytest.mark.parametrize('version, train_dir, test_dir', [('v1', 'train', 'test'),
                                                          ('v2', 'mask_train_v2', 'mask_test_v2')])
@pytest.mark.parametrize('given', [True, False])
def test_list_files_of_both_versions(tmp_path, msmt17_writer, version, train_dir, test_dir, given):
    folder = msmt17_writer(tmp_path, version)
    kwargs = dict(version=version) if given else {}
    train = MSMT17(data_root=str(tmp_path), split='train', **kwargs)
    assert rows(train) == TRAIN_WITH_VAL
    assert train.get_data_info(0)['img_path'] == str(folder / train_dir / '0000/0000_000_01_0303morning_0015_0.jpg')
    meta = train.metainfo
    assert (meta['num_pids'], meta['num_cams'], meta['version'], meta['layout']) == (3, 15, version, 'lists')
    test = MSMT17(data_root=str(tmp_path), split='test', **kwargs)
    assert rows(test) == TEST
    assert test.get_data_info(0)['img_path'] == str(folder / test_dir / '0000/0000_000_02_0113morning_0010_0.jpg')
    # pid 0 is a real MSMT17 person: ids 0 and 2
    assert (test.metainfo['num_query'], test.metainfo['num_pids']) == (1, 2)


def test_train_without_val_list(tmp_path, msmt17_writer):
    msmt17_writer(tmp_path, 'v1')
    train = MSMT17(data_root=str(tmp_path), split='train', include_val=False)
    # pids 0, 3 -> 0, 1
    assert rows(train) == [('0000_000_01_0303morning_0015_0.jpg', 0, 0, None),
                           ('0000_001_05_0303noon_0200_1.jpg', 0, 4, None),
                           ('0003_000_15_0303afternoon_0100_0.jpg', 1, 14, None)]
    assert train.metainfo['num_pids'] == 2


def test_dataset_dir_pointing_at_the_version_folder(tmp_path, msmt17_writer):
    msmt17_writer(tmp_path, 'v2', base='')
    ds = MSMT17(data_root=str(tmp_path), dataset_dir='MSMT17_V2', split='query')
    assert rows(ds) == TEST[:1] and ds.metainfo['version'] == 'v2'


def test_both_versions_present_needs_a_choice(tmp_path, msmt17_writer):
    msmt17_writer(tmp_path, 'v1')
    msmt17_writer(tmp_path, 'v2')
    with pytest.raises(ValueError, match="found both versions.*version='v1' or version='v2'"):
        MSMT17(data_root=str(tmp_path), split='train')
    assert MSMT17(data_root=str(tmp_path), split='train', version='v2').metainfo['version'] == 'v2'


def test_folder_only_copy(tmp_path, tree_writer):
    tree_writer(tmp_path, {
        'msmt17/MSMT17_V2/bounding_box_train': ['0007_000_03_0303morning_0015_0.jpg', '0002_c12_0001.jpg'],
        'msmt17/MSMT17_V2/query': ['0000_000_02_0113morning_0010_0.jpg'],
        'msmt17/MSMT17_V2/bounding_box_test': ['0000_001_04_0113noon_0500_0.jpg'],
    })
    train = MSMT17(data_root=str(tmp_path), split='train')
    # sorted names; pids 2, 7 -> 0, 1; Market-style 'c12' and official third field '03' both give the camera
    assert rows(train) == [('0002_c12_0001.jpg', 0, 11, None), ('0007_000_03_0303morning_0015_0.jpg', 1, 2, None)]
    assert (train.metainfo['layout'], train.metainfo['version']) == ('folders', 'v2')
    test = MSMT17(data_root=str(tmp_path), split='test')
    assert rows(test) == [('0000_000_02_0113morning_0010_0.jpg', 0, 1, True),
                          ('0000_001_04_0113noon_0500_0.jpg', 0, 3, False)]


@pytest.mark.parametrize('line', ['0000/0000_000_01_0303morning_0015_0.jpg', '0000/badname.jpg 0',
                                  '0000/0000_000_01_0303morning_0015_0.jpg zero'])
def test_malformed_list_line_names_file_and_line(tmp_path, msmt17_writer, line):
    folder = msmt17_writer(tmp_path, 'v1')
    with open(folder / 'list_train.txt', 'a') as f:
        f.write(line + '\n')
    with pytest.raises(ValueError) as err:
        MSMT17(data_root=str(tmp_path), split='train')
    assert f'{folder / "list_train.txt"}, line 4' in str(err.value)
    assert '<pid folder>/<image name> <pid>' in str(err.value)
    ds = MSMT17(data_root=str(tmp_path), split='train', skip_malformed=True)
    assert len(ds) == 4


def test_camera_sixteen_is_rejected(tmp_path, msmt17_writer, tree_writer):
    folder = msmt17_writer(tmp_path, 'v1')
    tree_writer(folder / 'test', {'0002': ['0002_000_16_0113afternoon_0020_1.jpg']})
    (folder / 'list_gallery.txt').write_text('0002/0002_000_16_0113afternoon_0020_1.jpg 2\n')
    with pytest.raises(ValueError, match='0002_000_16_0113afternoon_0020_1.jpg: camera c16 is outside .*c1..c15'):
        MSMT17(data_root=str(tmp_path), split='gallery')


def test_missing_list_file(tmp_path, msmt17_writer):
    folder = msmt17_writer(tmp_path, 'v1')
    (folder / 'list_gallery.txt').unlink()
    with pytest.raises(FileNotFoundError, match='list file list_gallery.txt not found') as err:
        MSMT17(data_root=str(tmp_path), split='test')
    assert str(folder / 'list_gallery.txt') in str(err.value)


def test_empty_list_file(tmp_path, msmt17_writer):
    folder = msmt17_writer(tmp_path, 'v1')
    (folder / 'list_query.txt').write_text('\n')
    with pytest.raises(ValueError, match='query split is empty') as err:
        MSMT17(data_root=str(tmp_path), split='query')
    assert str(folder / 'list_query.txt') in str(err.value)


def test_list_not_matching_image_folder(tmp_path, msmt17_writer):
    folder = msmt17_writer(tmp_path, 'v1')
    (folder / 'list_query.txt').write_text('0099/0099_000_02_0113morning_0010_0.jpg 99\n')
    with pytest.raises(FileNotFoundError) as err:
        MSMT17(data_root=str(tmp_path), split='query')
    assert str(folder / 'test' / '0099/0099_000_02_0113morning_0010_0.jpg') in str(err.value)


def test_missing_dataset_and_bad_version(tmp_path):
    with pytest.raises(FileNotFoundError) as err:
        MSMT17(data_root=str(tmp_path), split='train', version='v2')
    assert str(tmp_path / 'msmt17' / 'MSMT17_V2') in str(err.value) and 'list_train.txt' in str(err.value)
    with pytest.raises(ValueError, match="version must be 'v1', 'v2' or None"):
        MSMT17(data_root=str(tmp_path), version='V3')
