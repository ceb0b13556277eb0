"""Models: ReID model bases (one or several backbones), backbones, necks, heads, losses, shared
layers and the data preprocessor. Every component is re-exported here."""
from . import backbones, data_preprocessors, heads, layers, losses, necks, reid  # noqa: F401
from .backbones import (CLIPViTReID, DINOv2ReID, ResNetReID, ViTReID,  # noqa: F401
                        check_backbone)
from .data_preprocessors import *  # noqa: F401,F403
from .heads import *  # noqa: F401,F403
from .layers import *  # noqa: F401,F403
from .losses import *  # noqa: F401,F403
from .necks import *  # noqa: F401,F403
from .reid import *  # noqa: F401,F403
