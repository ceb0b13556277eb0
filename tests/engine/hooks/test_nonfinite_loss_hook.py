"""NonFiniteLossHook: stop with the iteration, the terms and the last good checkpoint, or skip."""
import pytest
import torch
from mmengine.hooks import Hook

from reidengine.engine.hooks import NonFiniteLossError, NonFiniteLossHook


class _Snapshots(Hook):
    """Model weights after each iteration (1-based), taken after every other hook."""
    priority = 'LOWEST'

    def __init__(self):
        self.weights = {}

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        self.weights[runner.iter + 1] = runner.model.fc.weight.detach().clone()


def _runner(toy, tmp_path, nan_calls, snapshots, **hook_args):
    return toy.make_runner(tmp_path, model=dict(type='_EngineToyModel', nan_calls=nan_calls),
                           hooks=[snapshots],
                           default_hooks=dict(nonfinite_loss=dict(type='NonFiniteLossHook',
                                                                  **hook_args)))


def test_raise_names_iteration_terms_and_last_checkpoint_and_skips_the_update(toy, tmp_path):
    snaps = _Snapshots()
    runner = _runner(toy, tmp_path, nan_calls=[8], snapshots=snaps)
    with pytest.raises(NonFiniteLossError) as err:
        runner.train()
    msg = str(err.value)
    assert 'iteration 8 (epoch 2, batch 2 of 6)' in msg
    assert 'non-finite loss, loss_cls;' in msg and 'loss_cls=nan' in msg and 'loss_reg=' in msg
    assert f'last good checkpoint is {tmp_path / "epoch_1.pth"}' in msg
    assert torch.equal(runner.model.fc.weight, snaps.weights[7])  # no step, no weight decay
    assert not (tmp_path / 'epoch_2.pth').exists()


def test_raise_before_any_checkpoint_says_so(toy, tmp_path):
    runner = _runner(toy, tmp_path, nan_calls=[2], snapshots=_Snapshots())
    with pytest.raises(NonFiniteLossError, match='No checkpoint was saved before this iteration'):
        runner.train()


def test_skip_policy_drops_the_steps_counts_them_and_finishes(toy, tmp_path):
    snaps = _Snapshots()
    runner = _runner(toy, tmp_path, nan_calls=[8, 9], snapshots=snaps, policy='skip')
    runner.train()
    assert torch.equal(snaps.weights[9], snaps.weights[7])
    assert not torch.equal(snaps.weights[10], snaps.weights[9])
    assert torch.isfinite(runner.model.fc.weight).all()
    hook = next(h for h in runner.hooks if isinstance(h, NonFiniteLossHook))
    assert hook.num_skipped == 2
    log = open(f'{runner.log_dir}/{runner.timestamp}.log').read()
    assert 'skipped iteration 9' in log and '2 steps skipped so far' in log
    saved = torch.load(tmp_path / 'epoch_3.pth', weights_only=True)['hook_states']
    assert saved['NonFiniteLossHook'] == dict(num_skipped=2, consecutive=0)


def test_skip_count_is_restored_on_resume(toy, tmp_path):
    _runner(toy, tmp_path, nan_calls=[8], snapshots=_Snapshots(), policy='skip').train()
    resumed = toy.make_runner(tmp_path, max_epochs=4, resume=True,
                              default_hooks=dict(nonfinite_loss=dict(type='NonFiniteLossHook',
                                                                     policy='skip')))
    resumed.train()
    hook = next(h for h in resumed.hooks if isinstance(h, NonFiniteLossHook))
    assert hook.num_skipped == 1


def test_too_many_consecutive_skips_stop_the_run(toy, tmp_path):
    runner = _runner(toy, tmp_path, nan_calls=[8, 9], snapshots=_Snapshots(), policy='skip',
                     max_consecutive_skips=2)
    with pytest.raises(NonFiniteLossError, match='iteration 9 .*2 steps in a row'):
        runner.train()


def test_non_finite_gradient_with_finite_loss_is_caught():
    hook = NonFiniteLossHook()
    param = torch.nn.Parameter(torch.ones(2))
    opt = torch.optim.SGD([param], lr=1.0, momentum=0.9, weight_decay=0.1)
    opt.register_step_pre_hook(hook._before_step)
    param.grad = torch.tensor([1.0, float('inf')])
    opt.step()
    assert torch.equal(param.detach(), torch.ones(2)) and hook._bad_grads
    assert opt.state[param] == {}  # no momentum buffer was started


@pytest.mark.parametrize('args', [dict(policy='ignore'), dict(max_consecutive_skips=0)])
def test_bad_arguments(args):
    with pytest.raises(ValueError, match='NonFiniteLossHook'):
        NonFiniteLossHook(**args)
