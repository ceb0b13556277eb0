"""Set-up helpers: component registration (``setup_env``), the config knobs that reach the dicts
using them (``config_knobs``, docs/configs.md) and the tools' runner set-up (``runner_utils``:
config loading, options, distributed launch)."""
from .setup_env import register_all_modules

__all__ = ['register_all_modules']
