"""Training and testing under torchrun, 2 CPU processes, gloo (reliability issue, "Distributed").

One ``torchrun`` call trains the tiny ViT baseline and tests it. Checked against single-process
runs of the same config: every step's global batch (the union of the ranks' batches) is the
single-process batch of that step, the ranks' identities are disjoint, each rank loads half the
batch, the epoch has the single-process number of steps, and the distributed test metrics equal
those of a single-process test of the same checkpoint exactly.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from reliability_utils import REPO, run_tool, tiny_config, write_market

HERE = Path(__file__).resolve().parent
EPOCHS = 2
RECORD = ("custom_imports = dict(imports=['subprocess_hooks'], allow_failed_imports=False)\n"
          "custom_hooks = [dict(type='RecordBatches')]\n")


def _batches(work, rank):
    return json.loads((work / f'batches_rank{rank}.json').read_text())


@pytest.fixture(scope='module')
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp('dist')
    data = write_market(root / 'data')
    cfg = tiny_config(root / 'vit.py', data, 'vit', max_epochs=EPOCHS, extra=RECORD)
    sys.path.insert(0, str(HERE))  # subprocess_hooks, for the in-process single run
    try:
        run_tool('train', cfg, '--work-dir', root / 'single', '--cfg-options',
                 'experiment_name=single')
    finally:
        sys.path.remove(str(HERE))
    done = _torchrun(cfg, root / 'dist')
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-5000:]
    return root, cfg


def test_ranks_split_each_global_batch_into_disjoint_identities(runs):
    root, _ = runs
    single = _batches(root / 'single', 0)
    rank0, rank1 = _batches(root / 'dist', 0), _batches(root / 'dist', 1)
    assert len(single) == EPOCHS * 4  # 8 ids x 4 images, K=2: 16 chunks / P=4 -> 4 steps
    assert len(rank0) == len(rank1) == len(single)  # the epoch length does not change
    for (e, i, pids), (e0, i0, pids0), (e1, i1, pids1) in zip(single, rank0, rank1):
        assert (e, i) == (e0, i0) == (e1, i1)
        assert len(pids) == 8 and len(pids0) == len(pids1) == 4  # half the global batch each
        assert not set(pids0) & set(pids1)  # different identities on the two ranks
        assert sorted(pids0 + pids1) == sorted(pids)  # together: the single-process batch


def test_distributed_test_metrics_equal_single_process_metrics(runs, tmp_path):
    root, cfg = runs
    dist_metrics = json.loads((root / 'dist' / 'results_test.json').read_text())
    run_tool('test', cfg, root / 'dist' / f'epoch_{EPOCHS}.pth', '--work-dir', tmp_path,
             '--cfg-options', 'experiment_name=single_test')
    single_metrics = json.loads((tmp_path / 'results_test.json').read_text())
    assert dist_metrics == single_metrics
    assert 0 < single_metrics['market1501']['mAP'] < 1


def _torchrun(cfg, work, *extra):
    env = dict(os.environ, OMP_NUM_THREADS='1')
    env['PYTHONPATH'] = os.pathsep.join([str(HERE), env.get('PYTHONPATH', '')])
    return subprocess.run(
        [sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc_per_node', '2',
         str(REPO / 'tools' / 'train.py'), cfg, '--launcher', 'pytorch', '--work-dir', str(work),
         *extra], env=env, capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_distributed_pat_run_stopped_and_resumed_equals_the_uninterrupted_run(tmp_path):
    from test_exact_resume import assert_same_training_state
    data = write_market(tmp_path / 'data')
    imports = "custom_imports = dict(imports=['plugins.pat', 'subprocess_hooks'])\n"
    cfg = tiny_config(tmp_path / 'pat.py', data, 'pat', max_epochs=EPOCHS, extra=imports)
    stop = tiny_config(tmp_path / 'pat_stop.py', data, 'pat', max_epochs=EPOCHS, extra=(
        imports + "custom_hooks = custom_hooks + [dict(type='StopAfterIteration', at_iter=6)]\n"))
    done = _torchrun(cfg, tmp_path / 'a')
    assert done.returncode == 0, done.stderr[-5000:]
    stopped = _torchrun(stop, tmp_path / 'b')
    assert stopped.returncode != 0 and 'stopped after iteration 6' in stopped.stderr
    assert (tmp_path / 'b' / 'epoch_1.pth').exists()
    assert not (tmp_path / 'b' / f'epoch_{EPOCHS}.pth').exists()
    resumed = _torchrun(cfg, tmp_path / 'b', '--resume')
    assert resumed.returncode == 0, resumed.stderr[-5000:]
    final = f'epoch_{EPOCHS}.pth'
    ckpt = assert_same_training_state(tmp_path / 'a' / final, tmp_path / 'b' / final)
    assert len(ckpt['rng_state']) == 2  # both ranks' generator states are kept
    metrics = [json.loads((tmp_path / w / 'results_test.json').read_text()) for w in 'ab']
    assert metrics[0] == metrics[1]
