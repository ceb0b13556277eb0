"""tools/demo_table.py rewrites the README's demo table from the work dirs' results."""
import json
import os.path as osp
import runpy

import pytest

TOOL = runpy.run_path(osp.join(osp.dirname(__file__), '..', '..', 'tools', 'demo_table.py'))
README = osp.join(osp.dirname(__file__), '..', '..', 'README.md')


def write_seed(work_dir, unseen_map, run=None):
    work_dir.mkdir(parents=True)
    results = dict(synthreid_B=dict(mAP=unseen_map, R1=0.095, R10=0.5),
                   synthreid_A=dict(mAP=0.28, R1=0.318, R10=0.7))
    (work_dir / 'results_test.json').write_text(json.dumps(results))
    if run:
        (work_dir / 'demo_run.json').write_text(json.dumps(run))


def test_rewrites_only_the_marked_block(tmp_path):
    run = dict(date='2026-12-01', cpu='Intel(R) Xeon(R) Processor', cores=2, load_mean=7.5,
               load_max=13.5, wall_s=2712.0, note='on an older commit')
    write_seed(tmp_path / 'work' / 'seed0', 0.101, run)
    write_seed(tmp_path / 'work' / 'seed1', 0.159)
    readme = tmp_path / 'README.md'
    readme.write_text('before\n<!-- demo-table:begin -->\nold rows\n'
                      '<!-- demo-table:end -->\nafter\n')
    TOOL['main'](['--seeds', '0', '1', '--no-train', '--work-root', str(tmp_path / 'work'),
                  '--readme', str(readme)])
    text = readme.read_text()
    assert text.startswith('before\n<!-- demo-table:begin -->\n| model (trained on A)')
    assert text.endswith('<!-- demo-table:end -->\nafter\n') and 'old rows' not in text
    assert '| **10.1 / 9.5** (R10 50.0) | 28.0 / 31.8 |' in text
    assert '`--cfg-options randomness.seed=1` | 15.9 / 9.5 (R10 50.0) |' in text
    words = ' '.join(text.split())  # the measurement sentence is wrapped
    assert 'seed 0: 2026-12-01, Intel(R) Xeon(R) Processor, 2 cores' in words
    assert 'wall time 45 min 12 s (on an older commit)' in words


def test_missing_results_and_block_are_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match='results_test.json does not exist'):
        TOOL['read_seed'](str(tmp_path))
    with pytest.raises(ValueError, match='no <!-- demo-table:begin -->'):
        TOOL['rewrite']('no block here', 'rows')


def test_the_readme_has_the_block():
    text = open(README).read()
    assert text.count(TOOL['BEGIN']) == 1 and text.count(TOOL['END']) == 1
