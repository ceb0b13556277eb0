"""tools/extract_features.py and tools/search.py on SynthReID images (the tiny folder without it)."""
import json
import os
import os.path as osp
import runpy
import shutil
import sys

import pytest
import torch

from reidengine.apis import extract_features, init_model, list_images, search
from reidengine.apis.feature_store import load_features

REPO = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))


def run_tool(name, *args):
    """Run a tool's main() in this process (as ``python tools/<name> args``)."""
    argv = sys.argv
    sys.argv = [name, *map(str, args)]
    try:
        runpy.run_path(osp.join(REPO, 'tools', name), run_name='__main__')
    finally:
        sys.argv = argv


@pytest.fixture(scope='module')
def images(tiny_reid, tmp_path_factory):
    """A gallery of 14 and 2 query images: SynthReID style B's when generated, else the tiny set's."""
    root = tmp_path_factory.mktemp('search_images')
    synth = osp.join(os.environ.get('REID_DATA_ROOT', ''), 'synthreid_B')
    if osp.isdir(osp.join(synth, 'query')):
        gallery_src, query_src = osp.join(synth, 'bounding_box_test'), osp.join(synth, 'query')
    else:
        gallery_src, query_src = tiny_reid.gallery, tiny_reid.query
    for sub, src, n in (('gallery', gallery_src, 14), ('query', query_src, 2)):
        os.makedirs(root / sub)
        for p in list_images(src)[:n]:
            shutil.copy(p, root / sub)
    return root


def test_extract_features_tool_writes_safetensors_and_resumes(tiny_reid, images, tmp_path):
    out = tmp_path / 'feats'
    run_tool('extract_features.py', tiny_reid.config, tiny_reid.checkpoint, images / 'gallery', out,
             '--shard-size', 4)
    feats, paths, info = load_features(str(out))
    model = init_model(tiny_reid.config, tiny_reid.checkpoint)
    assert paths == list_images(str(images / 'gallery'))
    torch.testing.assert_close(feats, extract_features(model, paths), rtol=0, atol=1e-6)
    assert info['checkpoint'] == osp.abspath(tiny_reid.checkpoint)
    assert not osp.exists(out / 'shards')
    assert not any(f.endswith(('.pkl', '.pickle')) for f in os.listdir(out))

    # an interrupted run: the plan and the first shard exist (marked with zeros) -> reused
    resumed = tmp_path / 'resumed'
    os.makedirs(resumed / 'shards')
    plan = dict(info, paths=paths, shard_size=4)
    (resumed / 'shards' / 'plan.json').write_text(json.dumps(plan))
    from safetensors.torch import save_file
    save_file({'features': torch.zeros(4, feats.shape[1])},
              str(resumed / 'shards' / 'part_00000.safetensors'))
    run_tool('extract_features.py', tiny_reid.config, tiny_reid.checkpoint, images / 'gallery',
             resumed, '--shard-size', 4)
    again, _, _ = load_features(str(resumed))
    assert torch.equal(again[:4], torch.zeros(4, feats.shape[1]))
    torch.testing.assert_close(again[4:], feats[4:], rtol=0, atol=1e-6)


def test_search_tool_prints_and_writes_ranked_matches(tiny_reid, images, tmp_path, capsys):
    out = tmp_path / 'feats'
    run_tool('extract_features.py', tiny_reid.config, tiny_reid.checkpoint, images / 'gallery', out)
    capsys.readouterr()
    run_tool('search.py', tiny_reid.config, tiny_reid.checkpoint, images / 'query', out,
             '--topk', 5, '--threshold', '0.5')
    stdout = capsys.readouterr().out
    result = json.loads((out / 'matches.json').read_text())
    assert result['metric'] == 'cosine' and result['threshold'] == 0.5
    model = init_model(tiny_reid.config, tiny_reid.checkpoint)
    gallery, paths, _ = load_features(str(out))
    queries = list_images(str(images / 'query'))
    dists, idx = search(extract_features(model, queries), gallery, 5, metric='cosine')
    assert len(result['results']) == len(queries)
    for q, entry in enumerate(result['results']):
        assert [m['path'] for m in entry['matches']] == [paths[i] for i in idx[q].tolist()]
        assert [m['same_person'] for m in entry['matches']] == (dists[q] < 0.5).tolist()
        assert paths[idx[q, 0]] in stdout
    threshold = tmp_path / 'threshold.json'
    threshold.write_text(json.dumps(dict(threshold=0.3, metric='euclidean')))
    with pytest.raises(ValueError, match='calibrated for the euclidean distance'):
        run_tool('search.py', tiny_reid.config, tiny_reid.checkpoint, images / 'query', out,
                 '--threshold', threshold)
