"""Own data: one folder per identity, CSV lists, and data without camera ids."""
import os

import pytest
import torch

from reidengine.datasets import DatasetNotFoundError, ReIDCSVList, ReIDIdentityFolders
from reidengine.evaluation.metrics import ReIDMetric


def rows(ds):
    return [(os.path.relpath(d['img_path'], ds.metainfo['dataset_path']), d['pid'], d['camid'],
             d.get('is_query')) for d in (ds.get_data_info(i) for i in range(len(ds)))]


def test_identity_folders_with_cameras(tmp_path, tree_writer):
    tree_writer(tmp_path, {'mine/train/alice': ['a_c1.jpg', 'b_c2.jpg'], 'mine/train/7': ['x_c1.jpg'],
                           'mine/query/bob': ['q_c1.jpg'],
                           'mine/gallery/bob': ['g_c2.jpg'], 'mine/gallery/junk': ['j_c1.jpg'],
                           'mine/gallery/distractors': ['d_c3.jpg']})
    kwargs = dict(data_root=str(tmp_path), dataset_dir='mine', cam_pattern=r'_c(?P<cam>\d+)')
    train = ReIDIdentityFolders(split='train', **kwargs)
    # ids: 7 keeps its number; alice, bob get 8, 9 (sorted names over all splits); relabelled
    assert rows(train) == [('train/7/x_c1.jpg', 0, 0, None), ('train/alice/a_c1.jpg', 1, 0, None),
                           ('train/alice/b_c2.jpg', 1, 1, None)]
    assert train.metainfo['has_cameras'] is True
    test = ReIDIdentityFolders(split='test', **kwargs)
    assert rows(test) == [('query/bob/q_c1.jpg', 9, 0, True), ('gallery/bob/g_c2.jpg', 9, 1, False),
                          ('gallery/distractors/d_c3.jpg', 0, 2, False),
                          ('gallery/junk/j_c1.jpg', -1, 0, False)]
    tree_writer(tmp_path, {'mine/query/bob': ['nocam.jpg']})
    with pytest.raises(ValueError, match='nocam.jpg: no camera id matching'):
        ReIDIdentityFolders(split='query', **kwargs)


def test_identity_folders_without_cameras_and_missing_query(tmp_path, tree_writer):
    tree_writer(tmp_path, {'train/p1': ['1.jpg'], 'gallery/p1': ['2.jpg']})
    train = ReIDIdentityFolders(data_root=str(tmp_path), split='train')
    assert train.metainfo['has_cameras'] is False and rows(train) == [('train/p1/1.jpg', 0, 0, None)]
    with pytest.raises(DatasetNotFoundError, match='query AND gallery'):
        ReIDIdentityFolders(data_root=str(tmp_path), split='test')


def test_csv_lists(tmp_path, tree_writer):
    tree_writer(tmp_path, {'imgs': ['a.jpg', 'b.jpg', 'c.jpg', 'd.jpg']})
    (tmp_path / 'train.csv').write_text('path,pid,camid\nimgs/a.jpg,5,0\nimgs/b.jpg,3,1\n')
    (tmp_path / 'query.csv').write_text('path,pid,camid\nimgs/c.jpg,2,0\n')
    (tmp_path / 'gallery.csv').write_text(f'path,pid,camid\n{tmp_path}/imgs/d.jpg,2,1\n')
    train = ReIDCSVList(data_root=str(tmp_path), split='train')
    assert rows(train) == [('imgs/a.jpg', 1, 0, None), ('imgs/b.jpg', 0, 1, None)]
    test = ReIDCSVList(data_root=str(tmp_path), split='test')
    assert rows(test) == [('imgs/c.jpg', 2, 0, True), ('imgs/d.jpg', 2, 1, False)]
    assert test.metainfo['has_cameras'] is True
    (tmp_path / 'gallery.csv').write_text('path,pid\nimgs/d.jpg,2\n')
    with pytest.raises(ValueError, match='disagree on the camid column'):
        ReIDCSVList(data_root=str(tmp_path), split='test')
    (tmp_path / 'query.csv').write_text('path,pid\nimgs/c.jpg,two\n')
    with pytest.raises(ValueError, match=r'query.csv:2'):
        ReIDCSVList(data_root=str(tmp_path), split='query')
    (tmp_path / 'query.csv').write_text('file,id\nimgs/c.jpg,2\n')
    with pytest.raises(ValueError, match='header'):
        ReIDCSVList(data_root=str(tmp_path), split='query')
    (tmp_path / 'query.csv').write_text('path,pid\nimgs/missing.jpg,2\n')
    with pytest.raises(DatasetNotFoundError, match='missing.jpg'):
        ReIDCSVList(data_root=str(tmp_path), split='query')


def metric_on(feats, pids, camids, is_query, meta, **kwargs):
    metric = ReIDMetric(**kwargs)
    metric.dataset_meta = meta
    results = [dict(feature=f, pid=p, camid=c, is_query=q)
               for f, p, c, q in zip(feats, pids, camids, is_query)]
    return metric.compute_metrics(results)


def test_without_cameras_the_same_camera_filter_is_off():
    # one query, its true match is the nearest gallery item, all on "camera 0"
    feats = torch.tensor([[1.0, 0], [0.9, 0.1], [0, 1.0]])
    pids, camids, is_query = [1, 1, 2], [0, 0, 0], [True, False, False]
    off = metric_on(feats, pids, camids, is_query, dict(has_cameras=False), metric='cosine')
    assert off['mAP'] == pytest.approx(1.0) and off['R1'] == pytest.approx(1.0)
    # with cameras, the only true match shares the query's camera: nothing can be evaluated
    with pytest.raises(ValueError, match='no query has a positive'):
        metric_on(feats, pids, camids, is_query, dict(has_cameras=True), metric='cosine')
    with pytest.raises(ValueError, match='needs camera ids'):
        metric_on(feats, pids, camids, is_query, dict(has_cameras=False), metric='cosine',
                  cuhk03_single_gallery_shot=True)
