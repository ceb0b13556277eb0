"""A PAT run (tiny ViT, real pipeline with random augmentations, PK sampler, memory bank) stopped
and resumed ends with the same weights, memory bank, optimizer state and test metrics as the run
left alone (reliability issue, "Resume").

Fast variant: the stop is an exception raised in this process after an iteration. The SIGKILL
variant (kill during a checkpoint write, then at a random moment) is ``test_kill_resume.py``,
marked slow: ``pytest -m slow tests/reliability``.
"""
import json

import pytest
import torch
from mmengine.hooks import Hook
from reliability_utils import run_tool, tiny_config, write_market

from reidengine.registry import HOOKS


class Stop(Exception):
    pass


@HOOKS.register_module(name='_StopAfterIteration', force=True)
class _StopAfterIteration(Hook):
    priority = 'HIGHEST'

    def __init__(self, at_iter):
        self.at_iter = at_iter

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if runner.iter + 1 == self.at_iter:
            raise Stop(f'stopped after iteration {self.at_iter}')


def assert_same_training_state(path_a, path_b):
    a = torch.load(path_a, weights_only=True)
    b = torch.load(path_b, weights_only=True)
    assert a['state_dict'].keys() == b['state_dict'].keys()
    for key, value in a['state_dict'].items():
        assert torch.equal(value, b['state_dict'][key]), key
    for key, state in a['optimizer']['state'].items():
        for name, value in state.items():
            assert torch.equal(value, b['optimizer']['state'][key][name]), (key, name)
    assert a['param_schedulers'] == b['param_schedulers']
    return a


def test_pat_run_stopped_mid_epoch_and_resumed_equals_the_uninterrupted_run(tmp_path):
    data = write_market(tmp_path / 'data')
    cfg = tiny_config(tmp_path / 'pat.py', data, 'pat', max_epochs=2)
    run_tool('train', cfg, '--work-dir', tmp_path / 'a', '--cfg-options', 'experiment_name=ra')

    stop = tiny_config(tmp_path / 'pat_stop.py', data, 'pat', max_epochs=2, extra=(
        "custom_hooks = custom_hooks + [dict(type='_StopAfterIteration', at_iter=6)]\n"))
    with pytest.raises(Stop):
        run_tool('train', stop, '--work-dir', tmp_path / 'b', '--cfg-options', 'experiment_name=rb')
    assert not (tmp_path / 'b' / 'epoch_2.pth').exists()
    run_tool('train', cfg, '--work-dir', tmp_path / 'b', '--resume', '--cfg-options',
             'experiment_name=rc')

    ckpt = assert_same_training_state(tmp_path / 'a' / 'epoch_2.pth', tmp_path / 'b' / 'epoch_2.pth')
    assert bool(ckpt['state_dict']['head.memory_bank.initialized'])
    metrics_a = json.loads((tmp_path / 'a' / 'results_test.json').read_text())
    metrics_b = json.loads((tmp_path / 'b' / 'results_test.json').read_text())
    assert metrics_a == metrics_b
    assert 0 < metrics_a['market1501']['mAP'] < 1  # a real ranking, not a trivial one
