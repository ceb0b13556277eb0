"""Data-loader workers: new augmentations every epoch, replayed exactly from torch's generator."""
import random

import numpy as np
import torch
from mmengine.runner import Runner
from torch.utils.data import Dataset

from reidengine.engine.runner import ReIDRunner, seed_worker


class _Noise(Dataset):
    """Every item is the draws an augmentation would make from the three generators."""

    def __len__(self):
        return 4

    def __getitem__(self, i):
        return dict(np=np.random.rand(), py=random.random(), torch=torch.rand(()).item())


def _epoch(loader):
    return [(b['np'], b['py'], b['torch']) for b in loader]


def _loader(build):
    return build(dict(dataset=_Noise(), batch_size=1, num_workers=2, persistent_workers=False,
                      sampler=dict(type='DefaultSampler', shuffle=False)), seed=0)


def test_epochs_differ_and_replay_from_the_main_generator():
    loader = _loader(ReIDRunner.build_dataloader)
    torch.manual_seed(0)
    first, second = _epoch(loader), _epoch(loader)
    assert first != second
    torch.manual_seed(0)  # what a resume restores
    assert _epoch(loader) == first


def test_control_mmengine_default_repeats_the_same_augmentations_every_epoch():
    loader = _loader(Runner.build_dataloader)
    assert _epoch(loader) == _epoch(loader)


def _draws_after_seeding(rank):
    torch.manual_seed(1234)  # as torch seeds a worker: base_seed + worker_id
    random.seed(1234), np.random.seed(1234)
    seed_worker(0, rank=rank)
    return random.random(), np.random.rand(), torch.rand(()).item()


def test_ranks_get_different_streams_and_rank0_keeps_torch_seeding():
    rank0, rank1, rank2 = (_draws_after_seeding(r) for r in range(3))
    torch.manual_seed(1234)
    random.seed(1234), np.random.seed(1234)
    assert rank0 == (random.random(), np.random.rand(), torch.rand(()).item())
    assert len({rank0, rank1, rank2}) == 3
    assert _draws_after_seeding(1) == rank1
