"""Backbones (issue 3): ViT family on timm / open_clip, ResNet with IBN-a."""
from .clip_vit import *  # noqa: F401,F403
from .dinov2 import *  # noqa: F401,F403
from .mobilenetv2 import *  # noqa: F401,F403
from .resnet import *  # noqa: F401,F403
from .vit import *  # noqa: F401,F403
