"""Validation that leaves the training randomness untouched (docs/reliability.md, "Resume").

Evaluating during training draws from the global generators (each data-loader iterator takes a
seed from torch's generator). Then the training after a validation differs from a run resumed
from the checkpoint saved just before it, and from a run validating at another interval. This
hook saves every generator's state before validation and restores it afterwards.
"""
from mmengine.hooks import Hook

from reidengine.registry import HOOKS
from ..runner.checkpoint_io import get_rng_state, set_rng_state

__all__ = ['EvalRNGIsolationHook']


@HOOKS.register_module()
class EvalRNGIsolationHook(Hook):
    """Restores python / numpy / torch (CPU, CUDA) generator states after each validation."""

    priority = 'LOWEST'  # restore after every other hook's after_val

    def __init__(self):
        self._state = None

    def before_val(self, runner) -> None:
        self._state = get_rng_state()

    def after_val(self, runner) -> None:
        if self._state is not None:
            set_rng_state(self._state)
            self._state = None
