"""CLIP ViT image encoder as a ReID backbone (Radford et al., ICML 2021, Sec. 2.4; CLIP-ReID / DRFormer use it).

CLIP's image tower is a pre-norm ViT with an extra LayerNorm before the blocks (``ln_pre``), QuickGELU in the
OpenAI weights, no bias in the patch conv, a final ``ln_post`` and a linear projection ``proj`` to the joint
embedding. Here it runs on timm blocks through :class:`ViTReID` (one implementation of extra tokens, SIE and the
SDPA attention mask), with the architecture read from open_clip's model config and the weights mapped from
the OpenAI TorchScript release (``ViT-B-16.pt``) or open_clip state dicts (``visual.*`` keys).
"""
import re
from functools import partial
from typing import Dict, Optional, Union

import open_clip
import torch
from mmengine.logging import MMLogger
from torch import nn

from reidengine.registry import MODELS
from .vit import _ARCH_KEYS, ViTReID, build_timm_vit
from .weight_loading import preview_keys

__all__ = ['CLIPViTReID', 'convert_clip_weights', 'clip_arch_from_open_clip']

# open_clip / OpenAI visual keys -> this module's keys (applied in order, after stripping "visual.").
_CLIP_KEY_MAP = (
    (r'^conv1\.weight$', 'patch_embed.proj.weight'),
    (r'^class_embedding$', 'cls_token'),
    (r'^positional_embedding$', 'pos_embed'),
    (r'^ln_pre\.', 'norm_pre.'),
    (r'^ln_post\.', 'norm.'),
    (r'^transformer\.resblocks\.(\d+)\.ln_1\.', r'blocks.\1.norm1.'),
    (r'^transformer\.resblocks\.(\d+)\.ln_2\.', r'blocks.\1.norm2.'),
    (r'^transformer\.resblocks\.(\d+)\.attn\.in_proj_(weight|bias)$', r'blocks.\1.attn.qkv.\2'),
    (r'^transformer\.resblocks\.(\d+)\.attn\.out_proj\.', r'blocks.\1.attn.proj.'),
    (r'^transformer\.resblocks\.(\d+)\.mlp\.c_fc\.', r'blocks.\1.mlp.fc1.'),
    (r'^transformer\.resblocks\.(\d+)\.mlp\.c_proj\.', r'blocks.\1.mlp.fc2.'),
    (r'^transformer\.resblocks\.(\d+)\.ls_(\d)\.gamma$', r'blocks.\1.ls\2.gamma'),
)


def clip_arch_from_open_clip(name: str) -> dict:
    """Size arguments of an open_clip ViT image tower from open_clip's bundled model config."""
    cfg = open_clip.get_model_config(name)
    if cfg is None:
        raise ValueError(f'arch="{name}" is not an open_clip model config; e.g. ViT-B-16, ViT-B-32, ViT-L-14')
    vision = cfg['vision_cfg']
    if vision.get('timm_model_name') or not isinstance(vision.get('layers'), int):
        raise ValueError(f'arch="{name}": its image tower is not a plain open_clip ViT')
    arch = dict(embed_dim=vision['width'], depth=vision['layers'],
                num_heads=vision['width'] // vision.get('head_width', 64),
                mlp_ratio=vision.get('mlp_ratio', 4.0), output_dim=cfg['embed_dim'],
                patch_size=vision['patch_size'])
    if vision.get('ls_init_value') is not None:
        arch['init_values'] = vision['ls_init_value']
    return arch


