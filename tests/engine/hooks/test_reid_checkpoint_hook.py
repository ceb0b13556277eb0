"""ReIDCheckpointHook saves the new checkpoint before pruning old ones and moving the pointer."""
import pytest


def test_a_failed_save_keeps_the_previous_checkpoint_and_pointer(toy, tmp_path, monkeypatch):
    runner = toy.make_runner(tmp_path, checkpoint=dict(max_keep_ckpts=1))
    original = runner.save_checkpoint
    calls = []

    def save_then_fail(*args, **kwargs):
        calls.append(args[1])
        if len(calls) == 2:
            raise OSError('disk full')
        return original(*args, **kwargs)

    monkeypatch.setattr(runner, 'save_checkpoint', save_then_fail)
    with pytest.raises(OSError, match='disk full'):
        runner.train()
    assert calls == ['epoch_1.pth', 'epoch_2.pth']
    assert (tmp_path / 'epoch_1.pth').exists()  # mmengine's hook would have deleted it already
    assert (tmp_path / 'last_checkpoint').read_text() == str(tmp_path / 'epoch_1.pth')


def test_old_checkpoints_are_pruned_after_the_save(toy, tmp_path):
    runner = toy.make_runner(tmp_path, checkpoint=dict(max_keep_ckpts=2))
    runner.train()
    assert sorted(p.name for p in tmp_path.glob('*.pth')) == ['epoch_2.pth', 'epoch_3.pth']
    assert (tmp_path / 'last_checkpoint').read_text() == str(tmp_path / 'epoch_3.pth')
