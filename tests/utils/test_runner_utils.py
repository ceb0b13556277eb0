import pytest
from mmengine.config import Config

from reidengine.utils.runner_utils import align_pk_batch_size


def _cfg(global_batch, loader_batch):
    return Config(dict(train_dataloader=dict(
        batch_size=loader_batch,
        sampler=dict(type='PKSampler', num_instances=4, batch_size=global_batch))))


def test_pk_global_batch_is_split_across_ranks():
    cfg = _cfg(64, 64)
    align_pk_batch_size(cfg, world_size=4)
    assert cfg.train_dataloader.batch_size == 16
    cfg = _cfg(64, 3)
    align_pk_batch_size(cfg, world_size=1)
    assert cfg.train_dataloader.batch_size == 64


def test_indivisible_global_batch_names_the_values():
    with pytest.raises(ValueError, match='batch_size=64 .*3'):
        align_pk_batch_size(_cfg(64, 64), world_size=3)
