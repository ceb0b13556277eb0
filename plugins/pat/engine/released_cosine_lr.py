"""The learning-rate schedule of the released PAT code, exactly (its ``solver/scheduler_factory.py``:
timm's ``CosineLRScheduler`` with the cosine length hard-coded to 120 epochs, stepped once per
epoch with the epoch counted from 1).

For the epoch e = 1, 2, ... (``t = e``, ``base`` the optimizer's lr):

    t <  W:   lr = base * (a + t * (1 - a) / W)                                   (linear warm-up)
    t >= W:   lr = base * (b + 0.5 * (1 - b) * (1 + cos(pi * t / T)))             (no warm-up prefix)

with W = 5 warm-up epochs (the released default), T = 120, a = 0.01, b = 0.002. At epoch 60 the lr
is still ~0.50 x base. The paper's schedule (the default configs) is a 10-epoch warm-up and a cosine
ending at epoch 60.
"""
import math

from mmengine.optim.scheduler.lr_scheduler import LRSchedulerMixin
from mmengine.optim.scheduler.param_scheduler import _ParamScheduler

from reidengine.registry import PARAM_SCHEDULERS


@PARAM_SCHEDULERS.register_module()
class ReleasedPATCosineLR(LRSchedulerMixin, _ParamScheduler):
    """Args:
        optimizer: the optimizer (wrapper).
        warmup_epochs: W. cosine_epochs: T. warmup_factor: a. min_factor: b.
        begin, end, last_step, by_epoch, verbose: as MMEngine's schedulers (per epoch only).
    """

    def __init__(self, optimizer, warmup_epochs: int = 5, cosine_epochs: int = 120,
                 warmup_factor: float = 0.01, min_factor: float = 0.002, begin: int = 0,
                 end: int = int(1e9), last_step: int = -1, by_epoch: bool = True,
                 verbose: bool = False):
        if not by_epoch:
            raise ValueError('ReleasedPATCosineLR: the released schedule changes the lr once per '
                             'epoch; by_epoch must be True')
        if warmup_epochs < 0 or cosine_epochs <= 0:
            raise ValueError(f'ReleasedPATCosineLR: warmup_epochs={warmup_epochs} must be >= 0 and '
                             f'cosine_epochs={cosine_epochs} > 0')
        self.warmup_epochs, self.cosine_epochs = warmup_epochs, cosine_epochs
        self.warmup_factor, self.min_factor = warmup_factor, min_factor
        super().__init__(optimizer, begin=begin, end=end, last_step=last_step, by_epoch=by_epoch,
                         verbose=verbose)

    def factor(self, epoch: int) -> float:
        """lr / base lr during the 1-based ``epoch``."""
        a, b, warm = self.warmup_factor, self.min_factor, self.warmup_epochs
        if epoch < warm:
            return a + epoch * (1 - a) / warm
        return b + 0.5 * (1 - b) * (1 + math.cos(math.pi * epoch / self.cosine_epochs))

    def _get_value(self):
        factor = self.factor(self.last_step + 1)  # the released loop steps with epochs from 1
        return [base * factor for base in self.base_values]
