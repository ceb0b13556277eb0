"""Stop (or skip the step) on a non-finite loss (docs/reliability.md, "Faults and bad input").

Just before every optimizer step, the gradients are checked (one fused norm); if any is NaN or
infinite, all gradients are dropped (``grad = None``), so the step leaves the weights and the
optimizer state (momentum, Adam moments, weight decay) untouched. Under DDP the gradients are
already all-reduced, so every rank takes the same decision. After the iteration, the loss terms
the model returned are checked too. Then, by ``policy``:

- ``'raise'``: stop with :class:`NonFiniteLossError` naming the iteration, every loss term and
  the last checkpoint saved (no later checkpoint is written, so it is the last good one).
- ``'skip'``: log a warning with the terms and the number of skipped steps so far, and go on;
  ``max_consecutive_skips`` skipped steps in a row stop the run as ``'raise'`` does.
"""
import math
from typing import Dict, Optional

import torch
from mmengine.hooks import Hook

from reidengine.registry import HOOKS

__all__ = ['NonFiniteLossHook', 'NonFiniteLossError']

_POLICIES = ('raise', 'skip')


class NonFiniteLossError(RuntimeError):
    """Training met a NaN or infinite loss or gradient."""


def _optimizers(optim_wrapper):
    wrappers = optim_wrapper.values() if hasattr(optim_wrapper, 'values') else [optim_wrapper]
    return [w.optimizer for w in wrappers]


@HOOKS.register_module()
class NonFiniteLossHook(Hook):
    """Args:
        policy: ``'raise'`` (stop the run) or ``'skip'`` (drop the step, count it, go on).
        max_consecutive_skips: with ``'skip'``, stop after this many skipped steps in a row
            (None: never).
    """

    priority = 'VERY_HIGH'  # before ParamSchedulerHook and CheckpointHook act on the iteration

    def __init__(self, policy: str = 'raise', max_consecutive_skips: Optional[int] = 10):
        if policy not in _POLICIES:
            raise ValueError(f'NonFiniteLossHook: policy={policy!r}, expected one of {_POLICIES}')
        if max_consecutive_skips is not None and (not isinstance(max_consecutive_skips, int)
                                                  or max_consecutive_skips < 1):
            raise ValueError('NonFiniteLossHook: max_consecutive_skips must be a positive int or '
                             f'None, got {max_consecutive_skips!r}')
        self.policy = policy
        self.max_consecutive_skips = max_consecutive_skips
        self.num_skipped = 0
        self.consecutive = 0
        self._bad_grads = False
        self._handles = []

    # state kept in checkpoints by ReIDRunner
    def state_dict(self) -> dict:
        return dict(num_skipped=self.num_skipped, consecutive=self.consecutive)

    def load_state_dict(self, state: dict) -> None:
        self.num_skipped = int(state['num_skipped'])
        self.consecutive = int(state['consecutive'])

    def _before_step(self, optimizer, args, kwargs):
        params = [p for group in optimizer.param_groups for p in group['params']
                  if p.grad is not None]
        if not params:
            return None
        norm = torch.nn.utils.get_total_norm([p.grad for p in params], error_if_nonfinite=False)
        if not torch.isfinite(norm):
            self._bad_grads = True
            for p in params:
                p.grad = None  # the optimizer skips parameters without a gradient
        return None

    def before_train(self, runner) -> None:
        self._handles = [opt.register_step_pre_hook(self._before_step)
                         for opt in _optimizers(runner.optim_wrapper)]

    def after_train(self, runner) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []
        if self.num_skipped:
            runner.logger.warning(f'NonFiniteLossHook: {self.num_skipped} optimizer steps were '
                                  'skipped for non-finite losses or gradients in this run')

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        terms = _loss_terms(outputs)
        bad_terms = [k for k, v in terms.items() if not math.isfinite(v)]
        bad_grads, self._bad_grads = self._bad_grads, False
        if not bad_terms and not bad_grads:
            self.consecutive = 0
            return
        where = (f'iteration {runner.iter + 1} (epoch {runner.epoch + 1}, batch {batch_idx + 1} '
                 f'of {len(runner.train_dataloader)})')
        what = ', '.join(f'{k}={v:.6g}' for k, v in terms.items()) or 'no loss terms returned'
        cause = []
        if bad_terms:
            cause.append(f'non-finite {", ".join(bad_terms)}')
        if bad_grads:
            cause.append('non-finite gradients (the optimizer step was not applied)')
        detail = f'{where}: {"; ".join(cause)}. Loss terms: {what}.'
        if self.policy == 'skip':
            self.num_skipped += 1
            self.consecutive += 1
            runner.logger.warning(f'NonFiniteLossHook: skipped {detail} {self.num_skipped} steps '
                                  'skipped so far.')
            if self.max_consecutive_skips is None or self.consecutive < self.max_consecutive_skips:
                return
            detail += f' {self.consecutive} steps in a row were skipped (max_consecutive_skips).'
        last = runner.message_hub.get_info('last_ckpt')
        resume = (f'The last good checkpoint is {last}; resume from it with --resume {last}'
                  if last else 'No checkpoint was saved before this iteration')
        raise NonFiniteLossError(
            f'Training stopped at {detail} {resume}. To skip such steps instead, set '
            "default_hooks.nonfinite_loss=dict(type='NonFiniteLossHook', policy='skip').")


def _loss_terms(outputs) -> Dict[str, float]:
    if not isinstance(outputs, dict):
        return {}
    terms = {}
    for key, value in outputs.items():
        if 'loss' not in key:
            continue
        if isinstance(value, torch.Tensor):
            value = value.detach().float().mean().item()
        if isinstance(value, (int, float)):
            terms[key] = float(value)
    return terms
