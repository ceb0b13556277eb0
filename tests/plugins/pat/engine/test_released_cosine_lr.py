"""ReleasedPATCosineLR against a direct re-statement of the released schedule (timm's
CosineLRScheduler as the released scheduler_factory builds it, stepped with epochs from 1)."""
import math

import pytest
import torch
from mmengine.optim import OptimWrapper

from plugins.pat.engine import ReleasedPATCosineLR


def released_lr(epoch, base, warmup_t=5, t_initial=120):
    """The released ``CosineLRScheduler._get_lr(t)`` with lr_min = 0.002 base, warmup_lr_init =
    0.01 base, warmup_prefix False, t_mul 1, cycle_limit 1."""
    lr_min, init = 0.002 * base, 0.01 * base
    if epoch < warmup_t:
        return init + epoch * (base - init) / warmup_t
    i = epoch // t_initial
    if i >= 1:
        return lr_min
    return lr_min + 0.5 * (base - lr_min) * (1 + math.cos(math.pi * (epoch - t_initial * i) / t_initial))


def test_lr_per_epoch_equals_the_released_schedule():
    base = 1e-3
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=base)
    wrapper = OptimWrapper(optimizer)
    scheduler = ReleasedPATCosineLR(wrapper)
    lrs = []
    for _ in range(60):  # the runner: an epoch of training with the current lr, then step()
        lrs.append(optimizer.param_groups[0]['lr'])
        optimizer.step()
        scheduler.step()
    for epoch, lr in enumerate(lrs, start=1):
        assert lr == pytest.approx(released_lr(epoch, base), rel=1e-9), epoch
    assert lrs[-1] / base == pytest.approx(0.5 * 0.998 * (1 + math.cos(math.pi * 60 / 120)) + 0.002)
    assert 0.49 < lrs[-1] / base < 0.51  # still about half at the last epoch


def test_iteration_based_use_is_refused():
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    with pytest.raises(ValueError, match='by_epoch'):
        ReleasedPATCosineLR(optimizer, by_epoch=False)
