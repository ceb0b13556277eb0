"""Engine: the runner (atomic checkpoints, exact resume), evaluation loops over several test
sets, hooks, mixed precision."""
from . import amp, hooks, runner  # noqa: F401
from .amp import MixedPrecisionOptimWrapper  # noqa: F401
from .runner import *  # noqa: F401,F403
