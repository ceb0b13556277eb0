"""Hooks of the engine: crash-safe checkpoints, non-finite loss policy, evaluation RNG isolation."""
from .checkpoint_hook import ReIDCheckpointHook
from .eval_rng_hook import EvalRNGIsolationHook
from .nonfinite_loss_hook import NonFiniteLossError, NonFiniteLossHook

__all__ = ['ReIDCheckpointHook', 'EvalRNGIsolationHook', 'NonFiniteLossHook', 'NonFiniteLossError']
