"""SynthReID generator: Market-1501 layout and naming, counts, determinism, regeneration, disjoint styles."""
import json
import re

import cv2
import numpy as np
import pytest

from reidengine.datasets.synthreid import (dataset_dirname, generate_synthreid, style_pid_range,
                                           synthreid_params)
from reidengine.datasets.synthreid.identities import identity_key

TINY = dict(num_train_ids=4, num_test_ids=3, num_cams=3, imgs_per_id_cam=2, img_size=(64, 32), num_distractors=2,
            num_junk=1, family_size=(2, 3), render_scale=1, progress=False)
TINY_DIR = dataset_dirname('A', synthreid_params('A', **{k: v for k, v in TINY.items() if k != 'progress'}))
NAME = re.compile(r'^(?P<pid>\d{4}|-1)_c(?P<cam>\d)s1_(?P<frame>\d{6})_00\.jpg$')


def listing(folder):
    return {d: sorted(p.name for p in (folder / d).iterdir())
            for d in ('bounding_box_train', 'query', 'bounding_box_test')}


def parsed(names):
    return [(int(m['pid']), int(m['cam'])) for m in map(NAME.match, names)]


def test_layout_names_and_counts(tmp_path):
    folder = generate_synthreid(tmp_path, style='A', **TINY)
    assert folder == tmp_path / TINY_DIR
    files = listing(folder)
    for names in files.values():
        assert all(NAME.match(n) for n in names), names
    train, query, gallery = (parsed(files[d]) for d in ('bounding_box_train', 'query', 'bounding_box_test'))
    # 4 train ids x 3 cams x 2 images; test: 3 ids x 3 cams, one query each, the other image in the gallery
    assert len(train) == 24 and len(query) == 9 and len(gallery) == 9 + 2 + 1
    train_ids, test_ids = {1, 2, 3, 4}, {5, 6, 7}
    assert {p for p, _ in train} == train_ids
    assert sorted(query) == sorted((p, c) for p in test_ids for c in (1, 2, 3))
    assert sorted(x for x in gallery if x[0] > 0) == sorted(query)
    assert sorted(p for p, _ in gallery if p <= 0) == [-1, 0, 0]
    for pid in train_ids:
        assert sorted(c for p, c in train if p == pid) == [1, 1, 2, 2, 3, 3]
    img = cv2.imread(str(folder / 'query' / files['query'][0]))
    assert img.shape == (64, 32, 3)
    all_names = [n for names in files.values() for n in names]
    assert len(set(all_names)) == len(all_names)


def test_meta_and_annotations(tmp_path):
    folder = generate_synthreid(tmp_path, style='B', seed=3, **TINY)
    meta = json.loads((folder / 'meta.json').read_text())
    assert meta['generator'] == 'SynthReID' and meta['params']['seed'] == 3 and meta['params']['style'] == 'B'
    assert meta['params']['img_size'] == [64, 32] and meta['counts'] == dict(train=24, query=9, gallery=12)
    ann = json.loads((folder / 'annotations.json').read_text())
    on_disk = {f'{d}/{n}' for d, names in listing(folder).items() for n in names}
    assert set(ann['images']) == on_disk
    for rel, info in ann['images'].items():
        m = NAME.match(rel.split('/')[1])
        assert (info['pid'], info['camid']) == (int(m['pid']), int(m['cam']))
    assert sorted(map(int, ann['identities'])) == list(style_pid_range('B')[:7])


def read_all(folder):
    return {f'{d}/{n}': (folder / d / n).read_bytes() for d, names in listing(folder).items() for n in names}


def test_same_seed_same_bytes_other_seed_other_images(tmp_path):
    a = read_all(generate_synthreid(tmp_path / 'a', seed=1, **TINY))
    b = read_all(generate_synthreid(tmp_path / 'b', seed=1, **TINY))
    c = read_all(generate_synthreid(tmp_path / 'c', seed=2, **TINY))
    assert a == b
    people = {k for k in a if k.split('/')[1][:4] not in ('0000', '-1_c')}
    assert people <= set(c)  # where identities go depends on the sizes only; distractor cameras are drawn
    assert all(a[k] != c[k] for k in people)


