"""Engine: evaluation loops over several test sets, hooks, optimizer constructors."""
from . import amp, hooks, runner  # noqa: F401
from .amp import MixedPrecisionOptimWrapper  # noqa: F401
from .runner import *  # noqa: F401,F403
