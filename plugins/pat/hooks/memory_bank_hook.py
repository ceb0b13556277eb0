"""Fills PAT's part memory bank before training (Sec. 3.2, eq. 5 at t = 0).

Before the first iteration, the model (in eval mode, so with the fixed part bands) runs once over
the training set with a test-style pipeline and every bank entry gets the part tokens of its image,
indexed by the dataset index ``sample_idx``. A run resumed from a checkpoint keeps the bank the
checkpoint holds. Under distributed training each rank runs its shard and the features are
all-gathered, so every rank holds the whole bank.
"""
import copy
import time
from typing import Sequence

import torch
from mmengine.dataset import Compose
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.runner import Runner

from reidengine.registry import HOOKS
from reidengine.utils.amp import autocast

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
        fill_pipeline: test-style pipeline (load, resize, pack) applied to the training images.
        batch_size: batch size of the fill pass.
        num_workers: data-loader workers of the fill pass.
    """

    priority = 'NORMAL'

    def __init__(self, fill_pipeline: Sequence, batch_size: int = 128, num_workers: int = 4):
        if not fill_pipeline:
            raise ValueError('PATMemoryBankHook: fill_pipeline is empty; expected a test-style '
                             'pipeline (load image, resize, PackReIDInputs)')
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
        """One no-grad pass over the training set writing every bank entry."""
        model = self._model(runner)
        bank = model.memory_bank
        dataset = runner.train_dataloader.dataset
        bank.resize(len(dataset))
        loader = self.build_fill_loader(runner, dataset)
        start = time.time()
        was_training = model.training
        model.eval()
        # the training's precision (bf16 / fp16 under the AMP optimizer wrapper); the bank is fp32
        dtype = getattr(getattr(runner, 'optim_wrapper', None), 'cast_dtype', None)
        with torch.no_grad(), autocast(dtype):
            for data in loader:
                data = model.data_preprocessor(data, False)
                samples = data['data_samples']
                feats = model.part_features(data['inputs'], samples)
                bank.fill(feats, meta_tensor(samples, 'sample_idx', feats.device),
                          meta_tensor(samples, 'pid', feats.device))
        model.train(was_training)
        unfilled = (bank.pids < 0).nonzero().flatten()
        if unfilled.numel():
            raise RuntimeError(f'PATMemoryBankHook: {unfilled.numel()} of {bank.num_samples} '
                               f'bank entries were not filled (first: {unfilled[:5].tolist()}); '
                               "each training image's sample_idx must be its index in the "
                               'training dataset')
        bank.mark_initialized()
        print_log(f'PAT memory bank: filled {bank.num_samples} entries x {bank.features.shape[0]} '
                  f'parts in {time.time() - start:.1f}s', logger='current')