def convert_clip_weights(state_dict: Dict[str, torch.Tensor], source: str = '<state dict>',
                         logger=None) -> Dict[str, torch.Tensor]:
    """OpenAI (TorchScript ``state_dict()``) or open_clip CLIP weights -> :class:`CLIPViTReID` keys.

    The text tower is dropped; ``class_embedding`` (D,) becomes ``cls_token`` (1, 1, D) and
    ``positional_embedding`` (1 + 14*14, D) becomes ``pos_embed`` (1, 1 + 14*14, D). Keys of the image
    tower without a counterpart here (e.g. attention pooling) are kept and reported as unexpected.
    """
    if any(k.startswith('visual.') for k in state_dict):
        visual = {k[len('visual.'):]: v for k, v in state_dict.items() if k.startswith('visual.')}
        dropped = len(state_dict) - len(visual)
    elif 'conv1.weight' in state_dict:
        visual, dropped = dict(state_dict), 0
    else:
        raise ValueError(f'{source}: not a CLIP checkpoint (no "visual.conv1.weight" or "conv1.weight"); '
                         f'keys: {preview_keys(list(state_dict))}')
    if dropped:
        (logger or MMLogger.get_current_instance()).info(
            f'{source}: ignored {dropped} keys outside the image tower (text encoder, logit scale)')
    out = {}
    for key, value in visual.items():
        for pattern, repl in _CLIP_KEY_MAP:
            new_key, hits = re.subn(pattern, repl, key)
            if hits:
                key = new_key
                break
        out[key] = value
    if 'cls_token' in out:
        out['cls_token'] = out['cls_token'].reshape(1, 1, -1)
    if 'pos_embed' in out and out['pos_embed'].dim() == 2:
        out['pos_embed'] = out['pos_embed'].unsqueeze(0)
    return out


@MODELS.register_module()
class CLIPViTReID(ViTReID):
    """CLIP image encoder returning all tokens after ``ln_post`` (and ``proj`` when ``use_proj``).

    Same extras, forward signature and attributes as :class:`ViTReID`. Differences:

    Args:
        arch: open_clip model name (``'ViT-B-16'``) or ``dict(embed_dim, depth, num_heads, mlp_ratio,
            init_values, output_dim)`` (``output_dim`` defaults to ``embed_dim``).
        use_proj: apply CLIP's projection to every output token (``embed_dim`` becomes ``output_dim``,
            512 for ViT-B/16); False keeps the 768-d tokens.
        act_layer: ``'quick_gelu'`` for the OpenAI weights, ``'gelu'`` for open_clip's own trainings.
        weights_format: ``'auto'``, ``'openai'`` (TorchScript ``ViT-B-16.pt``), ``'open_clip'`` (state dict with
            ``visual.*`` keys, ``.bin`` / ``.safetensors``) or ``'reidengine'`` (converted layout).
        Other arguments: see :class:`ViTReID`.
    """
    weights_formats = ('auto', 'openai', 'open_clip', 'reidengine')

    def __init__(self, arch: Union[str, dict] = 'ViT-B-16', img_size=(256, 128), patch_size: int = 16,
                 stride_size: int = 16, use_proj: bool = True, act_layer: str = 'quick_gelu',
                 pretrained: Optional[str] = None, weights_format: str = 'auto', **kwargs):
        arch = clip_arch_from_open_clip(arch) if isinstance(arch, str) else dict(arch)
        arch_patch = arch.pop('patch_size', patch_size)
        if arch_patch != patch_size:
            raise ValueError(f'CLIPViTReID: patch_size={patch_size} but the open_clip model has patches '
                             f'of {arch_patch}')
        output_dim = arch.pop('output_dim', arch.get('embed_dim'))
        super().__init__(arch=dict(arch, act_layer=act_layer), img_size=img_size, patch_size=patch_size,
                         stride_size=stride_size, weights_format=weights_format, **kwargs)
        self.use_proj = use_proj
        if use_proj:
            self.proj = nn.Parameter(self.width ** -0.5 * torch.randn(self.width, output_dim))
            self.embed_dim = output_dim
        if pretrained is not None:  # after ``proj`` exists
            self.load_pretrained_weights(pretrained, weights_format)

    def _build_vit(self, arch: dict, **kwargs):
        """timm's CLIP image tower: ln_pre (``pre_norm``, which also drops the patch-conv bias), LayerNorm eps 1e-5."""
        defaults = dict(pre_norm=True, norm_layer=partial(nn.LayerNorm, eps=1e-5))
        return build_timm_vit(arch, defaults=defaults, allowed_keys=_ARCH_KEYS + ('act_layer', ), **kwargs)

    def output(self, x: torch.Tensor) -> torch.Tensor:
        """``ln_post`` then, with ``use_proj``, CLIP's projection on every token."""
        x = self.norm(x)
        return x @ self.proj if self.use_proj else x

    def convert_weights(self, state_dict, weights_format='auto', source='<state dict>'):
        if weights_format == 'reidengine' or (weights_format == 'auto' and 'patch_embed.proj.weight' in state_dict):
            return dict(state_dict)
        return convert_clip_weights(state_dict, source=source)
