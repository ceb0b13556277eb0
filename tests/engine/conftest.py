"""A tiny training set-up for the engine tests: every source of randomness a ReID run has.

- ``ToySet``: augmentation noise from numpy's and python's global generators.
- ``ToyModel``: dropout (torch's generator), a persistent buffer updated during training (like
  PAT's memory bank), two loss terms, and NaN losses injected at chosen training calls.
- ``make_runner``: a ``ReIDRunner`` with SGD + momentum + weight decay, warm-up then cosine,
  shuffled sampler, checkpoints; 24 images in batches of 4 = 6 iterations per epoch.
"""
import itertools
import random

import numpy as np
import pytest
import torch
from mmengine.evaluator import BaseMetric
from mmengine.hooks import Hook
from mmengine.model import BaseModel
from torch import nn
from torch.utils.data import Dataset

from reidengine.engine.runner import ReIDRunner
from reidengine.registry import MODELS
from reidengine.utils import register_all_modules

NUM_IMAGES, BATCH, NUM_CLASSES, DIM = 24, 4, 4, 8
ITERS_PER_EPOCH = NUM_IMAGES // BATCH
_names = itertools.count()


class ToySet(Dataset):
    metainfo = dict(dataset_name='toy', num_pids=NUM_CLASSES)

    def __len__(self):
        return NUM_IMAGES

    def __getitem__(self, i):
        base = torch.linspace(-1, 1, DIM) * (i % NUM_CLASSES + 1)
        noise = torch.from_numpy(np.random.rand(DIM).astype(np.float32)) + random.random()
        return dict(inputs=base + 0.1 * noise, label=i % NUM_CLASSES)


@MODELS.register_module(name='_EngineToyModel', force=True)
class ToyModel(BaseModel):

    def __init__(self, nan_calls=(), width=DIM):
        super().__init__()
        self.fc = nn.Linear(width, NUM_CLASSES)
        self.register_buffer('bank', torch.zeros(NUM_CLASSES))
        self.nan_calls = set(nan_calls)
        self.calls = 0

    def forward(self, inputs, label=None, mode='tensor'):
        x = torch.stack(inputs)
        logits = self.fc(nn.functional.dropout(x, 0.3, self.training))
        if mode != 'loss':
            return [dict(v=float(v)) for v in logits.sum(1)]
        self.calls += 1
        self.bank.mul_(0.9).add_(0.1 * logits.detach().mean(0))
        loss_cls = nn.functional.cross_entropy(logits, torch.tensor(label))
        if self.calls in self.nan_calls:
            loss_cls = loss_cls * float('nan')
        return dict(loss_cls=loss_cls, loss_reg=1e-3 * self.fc.weight.pow(2).sum())


class ToyMetric(BaseMetric):
    default_prefix = 'toy'

    def process(self, data_batch, data_samples):
        self.results.extend(s['v'] for s in data_samples)

    def compute_metrics(self, results):
        return dict(mean=float(np.mean(results)))


class Crash(Exception):
    """Stands for the process being killed."""


class CrashHook(Hook):
    """Raises ``Crash`` after training iteration ``at_iter`` (1-based), before later hooks."""
    priority = 'HIGHEST'

    def __init__(self, at_iter):
        self.at_iter = at_iter

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if runner.iter + 1 == self.at_iter:
            raise Crash(f'crash after iteration {self.at_iter}')


def _schedule(max_epochs):
    warmup = dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=1,
                  convert_to_iter_based=True)
    cosine = dict(type='CosineAnnealingLR', T_max=max_epochs - 1, by_epoch=True, begin=1,
                  end=max_epochs, convert_to_iter_based=True)
    return [warmup, cosine] if max_epochs > 1 else [warmup]


def make_runner(work_dir, max_epochs=3, checkpoint=None, resume=False, load_from=None, hooks=(),
                model=None, val=False, num_workers=0, default_hooks=None):
    register_all_modules()
    loader = dict(dataset=ToySet(), batch_size=BATCH, num_workers=num_workers,
                  persistent_workers=False, sampler=dict(type='DefaultSampler', shuffle=True))
    hooks_cfg = dict(checkpoint=dict(dict(type='ReIDCheckpointHook', interval=1), **(checkpoint or {})),
                     logger=dict(type='LoggerHook', interval=1000))
    hooks_cfg.update(default_hooks or {})
    extra = {}
    if val:
        extra = dict(val_dataloader=dict(loader, sampler=dict(type='DefaultSampler', shuffle=False)),
                     val_cfg=dict(), val_evaluator=dict(type=ToyMetric))
    return ReIDRunner(
        model=model if model is not None else dict(type='_EngineToyModel'),
        work_dir=str(work_dir),
        experiment_name=f'toy{next(_names)}',
        train_dataloader=loader,
        train_cfg=dict(by_epoch=True, max_epochs=max_epochs, val_interval=1),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=1e-2)),
        param_scheduler=_schedule(max_epochs),
        default_hooks=hooks_cfg,
        custom_hooks=list(hooks),
        resume=resume,
        load_from=load_from,
        randomness=dict(seed=0),
        default_scope='reidengine',
        log_level='WARNING',
        **extra)


def model_state(runner):
    return {k: v.clone() for k, v in runner.model.state_dict().items()}


def assert_same_state(a, b):
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k


@pytest.fixture
def toy():
    """The helpers above, for test modules."""
    import types
    return types.SimpleNamespace(
        make_runner=make_runner, ToyModel=ToyModel, ToySet=ToySet, CrashHook=CrashHook,
        Crash=Crash, model_state=model_state, assert_same_state=assert_same_state,
        ITERS_PER_EPOCH=ITERS_PER_EPOCH)
