"""DINOv2 ViT as a ReID backbone (Oquab et al., TMLR 2024, Sec. 5 / Table 16: ViT-B/14 with layer scale;
DRFormer uses it at 252 x 126, an 18 x 9 patch grid).

The register-free DINOv2 ViT is a timm ``VisionTransformer`` with patch 14, LayerScale (``init_values``) and
LayerNorm eps 1e-6 (timm ``vit_base_patch14_dinov2``), so :class:`DINOv2ReID` is :class:`ViTReID` with those
defaults and a converter for Meta's checkpoints (``dinov2_vitb14_pretrain.pth``): same key names as timm
(``blocks.N.ls1.gamma``...) plus ``mask_token`` (dropped) and, for chunked FSDP checkpoints,
``blocks.<chunk>.<N>.*`` keys. The 37 x 37 position grid (518 / 14) is resampled to the ReID grid.
"""
import re
from typing import Dict, Optional, Union

import torch

from reidengine.registry import MODELS
from .vit import ViTReID
from .weight_loading import preview_keys

__all__ = ['DINOv2ReID', 'convert_dinov2_weights']

_CHUNKED_BLOCK = re.compile(r'^blocks\.\d+\.(\d+)\.')


def convert_dinov2_weights(state_dict: Dict[str, torch.Tensor],
                           source: str = '<state dict>') -> Dict[str, torch.Tensor]:
    """Meta's DINOv2 (or timm) ViT weights -> :class:`DINOv2ReID` keys.

    Drops ``mask_token`` (masked-image-modelling only); ``blocks.<chunk>.<N>.*`` -> ``blocks.<N>.*`` (Meta's
    ``BlockChunk`` keeps the global block index N). Register and SwiGLU variants are refused.
    """
    if 'patch_embed.proj.weight' not in state_dict:
        raise ValueError(f'{source}: not a DINOv2 ViT checkpoint (no "patch_embed.proj.weight"); '
                         f'keys: {preview_keys(list(state_dict))}')
    if 'register_tokens' in state_dict or 'reg_token' in state_dict:
        raise ValueError(f'{source}: a DINOv2 checkpoint with registers; DINOv2ReID is the register-free '
                         'model (use dinov2_vitb14_pretrain.pth, not the *_reg4_* release)')
    if any('.mlp.w12.' in k for k in state_dict):
        raise ValueError(f'{source}: a SwiGLU DINOv2 (ViT-g); DINOv2ReID supports the MLP variants (S/B/L)')
    return {_CHUNKED_BLOCK.sub(r'blocks.\1.', k): v for k, v in state_dict.items() if k != 'mask_token'}


@MODELS.register_module()
class DINOv2ReID(ViTReID):
    """DINOv2 ViT returning all tokens after the final norm; extras and attributes as :class:`ViTReID`.

    Args:
        arch: timm name (``'vit_base_patch14_dinov2'``) or ``dict(embed_dim, depth, num_heads, ...)``;
            dicts get layer scale ``init_values=1e-5`` unless they set it.
        img_size: 252 x 126 by default (18 x 9 grid of 14-pixel patches).
        weights_format: ``'auto'``, ``'meta'`` (``dinov2_vitb14_pretrain.pth``), ``'timm'`` or ``'reidengine'``.
        pos_embed_interp: ``'bicubic'`` by default, as DINOv2 resamples its position embeddings.
        Other arguments: see :class:`ViTReID`.
    """
    weights_formats = ('auto', 'meta', 'timm', 'reidengine')
    _arch_defaults = dict(init_values=1e-5)

    def __init__(self, arch: Union[str, dict] = 'vit_base_patch14_dinov2', img_size=(252, 126),
                 patch_size: int = 14, stride_size: int = 14, pos_embed_interp: str = 'bicubic',
                 pretrained: Optional[str] = None, weights_format: str = 'auto', **kwargs):
        super().__init__(arch=arch, img_size=img_size, patch_size=patch_size, stride_size=stride_size,
                         pos_embed_interp=pos_embed_interp, pretrained=pretrained,
                         weights_format=weights_format, **kwargs)

    def convert_weights(self, state_dict, weights_format='auto', source='<state dict>'):
        return convert_dinov2_weights(state_dict, source=source)
