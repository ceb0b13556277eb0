"""MultiSourceDataset: Market + Duke + CUHK03-NP (detected) train splits of conftest.py combined.

Per source (see the single-dataset tests): Market pids [0,0,1,2,2] cams [0,1,2,4,5] of 6 cameras;
Duke pids [0,0,1,2] cams [1,4,7,0] of 8; CUHK03-NP pids [0,0,1] cams [0,1,0] of 2.
"""
import numpy as np
import pytest

from reidengine.datasets import CUHK03NP, Market1501, MultiSourceDataset
from reidengine.registry import DATASETS

SOURCES = [dict(type='Market1501', pipeline=[dict(type='SomeTransform')]), dict(type='DukeMTMCreID', split='train'),
           dict(type='CUHK03NP', subset='detected', domain=7)]


def columns(ds, key):
    return [ds.get_data_info(i)[key] for i in range(len(ds))]


def test_disjoint_pids_camera_offsets_and_domains(all_datasets_root):
    ds = DATASETS.build(dict(type='MultiSourceDataset', datasets=SOURCES, data_root=str(all_datasets_root)))
    assert columns(ds, 'pid') == [0, 0, 1, 2, 2] + [3, 3, 4, 5] + [6, 6, 7]
    assert columns(ds, 'camid') == [0, 1, 2, 4, 5] + [7, 10, 13, 6] + [14, 15, 14]
    assert columns(ds, 'domain') == [0] * 5 + [1] * 4 + [2] * 3
    assert columns(ds, 'img_path')[5] == str(all_datasets_root / 'dukemtmc-reid/DukeMTMC-reID/bounding_box_train'
                                             / '0001_c2_f0046182.jpg')
    np.testing.assert_array_equal(ds.get_pids(), columns(ds, 'pid'))
    np.testing.assert_array_equal(ds.get_domains(), columns(ds, 'domain'))
    meta = ds.metainfo
    assert (meta['num_pids'], meta['num_cams'], meta['num_domains']) == (8, 16, 3)
    assert meta['pid_ranges'] == [(0, 3), (3, 6), (6, 8)]
    assert meta['cam_ranges'] == [(0, 6), (6, 14), (14, 16)]
    assert meta['dataset_names'] == ['market1501', 'dukemtmc', 'cuhk03np_detected']
    assert meta['dataset_name'] == 'market1501+dukemtmc+cuhk03np_detected'


def test_built_datasets_and_pipeline_on_combined_items(cuhk03np_root, market_root):
    sources = [CUHK03NP(data_root=str(cuhk03np_root), subset='labeled'), Market1501(data_root=str(market_root))]
    seen = []
    ds = MultiSourceDataset(sources, pipeline=[lambda r: seen.append(r) or r])
    # CUHK03-NP labeled: pids [0,1,2,2], 3 ids, cameras [0,1,0,1] of 2; then Market shifted by 3 ids / 2 cameras
    assert columns(ds, 'pid') == [0, 1, 2, 2, 3, 3, 4, 5, 5]
    assert columns(ds, 'camid') == [0, 1, 0, 1, 2, 3, 4, 6, 7]
    out = ds[6]
    assert (out['pid'], out['camid'], out['domain'], out['sample_idx']) == (4, 4, 1, 6)
    assert seen == [out]


def test_errors(all_datasets_root):
    with pytest.raises(ValueError, match='`datasets` is empty'):
        MultiSourceDataset([])
    with pytest.raises(ValueError, match="source 1 \\(DukeMTMCreID\\) has split='test'"):
        MultiSourceDataset([dict(type='Market1501'), dict(type='DukeMTMCreID', split='test')],
                           data_root=str(all_datasets_root))
    query = Market1501(data_root=str(all_datasets_root), split='query')
    with pytest.raises(ValueError, match="source 0 \\(Market1501\\) has split='query'"):
        MultiSourceDataset([query])
    with pytest.raises(TypeError, match='source 0 is a list'):
        MultiSourceDataset([[1, 2]])


def test_sources_whose_data_root_is_none_get_the_wrappers_root(all_datasets_root):
    # the dataset base configs write data_root=None into every dataset dict
    sources = [dict(s, data_root=None) for s in SOURCES]
    ds = DATASETS.build(dict(type='MultiSourceDataset', datasets=sources,
                             data_root=str(all_datasets_root)))
    assert ds.metainfo['num_pids'] == 8
    assert columns(ds, 'img_path')[0].startswith(str(all_datasets_root))
