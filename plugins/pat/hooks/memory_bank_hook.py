"""Fills PAT's part memory bank before training (Sec. 3.2, eq. 5 at t = 0).

Two ways, chosen by ``fill_with``:

- ``'test_pipeline'`` (default): the model in eval mode (fixed part bands, no drop path) runs once
  over the whole training set, in order, with a test-style pipeline; every entry gets the part
  tokens of its image (indexed by the dataset index ``sample_idx``). The bank then describes every
  training image as the paper's eq. 5 initialisation reads.
- ``'training_loader'`` (the released code): the model in training mode (augmentation, drop path,
  random sub-regions active) runs once over the identity-sampled training loader, without
  gradients; an image seen again in that pass is momentum-updated, and images the sampler leaves
  out stay empty until first seen in training, when they are written directly (``PartMemoryBank``
  ``update``); CSL compares against filled entries only.

A run resumed from a checkpoint keeps the bank the checkpoint holds. The fill pass leaves the
global random state as it found it, so training after it is the same in both modes. Under
distributed training each rank runs its shard and the features are all-gathered, so every rank
holds the whole bank.
"""
import copy
import random
import time
from typing import Sequence

import torch
import numpy as np
from mmengine.dataset import Compose
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.runner import Runner

from reidengine.registry import HOOKS

from ..models.pat_head import meta_tensor


def dataset_with_pipeline(dataset, pipeline: Sequence):
    """A shallow copy of ``dataset`` (or of every part of a concatenation) with another pipeline."""
    if hasattr(dataset, 'datasets'):
        new = copy.copy(dataset)
        new.datasets = [dataset_with_pipeline(d, pipeline) for d in dataset.datasets]
        return new
    if not hasattr(dataset, 'pipeline'):
        raise TypeError(f'PATMemoryBankHook: the training dataset {type(dataset).__name__} has '
                        'neither a "pipeline" nor "datasets" attribute; cannot give it the fill '
                        'pipeline')
    new = copy.copy(dataset)
    new.pipeline = Compose(pipeline)
    return new


@HOOKS.register_module()
class PATMemoryBankHook(Hook):
    """Args:
        fill_pipeline: test-style pipeline (load, resize, pack) applied to the training images
            (``fill_with='test_pipeline'``).
        batch_size: batch size of the fill pass (``'test_pipeline'``).
        num_workers: data-loader workers of the fill pass (``'test_pipeline'``).
        fill_with: ``'test_pipeline'`` or ``'training_loader'`` (the released code), see above.
    """

    priority = 'NORMAL'
    FILL_MODES = ('test_pipeline', 'training_loader')

    def __init__(self, fill_pipeline: Sequence = (), batch_size: int = 128, num_workers: int = 4,
                 fill_with: str = 'test_pipeline'):
        if fill_with not in self.FILL_MODES:
            raise ValueError(f'PATMemoryBankHook: fill_with={fill_with!r}; expected one of '
                             f'{self.FILL_MODES}')
        if fill_with == 'test_pipeline' and not fill_pipeline:
            raise ValueError('PATMemoryBankHook: fill_pipeline is empty; expected a test-style '
                             'pipeline (load image, resize, PackReIDInputs)')
        self.fill_with = fill_with
        self.fill_pipeline = list(fill_pipeline)
        self.batch_size = batch_size
        self.num_workers = num_workers

    @staticmethod
    def _model(runner):
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        if not hasattr(model, 'memory_bank') or not hasattr(model, 'part_features'):
            raise TypeError(f'PATMemoryBankHook: model {type(model).__name__} has no memory_bank / '
                            'part_features; expected a PATModel')
        return model

    def before_train(self, runner) -> None:
        bank = self._model(runner).memory_bank
        num_samples = len(runner.train_dataloader.dataset)
        if runner.iter == 0 or not bank.is_initialized or bank.num_samples != num_samples:
            self.fill(runner)
        else:
            print_log(f'PAT memory bank: kept the resumed bank ({num_samples} entries)',
                      logger='current')

    def build_fill_loader(self, runner, dataset):
        """In dataset order, sharded over ranks; with its own generator, so that the fill pass
        leaves the global random state (and thus the training that follows) untouched."""
        build = getattr(runner, 'build_dataloader', Runner.build_dataloader)
        return build(
            dict(dataset=dataset_with_pipeline(dataset, self.fill_pipeline),
                 sampler=dict(type='DefaultSampler', shuffle=False),
                 batch_size=self.batch_size, num_workers=self.num_workers,
                 collate_fn=dict(type='pseudo_collate'),
                 generator=torch.Generator().manual_seed(0)),
            seed=getattr(runner, 'seed', None))

    def fill(self, runner) -> None:
        """One no-grad pass writing the bank (see the module docstring for the two modes)."""
        model = self._model(runner)
        bank = model.memory_bank
        dataset = runner.train_dataloader.dataset
        bank.resize(len(dataset))
        start = time.time()
        was_training = model.training
        states = torch.get_rng_state(), np.random.get_state(), random.getstate()
        if self.fill_with == 'test_pipeline':
            model.eval()
            loader, write = self.build_fill_loader(runner, dataset), bank.fill
        else:
            model.train()
            loader, write = runner.train_dataloader, bank.update
        with torch.no_grad():
            for data in loader:
                data = model.data_preprocessor(data, self.fill_with == 'training_loader')
                samples = data['data_samples']
                feats = model.part_features(data['inputs'], samples)
                write(feats, meta_tensor(samples, 'sample_idx', feats.device),
                      meta_tensor(samples, 'pid', feats.device))
        model.train(was_training)
        torch.set_rng_state(states[0])
        np.random.set_state(states[1])
        random.setstate(states[2])
        unfilled = (~bank.filled).nonzero().flatten()
        if unfilled.numel() and self.fill_with == 'test_pipeline':
            raise RuntimeError(f'PATMemoryBankHook: {unfilled.numel()} of {bank.num_samples} '
                               f'bank entries were not filled (first: {unfilled[:5].tolist()}); '
                               "each training image's sample_idx must be its index in the "
                               'training dataset')
        bank.mark_initialized()
        print_log(f'PAT memory bank: filled {bank.num_samples - unfilled.numel()} of '
                  f'{bank.num_samples} entries x {bank.features.shape[0]} parts '
                  f'({self.fill_with}) in {time.time() - start:.1f}s', logger='current')
