"""ReIDRunner: exact resume, damaged-checkpoint skip, weights-only loading, architecture checks.

The reference for every resume test is the same run left uninterrupted (``toy`` fixture,
tests/engine/conftest.py); "crash" = an exception after an iteration, as a killed process.
"""
import os

import pytest
import torch
from mmengine.runner import EpochBasedTrainLoop

from reidengine.engine.runner import CheckpointLoadError, ReIDEpochBasedTrainLoop
from reidengine.engine.runner import reid_runner as reid_runner_module
from reidengine.registry import LOOPS


def _train_with_crash(toy, work_dir, at_iter, **kwargs):
    runner = toy.make_runner(work_dir, hooks=[toy.CrashHook(at_iter)], **kwargs)
    with pytest.raises(toy.Crash):
        runner.train()


def _files(folder):
    return {name: (folder / name).read_bytes() for name in os.listdir(folder)
            if name.endswith('.pth')}


def _log_text(runner):
    return open(os.path.join(runner.log_dir, f'{runner.timestamp}.log')).read()


@pytest.fixture
def reference(toy, tmp_path):
    runner = toy.make_runner(tmp_path / 'reference')
    runner.train()
    return toy.model_state(runner)


def test_resume_after_crash_equals_uninterrupted_run(toy, tmp_path, reference):
    _train_with_crash(toy, tmp_path / 'b', at_iter=2 * toy.ITERS_PER_EPOCH + 3)
    resumed = toy.make_runner(tmp_path / 'b', resume=True)
    resumed.train()
    assert resumed.iter == 3 * toy.ITERS_PER_EPOCH
    toy.assert_same_state(toy.model_state(resumed), reference)


def test_without_restoring_generator_states_the_resume_is_not_exact(toy, tmp_path, reference,
                                                                   monkeypatch):
    # control: the previous test would catch a runner that forgets the generator states
    _train_with_crash(toy, tmp_path / 'b', at_iter=2 * toy.ITERS_PER_EPOCH + 3)
    monkeypatch.setattr(reid_runner_module, 'set_rng_state', lambda state: None)
    resumed = toy.make_runner(tmp_path / 'b', resume=True)
    resumed.train()
    assert not torch.equal(toy.model_state(resumed)['fc.weight'], reference['fc.weight'])


def test_resume_with_no_checkpoint_starts_from_scratch(toy, tmp_path, reference):
    runner = toy.make_runner(tmp_path / 'empty', resume=True)
    runner.train()
    toy.assert_same_state(toy.model_state(runner), reference)


def test_resume_inside_an_epoch_from_iteration_checkpoints(toy, tmp_path):
    every5 = dict(interval=5, by_epoch=False)
    ref = toy.make_runner(tmp_path / 'a', checkpoint=every5)
    ref.train()
    _train_with_crash(toy, tmp_path / 'b', at_iter=17, checkpoint=every5)  # last: iter_15
    assert (tmp_path / 'b' / 'iter_15.pth').exists()
    resumed = toy.make_runner(tmp_path / 'b', checkpoint=every5, resume=True)
    assert isinstance(resumed.build_train_loop(resumed._train_loop), ReIDEpochBasedTrainLoop)
    resumed.train()
    toy.assert_same_state(toy.model_state(resumed), toy.model_state(ref))


@LOOPS.register_module(force=True)
class _PlainEpochLoop(EpochBasedTrainLoop):
    pass


def test_mid_epoch_checkpoint_with_a_loop_that_cannot_skip_is_refused(toy, tmp_path):
    every5 = dict(interval=5, by_epoch=False)
    _train_with_crash(toy, tmp_path / 'b', at_iter=17, checkpoint=every5)
    runner = toy.make_runner(tmp_path / 'b', checkpoint=every5, resume=True)
    runner._train_loop = dict(type='_PlainEpochLoop', max_epochs=3)
    with pytest.raises(ValueError, match=r'iter_15\.pth was saved inside an epoch \(3 of 6'):
        runner.train()


