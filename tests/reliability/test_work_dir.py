"""One run per work dir: a busy work dir and a finished run are refused, ``--fresh`` moves the old
run aside, a killed run leaves no stuck lock, temporary checkpoint names belong to one process, and
a full disk is named without losing anything (reliability issue, "Data lost")."""
import os
import signal
import subprocess
import sys

import pytest
import torch
from reliability_utils import REPO, checkpoint_files, run_tool, tool_error, tree_files

from reidengine.engine.runner import checkpoint_io
from reidengine.engine.runner.work_dir_lock import WorkDirBusyError, WorkDirLock

LOCK_MODULE = REPO / 'reidengine' / 'engine' / 'runner' / 'work_dir_lock.py'


def test_a_second_run_on_a_busy_work_dir_is_refused(run_copy, capsys):
    _, cfg, work = run_copy
    before = tree_files(work)
    with WorkDirLock(str(work)):  # stands for the first run (flock: another open file conflicts)
        err = tool_error(capsys, 'train', cfg, '--work-dir', work, '--resume')
    assert f'WorkDirBusyError: work dir {work} is in use by another training run' in err
    assert f'pid={os.getpid()}' in err and '--work-dir' in err
    assert tree_files(work) == before


def test_the_lock_of_a_killed_run_is_not_stuck(tmp_path):
    code = ('import importlib.util, sys, time;'
            'spec = importlib.util.spec_from_file_location("lock", sys.argv[1]);'
            'lock = importlib.util.module_from_spec(spec); spec.loader.exec_module(lock);'
            'lock.WorkDirLock(sys.argv[2]).acquire(); print("locked", flush=True); time.sleep(120)')
    proc = subprocess.Popen([sys.executable, '-c', code, str(LOCK_MODULE), str(tmp_path)],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == 'locked'
        with pytest.raises(WorkDirBusyError, match=f'pid={proc.pid}'):
            WorkDirLock(str(tmp_path)).acquire()
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    with WorkDirLock(str(tmp_path)):  # the kernel dropped the killed process's lock
        pass


def test_a_fresh_start_on_a_finished_work_dir_is_refused(run_copy, capsys):
    _, cfg, work = run_copy
    before = tree_files(work)
    err = tool_error(capsys, 'train', cfg, '--work-dir', work)
    assert f'FileExistsError: work dir {work} already holds a run' in err
    for fragment in ('epoch_2.pth', 'last_checkpoint', 'results_test.json', '--resume', '--fresh',
                     f'{work}.old-<time>'):
        assert fragment in err
    assert tree_files(work) == before


def test_resuming_another_folders_checkpoint_into_a_run_is_refused(run_copy, tmp_path, capsys):
    _, cfg, work = run_copy
    other = tmp_path / 'other'
    other.mkdir()
    (other / 'epoch_1.pth').write_bytes((work / 'epoch_1.pth').read_bytes())
    before = tree_files(work)
    err = tool_error(capsys, 'train', cfg, '--work-dir', work, '--resume', other / 'epoch_1.pth')
    assert f'--resume {other / "epoch_1.pth"}: that checkpoint is of another folder' in err
    assert 'would mix the two runs' in err
    assert tree_files(work) == before


def test_fresh_moves_the_old_run_aside_whole(run_copy):
    _, cfg, work = run_copy
    before = tree_files(work)
    run_tool('train', cfg, '--work-dir', work, '--fresh', '--no-test', '--cfg-options',
             'train_cfg.max_epochs=1', 'experiment_name=fresh')
    old, = work.parent.glob(f'{work.name}.old-*')
    assert tree_files(old) == before  # the old run, untouched, in one place
    assert sorted(p.name for p in work.glob('*.pth')) == ['epoch_1.pth']  # the new run alone
    assert not (work / 'results_test.json').exists()
    assert (work / 'last_checkpoint').read_text() == str(work / 'epoch_1.pth')
    with pytest.raises(ValueError, match='--resume and --fresh exclude each other'):
        run_tool('train', cfg, '--work-dir', work, '--fresh', '--resume')


def test_temporary_checkpoint_names_belong_to_one_process(tmp_path, monkeypatch):
    seen = []
    save = torch.save

    def spy(obj, f, *args, **kwargs):
        seen.append(f.name)
        return save(obj, f, *args, **kwargs)

    monkeypatch.setattr(torch, 'save', spy)
    checkpoint_io.atomic_save({'x': torch.ones(2)}, str(tmp_path / 'epoch_1.pth'))
    tmp, = seen
    assert tmp.startswith(str(tmp_path / 'epoch_1.pth.')) and tmp.endswith(f'-{os.getpid()}.tmp')
    assert os.listdir(tmp_path) == ['epoch_1.pth']


def test_a_full_disk_during_a_checkpoint_save_is_named_and_loses_nothing(run_copy, capsys,
                                                                         monkeypatch):
    _, cfg, work = run_copy
    before = checkpoint_files(work)
    tmp_path = checkpoint_io._tmp_path

    def full_disk(path):  # the temporary file of epoch_3.pth is /dev/full: writes fail (ENOSPC)
        tmp = tmp_path(path)
        if os.path.basename(path) == 'epoch_3.pth':
            os.symlink('/dev/full', tmp)
        return tmp

    monkeypatch.setattr(checkpoint_io, '_tmp_path', full_disk)
    err = tool_error(capsys, 'train', cfg, '--work-dir', work, '--resume', '--no-test')
    assert f'OSError: [Errno 28] could not write {work / "epoch_3.pth"}: no space left' in err
    assert 'Nothing was replaced' in err and '--resume' in err
    assert checkpoint_files(work) == before
    assert not list(work.glob('*.tmp')) and not (work / 'epoch_3.pth').exists()
