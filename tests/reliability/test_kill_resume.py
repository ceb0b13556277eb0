"""SIGKILL a PAT training (tiny ViT, 2 data-loader workers) during a checkpoint write, resume it,
SIGKILL it again at a random moment, resume it to the end: the final weights, memory bank,
optimizer state and test metrics equal those of the run left alone (reliability issue, "Resume").

Slow (about a minute: five training processes); run with ``pytest -m slow tests/reliability``.
"""
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from reliability_utils import REPO, tiny_config, write_market
from test_exact_resume import assert_same_training_state

EPOCHS = 4
HERE = Path(__file__).resolve().parent


def _command(cfg, work, *extra):
    return [sys.executable, str(REPO / 'tools' / 'train.py'), cfg, '--work-dir', str(work), *extra]


def _env(pause=0.0):
    env = dict(os.environ, OMP_NUM_THREADS='1', REID_TEST_WRITE_PAUSE=str(pause))
    env['PYTHONPATH'] = os.pathsep.join([str(HERE), str(REPO), env.get('PYTHONPATH', '')])
    return env


def _kill_when(proc, condition, timeout=300):
    start = time.time()
    while not condition():
        if proc.poll() is not None:
            raise AssertionError(f'the run ended (code {proc.returncode}) before it could be killed')
        if time.time() - start > timeout:
            proc.kill()
            raise AssertionError('timed out waiting for the moment to kill')
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()


@pytest.mark.slow
def test_sigkill_during_a_checkpoint_write_and_at_a_random_moment(tmp_path):
    data = write_market(tmp_path / 'data')
    cfg = tiny_config(tmp_path / 'pat.py', data, 'pat', max_epochs=EPOCHS, num_workers=2, extra=(
        "custom_imports = dict(imports=['plugins.pat', 'slow_checkpoint_writes'], "
        'allow_failed_imports=False)\n'))
    log = open(tmp_path / 'runs.log', 'w')
    start = time.time()
    subprocess.run(_command(cfg, tmp_path / 'a'), env=_env(), stdout=log, stderr=log, check=True)
    duration = time.time() - start

    work = tmp_path / 'b'
    # 1. killed in the middle of writing epoch_2.pth (half of its bytes are in epoch_2.pth.<host>-<pid>.tmp)
    proc = subprocess.Popen(_command(cfg, work), env=_env(pause=3.0), stdout=log, stderr=log)

    def writing():
        return any(tmp.stat().st_size > 0 for tmp in work.glob('epoch_2.pth.*.tmp'))
    _kill_when(proc, writing)
    assert not (work / 'epoch_2.pth').exists() and (work / 'epoch_1.pth').exists()
    assert (work / 'last_checkpoint').read_text() == str(work / 'epoch_1.pth')

    # 2. resumed, then killed at a random moment (maybe during start-up, maybe after the end)
    seed = int(time.time())
    delay = random.Random(seed).uniform(0, duration)
    proc = subprocess.Popen(_command(cfg, work, '--resume'), env=_env(), stdout=log, stderr=log)
    try:
        proc.wait(timeout=delay)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        proc.wait()

    # 3. resumed to the end
    subprocess.run(_command(cfg, work, '--resume'), env=_env(), stdout=log, stderr=log, check=True)
    context = f'random kill after {delay:.1f} s (seed {seed}); logs: {tmp_path / "runs.log"}'
    assert not list(work.glob('*.tmp')), context
    final = f'epoch_{EPOCHS}.pth'
    ckpt = assert_same_training_state(tmp_path / 'a' / final, work / final)
    assert bool(ckpt['state_dict']['head.memory_bank.initialized'])
    metrics_a = json.loads((tmp_path / 'a' / 'results_test.json').read_text())
    assert json.loads((work / 'results_test.json').read_text()) == metrics_a, context