def test_checkpoint_loads_with_weights_only_and_holds_all_training_state(toy, tmp_path):
    runner = toy.make_runner(tmp_path, max_epochs=1)
    runner.train()
    path = str(tmp_path / 'epoch_1.pth')
    assert torch.serialization.get_unsafe_globals_in_checkpoint(path) == []
    ckpt = torch.load(path, weights_only=True)  # no class allow-listed
    assert ckpt['meta']['epoch'] == 1 and ckpt['meta']['iter'] == toy.ITERS_PER_EPOCH
    assert set(ckpt) >= {'state_dict', 'optimizer', 'param_schedulers', 'message_hub',
                         'rng_state', 'hook_states'}
    assert torch.equal(ckpt['state_dict']['bank'], runner.model.bank)
    assert 'momentum_buffer' in ckpt['optimizer']['state'][0]
    assert set(ckpt['rng_state'][0]) == {'python', 'numpy', 'torch'}
    assert ckpt['hook_states']['NonFiniteLossHook'] == dict(num_skipped=0, consecutive=0)
    assert not any(name.endswith('.tmp') for name in os.listdir(tmp_path))


def test_damaged_latest_checkpoint_is_skipped_and_the_previous_one_taken(toy, tmp_path, reference):
    toy.make_runner(tmp_path).train()
    latest = tmp_path / 'epoch_3.pth'
    latest.write_bytes(latest.read_bytes()[:len(latest.read_bytes()) // 2])  # truncated
    (tmp_path / 'epoch_4.pth.tmp').write_bytes(b'partial write')
    resumed = toy.make_runner(tmp_path, resume=True)
    assert resumed.find_resume_checkpoint() == str(tmp_path / 'epoch_2.pth')
    log = _log_text(resumed)
    assert f'skipping {latest}' in log and 'damaged' in log
    assert not (tmp_path / 'epoch_4.pth.tmp').exists()
    resumed.train()  # epoch 3 again, from epoch 2
    toy.assert_same_state(toy.model_state(resumed), reference)


def test_no_loadable_checkpoint_is_an_error_naming_each_file(toy, tmp_path):
    toy.make_runner(tmp_path, max_epochs=2).train()
    for name in ('epoch_1.pth', 'epoch_2.pth'):
        (tmp_path / name).write_bytes(b'not a checkpoint')
    before = _files(tmp_path)
    runner = toy.make_runner(tmp_path, resume=True)
    with pytest.raises(CheckpointLoadError, match='no checkpoint in') as err:
        runner.train()
    assert 'epoch_1.pth' in str(err.value) and 'epoch_2.pth' in str(err.value)
    assert _files(tmp_path) == before


def test_explicitly_resumed_damaged_checkpoint_is_an_error(toy, tmp_path):
    bad = tmp_path / 'epoch_1.pth'
    bad.write_bytes(b'\x00' * 100)
    runner = toy.make_runner(tmp_path / 'w', resume=True, load_from=str(bad))
    with pytest.raises(CheckpointLoadError, match='epoch_1.pth" is damaged'):
        runner.train()


def test_resuming_a_checkpoint_of_another_architecture_fails_before_writing(toy, tmp_path):
    toy.make_runner(tmp_path, max_epochs=1).train()
    before = _files(tmp_path)
    runner = toy.make_runner(tmp_path, resume=True,
                             model=dict(type='_EngineToyModel', width=6))
    with pytest.raises(ValueError, match=r'epoch_1\.pth" does not fit ToyModel.*fc\.weight'):
        runner.train()
    assert _files(tmp_path) == before


def test_load_from_a_foreign_state_dict_without_matching_keys_is_an_error(toy, tmp_path):
    path = tmp_path / 'resnet.pth'
    torch.save({'conv1.weight': torch.zeros(2, 3, 7, 7)}, path)
    runner = toy.make_runner(tmp_path / 'w', load_from=str(path))
    with pytest.raises(ValueError, match='no key matches'):
        runner.train()


class _Payload:
    """Unpickling this runs ``open(marker, 'w')``, i.e. code of the file's choosing."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return open, (self.marker, 'w')


def test_load_from_a_pickle_that_would_run_code_is_refused(toy, tmp_path):
    marker = tmp_path / 'pwned'
    path = tmp_path / 'evil.pth'
    torch.save({'state_dict': {'fc.weight': torch.zeros(4, 8)}, 'x': _Payload(str(marker))}, path)
    runner = toy.make_runner(tmp_path / 'w', load_from=str(path))
    with pytest.raises(CheckpointLoadError, match=r'refusing to load .*evil\.pth.*it holds io\.open'):
        runner.train()
    assert not marker.exists()
    torch.load(path, weights_only=False)  # control: plain unpickling does run the payload
    assert marker.exists()
