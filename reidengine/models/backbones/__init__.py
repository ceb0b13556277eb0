"""Backbones: the ViT family on timm / open_clip (ViT, CLIP, DINOv2) and ResNet / ResNet-IBN-a.

The backbone contract (what models and plugins may rely on; ``check_backbone`` checks it):

- ``forward(x, **kwargs)`` on a (B, 3, H, W) batch. Keyword arguments come from the model's
  ``backbone_kwargs()``: ``camids`` (B,) when ``uses_camera`` is true; ViTs also take
  ``attn_mask`` (T, T) bool, True = may attend.
- ``uses_camera``: bool, whether forward needs ``camids`` (camera embedding, SIE).
- ViT family (``ViTReID``, ``CLIPViTReID``, ``DINOv2ReID``): returns every token after the final
  norm, (B, num_prefix_tokens + rows * cols, embed_dim), ordered ``[cls, extra_1..E, patches
  row-major]``; attributes ``grid_size`` (rows, cols), ``num_prefix_tokens`` (1 + E),
  ``num_extra_tokens``, ``embed_dim``, ``img_size``; ``attn_layer`` and ``grad_checkpointing``
  are its extension points.
- CNNs (``ResNetReID``): NCHW maps of the stages in ``out_indices`` (one tensor or a tuple);
  ``out_channels`` lists their channels; ``forward_stages(x, first, last)`` and ``stage(i)``
  (0 = stem, 1..4 = layer1..4) serve multi-branch models.
"""
from .clip_vit import *  # noqa: F401,F403
from .contract import check_backbone
from .dinov2 import *  # noqa: F401,F403
from .resnet import *  # noqa: F401,F403
from .vit import *  # noqa: F401,F403
