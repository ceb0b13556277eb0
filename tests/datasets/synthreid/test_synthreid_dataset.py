"""SynthReID dataset: generated on first use and read back by the Market-1501 parser."""
import json

import pytest

from reidengine.datasets import Market1501
from reidengine.datasets.synthreid import SynthReID, dataset_dirname, synthreid_params
from reidengine.registry import DATASETS

GEN = dict(num_train_ids=3, num_test_ids=2, num_cams=3, imgs_per_id_cam=2, img_size=(64, 32), num_distractors=1,
           num_junk=1, family_size=(2, 2), render_scale=1, progress=False)


def folder(style, gen=GEN):
    return dataset_dirname(style, synthreid_params(style, **{k: v for k, v in gen.items() if k != 'progress'}))


def test_built_from_config_generates_then_parses(tmp_path):
    train = DATASETS.build(dict(type='SynthReID', data_root=str(tmp_path), style='C', gen_cfg=GEN, domain=2))
    assert isinstance(train, Market1501)
    assert folder('C').startswith('synthreid_C-')  # not the default parameters: a folder of their own
    assert (tmp_path / folder('C') / 'meta.json').is_file()
    # pids 4001..4003 (style C) relabelled to 0..2; 3 ids x 3 cams x 2 images; cameras 0-based
    assert len(train) == 18
    assert sorted(set(train.get_pids())) == [0, 1, 2]
    items = [train.get_data_info(i) for i in range(len(train))]
    assert sorted({it['camid'] for it in items}) == [0, 1, 2]
    assert all(it['domain'] == 2 for it in items)
    assert train.metainfo['num_pids'] == 3 and train.metainfo['num_cams'] == 3
    assert train.metainfo['dataset_name'] == 'synthreid_C'

    test = SynthReID(data_root=str(tmp_path), style='C', gen_cfg=GEN, split='test')
    items = [test.get_data_info(i) for i in range(len(test))]
    query = [it for it in items if it['is_query']]
    gallery = [it for it in items if not it['is_query']]
    assert test.metainfo['num_query'] == len(query) == 6  # one per test id per camera
    assert sorted({it['pid'] for it in query}) == [4004, 4005]
    assert sorted(it['pid'] for it in gallery) == [-1, 0] + [4004] * 3 + [4005] * 3
    assert test.metainfo['num_pids'] == 2


def test_other_gen_cfg_gets_its_own_folder(tmp_path):
    """Datasets of other parameters coexist: generating one never replaces another."""
    first = SynthReID(data_root=str(tmp_path), gen_cfg=GEN, split='query')
    (tmp_path / folder('A') / 'marker').write_text('kept')
    other = dict(GEN, num_test_ids=4)
    query = SynthReID(data_root=str(tmp_path), gen_cfg=other, split='query')
    assert len(query) == 4 * 3 and len(first) == 2 * 3
    assert folder('A', other) != folder('A')
    meta = json.loads((tmp_path / folder('A', other) / 'meta.json').read_text())
    assert meta['params']['num_test_ids'] == 4
    assert (tmp_path / folder('A') / 'marker').read_text() == 'kept'
    assert query.metainfo['dataset_name'] == 'synthreid_A'  # the metrics' prefix does not change
    # the default parameters keep the plain name
    assert dataset_dirname('B', synthreid_params('B')) == dataset_dirname('B') == 'synthreid_B'


def test_bad_configuration_is_named(tmp_path):
    with pytest.raises(ValueError, match='num_ids'):
        SynthReID(data_root=str(tmp_path), gen_cfg=dict(num_ids=3))
    with pytest.raises(ValueError, match='dataset_dir'):
        SynthReID(data_root=str(tmp_path), dataset_dir='elsewhere')
    with pytest.raises(ValueError, match="'Q'"):
        SynthReID(data_root=str(tmp_path), style='Q')
    assert not any(tmp_path.iterdir())  # nothing written