def test_regenerates_only_when_needed(tmp_path):
    folder = generate_synthreid(tmp_path, **TINY)
    (folder / 'marker').write_text('kept while nothing changes')
    generate_synthreid(tmp_path, **TINY)
    assert (folder / 'marker').exists()
    other = generate_synthreid(tmp_path, **dict(TINY, num_test_ids=2))  # other parameters: another folder
    assert other != folder and (folder / 'marker').exists()
    assert len(listing(other)['query']) == 6 and len(listing(folder)['query']) == 9
    (other / 'marker').write_text('x')
    victim = next((other / 'bounding_box_train').iterdir())
    victim.unlink()  # a missing file: regenerated
    generate_synthreid(tmp_path, **dict(TINY, num_test_ids=2))
    assert victim.exists() and not (other / 'marker').exists()
    meta = json.loads((other / 'meta.json').read_text())
    meta['version'] = 'an older generator'  # another generator version: regenerated
    (other / 'meta.json').write_text(json.dumps(meta))
    (other / 'marker').write_text('x')
    generate_synthreid(tmp_path, **dict(TINY, num_test_ids=2))
    assert not (other / 'marker').exists()
    assert not any(p.name.startswith('.synthreid') for p in tmp_path.iterdir())  # no temporary folder left


def test_a_foreign_folder_is_never_overwritten(tmp_path):
    (tmp_path / TINY_DIR).mkdir()
    (tmp_path / TINY_DIR / 'mine.txt').write_text('user data')
    with pytest.raises(FileExistsError, match='meta.json'):
        generate_synthreid(tmp_path, **TINY)
    assert (tmp_path / TINY_DIR / 'mine.txt').read_text() == 'user data'


def test_styles_have_disjoint_people(tmp_path):
    ids, keys = {}, {}
    for style in 'ABC':
        ann = json.loads((generate_synthreid(tmp_path, style=style, **TINY) / 'annotations.json').read_text())
        ids[style] = {int(p) for p in ann['identities']}
        keys[style] = {identity_key(p) for p in ann['identities'].values()}
        assert ids[style] <= set(style_pid_range(style))
    for s, t in (('A', 'B'), ('A', 'C'), ('B', 'C')):
        assert not ids[s] & ids[t] and not keys[s] & keys[t]


def test_same_person_looks_different_across_cameras(tmp_path):
    folder = generate_synthreid(tmp_path, style='A', **dict(TINY, imgs_per_id_cam=3))
    train = folder / 'bounding_box_train'
    for pid in range(1, 5):
        per_cam = [np.mean([cv2.imread(str(p)).astype(float) for p in train.glob(f'{pid:04d}_c{c}s1_*')], axis=0)
                   for c in (1, 2, 3)]
        for i, j in ((0, 1), (0, 2), (1, 2)):
            assert np.abs(per_cam[i] - per_cam[j]).mean() > 8  # background, colour cast, scale, view


@pytest.mark.parametrize('key,value', [('imgs_per_id_cam', 1), ('num_cams', 1), ('img_size', (16, 8)),
                                       ('num_train_ids', -1), ('render_scale', 0), ('seed', -1),
                                       ('family_size', (3, 2))])
def test_bad_parameters_are_named(tmp_path, key, value):
    with pytest.raises(ValueError, match=key):
        generate_synthreid(tmp_path, **dict(TINY, **{key: value}))
    with pytest.raises(ValueError, match="'D'"):
        generate_synthreid(tmp_path, style='D', **TINY)


def test_a_concurrent_writer_of_the_same_dataset_is_accepted(tmp_path, monkeypatch):
    from reidengine.datasets.synthreid import generator
    real_plan = generator._plan

    def plan_while_another_process_finishes_first(params):
        monkeypatch.setattr(generator, '_plan', real_plan)
        generate_synthreid(tmp_path, **TINY)
        return real_plan(params)

    monkeypatch.setattr(generator, '_plan', plan_while_another_process_finishes_first)
    folder = generate_synthreid(tmp_path, **TINY)
    assert json.loads((folder / 'meta.json').read_text())['params']['num_train_ids'] == 4
    assert [p.name for p in tmp_path.iterdir()] == [TINY_DIR]


def test_a_data_root_that_is_a_file_is_named(tmp_path):
    (tmp_path / 'root').write_text('')
    with pytest.raises(NotADirectoryError, match='root'):
        generate_synthreid(tmp_path / 'root', **TINY)
