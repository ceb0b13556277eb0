"""Hooks imported into training processes (``custom_imports``) by the reliability tests.

- ``RecordBatches``: writes, per rank, the pids of every training batch to
  ``<work_dir>/batches_rank<r>.json`` as ``[[epoch, iter, [pid, ...]], ...]``.
- ``StopAfterIteration``: raises after training iteration ``at_iter`` (1-based) on every rank,
  standing for a crash of the job.
"""
import json
import os.path as osp

from mmengine.hooks import Hook

from reidengine.registry import HOOKS


@HOOKS.register_module(force=True)
class RecordBatches(Hook):

    def __init__(self):
        self.batches = []

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        pids = [int(s.pid) for s in data_batch['data_samples']]
        self.batches.append([runner.epoch, runner.iter, pids])

    def after_train(self, runner):
        with open(osp.join(runner.work_dir, f'batches_rank{runner.rank}.json'), 'w') as f:
            json.dump(self.batches, f)


class Stopped(RuntimeError):
    pass


@HOOKS.register_module(force=True)
class StopAfterIteration(Hook):
    priority = 'HIGHEST'

    def __init__(self, at_iter):
        self.at_iter = at_iter

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if runner.iter + 1 == self.at_iter:
            raise Stopped(f'stopped after iteration {self.at_iter}')
