"""Models: ReID model base, backbones, necks, heads, losses, data preprocessor."""
from . import backbones, data_preprocessors, heads, losses, necks, reid  # noqa: F401
from .data_preprocessors import *  # noqa: F401,F403
from .reid import *  # noqa: F401,F403
