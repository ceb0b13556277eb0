"""Engine: the runner (atomic checkpoints, exact resume), evaluation loops over several test
sets, hooks."""
from . import hooks, runner  # noqa: F401
from .runner import *  # noqa: F401,F403
