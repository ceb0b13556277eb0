"""Vision Transformer backbone for ReID, and the token "extras" shared by the whole ViT family (backbone issue).

- ViT (Dosovitskiy et al., ICLR 2021, eq. 1-4): timm's ``VisionTransformer`` blocks, pre-norm, final LayerNorm.
- Overlapping patches (TransReID, He et al., ICCV 2021, Sec. 3.2): a patch-embedding conv with stride
  ``S <= P`` gives a ``((H - P) // S + 1) x ((W - P) // S + 1)`` grid; the conv weights do not depend on S.
- Side information embedding (TransReID Sec. 3.3, eq. 6): ``lambda * S[camid]`` added to every token
  (or only the first extra token, DRFormer Sec. 3.2).
- Extra learnable tokens after [cls] (PAT part tokens, Ni et al., ICCV 2023, Sec. 3.1; DRFormer learnable
  tokens), initialised from the pretrained [cls] token and its position embedding, or randomly.
- One boolean attention mask shared by the batch, all layers and all heads (PAT eq. 3-4), applied by
  ``F.scaled_dot_product_attention`` (True = may attend).
- Pretrained position embeddings resampled to the ReID grid (TransReID's ``resize_pos_embed``).
- Attention replacement point (as timm's ``attn_layer``): ``attn_layer=dict(type=...)`` builds a
  registered subclass of timm's ``Attention`` for every block (or ``attn_layer_indices``), with the
  block's own sizes and ``layer_index``, and loads the original attention's weights into it strictly,
  so the checkpoint keys (``blocks.i.attn.qkv``, ``.proj``) are unchanged (AAformer's auto-alignment).
- Gradient checkpointing in the block loop (as timm's ``set_grad_checkpointing``): activations of a
  block are recomputed in the backward pass instead of kept (two ViT-B encoders at once: DRFormer).

``ViTReID`` holds the shared implementation; ``CLIPViTReID`` (clip_vit.py) and ``DINOv2ReID`` (dinov2.py)
only change how the blocks are configured and how checkpoints are converted to this module's key layout.
"""
import math
from typing import Dict, Optional, Sequence, Tuple, Union

import timm
import torch
import torch.nn.functional as F
from mmengine.logging import MMLogger
from timm.models.vision_transformer import Attention, VisionTransformer
from torch.utils.checkpoint import checkpoint
from torch import nn

from reidengine.registry import MODELS
from .weight_loading import load_pretrained, load_state_dict_safe, preview_keys

__all__ = ['ViTReID', 'PatchEmbed', 'resize_pos_embed', 'build_timm_vit', 'convert_vit_weights',
           'infer_vit_arch']

_ARCH_KEYS = ('embed_dim', 'depth', 'num_heads', 'mlp_ratio', 'qkv_bias', 'init_values')
_INTERP_MODES = ('bilinear', 'bicubic')
_SIE_TARGETS = ('all_tokens', 'first_extra_token')


def _pair(value, name: str) -> Tuple[int, int]:
    pair = (value, value) if isinstance(value, int) else tuple(value)
    if len(pair) != 2 or not all(isinstance(v, int) and v > 0 for v in pair):
        raise ValueError(f'{name} must be a positive int or (height, width), got {value!r}')
    return pair


def build_timm_vit(arch: Union[str, dict], defaults: Optional[dict] = None,
                   allowed_keys: Sequence[str] = _ARCH_KEYS, **kwargs) -> VisionTransformer:
    """A randomly initialised timm ``VisionTransformer`` (never downloads weights).

    Args:
        arch: a timm model name (``'vit_base_patch16_224'``) or a dict of size arguments
            (``dict(embed_dim=64, depth=2, num_heads=2)``) for small models.
        defaults: ``VisionTransformer`` arguments a dict ``arch`` starts from (norm, activation...).
        allowed_keys: keys a dict ``arch`` may hold.
        kwargs: arguments passed in both cases (image size, drop rates...).
    """
    if isinstance(arch, str):
        try:
            model = timm.create_model(arch, pretrained=False, **kwargs)
        except (RuntimeError, TypeError) as err:  # unknown name / not a ViT (no img_size, patch_size...)
            raise ValueError(f'arch="{arch}" is not a timm ViT model name ({err}); e.g. '
                             f'{", ".join(timm.list_models("vit_base_patch1*")[:6])}') from err
        if not isinstance(model, VisionTransformer):
            raise ValueError(f'arch="{arch}" builds a timm {type(model).__name__}, expected a VisionTransformer')
        if model.cls_token is None or model.num_reg_tokens or model.no_embed_class:
            raise ValueError(f'arch="{arch}": expected a ViT with a class token and position embeddings on every '
                             'token, without register tokens (e.g. vit_base_patch16_224, vit_base_patch14_dinov2)')
        return model
    if not isinstance(arch, dict):
        raise TypeError(f'arch must be a timm model name or a dict, got {type(arch).__name__}')
    unknown = sorted(set(arch) - set(allowed_keys))
    if unknown:
        raise ValueError(f'arch has unknown keys {unknown}; allowed: {list(allowed_keys)}')
    missing = [k for k in ('embed_dim', 'depth', 'num_heads') if k not in arch]
    if missing:
        raise ValueError(f'arch dict misses {missing}; e.g. dict(embed_dim=64, depth=2, num_heads=2)')
    return VisionTransformer(**{**(defaults or {}), **arch, **kwargs})


def resize_pos_embed(pos_embed: torch.Tensor, new_grid: Tuple[int, int], num_prefix_tokens: int = 1,
                     old_grid: Optional[Tuple[int, int]] = None, mode: str = 'bilinear') -> torch.Tensor:
    """Resample the grid part of a ``(1, prefix + h * w, D)`` position embedding to ``new_grid``.

    The prefix (cls) embeddings are kept; the ``h x w`` grid (row-major, as patches are flattened) is
    interpolated with ``F.interpolate`` (TransReID's ``resize_pos_embed``). ``old_grid`` defaults to the
    square grid of the pretraining resolution (14 x 14 for ViT-B/16 at 224, 37 x 37 for DINOv2 at 518).
    """
    prefix, grid = pos_embed[:, :num_prefix_tokens], pos_embed[:, num_prefix_tokens:]
    num_patches, dim = grid.shape[1], grid.shape[2]
    if old_grid is None:
        side = math.isqrt(num_patches)
        if side * side != num_patches:
            raise ValueError(f'pos_embed has {num_patches} grid positions (after {num_prefix_tokens} prefix '
                             'tokens), not a square grid; give its (rows, cols) (backbone argument pretrained_grid)')
        old_grid = (side, side)
    if old_grid[0] * old_grid[1] != num_patches:
        raise ValueError(f'pos_embed has {num_patches} grid positions, not {old_grid[0]}x{old_grid[1]}')
    grid = grid.reshape(1, old_grid[0], old_grid[1], dim).permute(0, 3, 1, 2)
    grid = F.interpolate(grid.float(), size=tuple(new_grid), mode=mode, align_corners=False)
    grid = grid.permute(0, 2, 3, 1).reshape(1, new_grid[0] * new_grid[1], dim).to(pos_embed.dtype)
    return torch.cat([prefix, grid], dim=1)


def convert_vit_weights(state_dict: Dict[str, torch.Tensor], source: str = '<state dict>') -> Dict[str, torch.Tensor]:
    """timm ViT weights -> :class:`ViTReID` keys (the same layout; classifier keys are left to be reported).

    timm checkpoints, including the 2020 ``jx_vit_base_p16_224-80ecf9dd.pth`` that TransReID-based code
    loads, and DeiT checkpoints (``model`` nesting, unwrapped on loading) share this layout.
    """
    if 'patch_embed.proj.weight' not in state_dict:
        raise ValueError(f'{source}: not a timm / reidengine ViT checkpoint (no "patch_embed.proj.weight"); '
                         f'keys: {preview_keys(list(state_dict))}')
    return dict(state_dict)


def infer_vit_arch(state_dict: Dict[str, torch.Tensor], source: str = '<state dict>') -> Tuple[dict, int]:
    """``(arch dict, patch size)`` read from weights in this module's layout (for converters).

    The number of heads does not change any weight shape; it is set to ``embed_dim // 64`` (ViT-S/B/L).
    """
    try:
        conv = state_dict['patch_embed.proj.weight']
        depth = 1 + max(int(k.split('.')[1]) for k in state_dict if k.startswith('blocks.'))
        embed_dim = conv.shape[0]
        arch = dict(embed_dim=embed_dim, depth=depth, num_heads=max(1, embed_dim // 64),
                    mlp_ratio=state_dict['blocks.0.mlp.fc1.weight'].shape[0] / embed_dim,
                    qkv_bias='blocks.0.attn.qkv.bias' in state_dict)
    except (KeyError, ValueError) as err:
        raise ValueError(f'{source}: cannot read the ViT architecture from its keys ({err}); '
                         f'keys: {preview_keys(list(state_dict))}') from err
    if 'blocks.0.ls1.gamma' in state_dict:
        arch['init_values'] = 1e-5  # any value: the loaded gammas replace it
    return arch, conv.shape[-1]


class PatchEmbed(nn.Module):
    """Patch embedding conv with its own stride (overlapping patches when stride < patch, TransReID Sec. 3.2)."""

    def __init__(self, img_size: Tuple[int, int], patch_size: int, stride: int, in_chans: int,
                 embed_dim: int, bias: bool = True):
        super().__init__()
        if not 0 < stride <= patch_size:
            raise ValueError(f'stride_size must be in [1, patch_size={patch_size}], got {stride}')
        if min(img_size) < patch_size:
            raise ValueError(f'img_size {img_size} is smaller than patch_size {patch_size}')
        self.img_size = img_size
        self.grid_size = tuple((size - patch_size) // stride + 1 for size in img_size)
        self.num_patches = self.grid_size[0] * self.grid_size[1]
        self.proj = nn.Conv2d(in_chans, embed_dim, kernel_size=patch_size, stride=stride, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if tuple(x.shape[-2:]) != self.img_size:
            raise ValueError(f'input images are {tuple(x.shape[-2:])} (H, W) but the backbone was built for '
                             f'img_size={self.img_size}; resize them in the pipeline or change img_size')
        return self.proj(x).flatten(2).transpose(1, 2)  # (B, rows * cols, D), row-major


@MODELS.register_module()
class ViTReID(nn.Module):
    """ViT backbone returning all tokens ``[cls, extra_1..E, patches]`` after the final norm.

    Args:
        arch: timm model name (``'vit_base_patch16_224'``) or ``dict(embed_dim, depth, num_heads,
            mlp_ratio, qkv_bias, init_values)`` for small models.
        img_size: (H, W) of the input images.
        patch_size: patch size P.
        stride_size: patch stride S; S < P gives overlapping patches (TransReID uses 12).
        num_extra_tokens: learnable tokens placed after cls (PAT part tokens, learnable queries).
        extra_token_init: ``'cls'``: copies of the (pretrained) cls token and cls position embedding;
            ``'random'``: tokens trunc-normal (std 0.02), their position embeddings zero.
        sie_num_cams: number of cameras of the camera embedding (SIE); 0 disables it.
        sie_coef: SIE coefficient lambda.
        sie_target: ``'all_tokens'`` (TransReID) or ``'first_extra_token'`` (DRFormer).
        drop_rate: dropout after the position embedding and in the blocks' projections.
        attn_drop_rate: attention dropout. drop_path_rate: stochastic depth, linear over the blocks.
        pretrained: local checkpoint path (see ``weights_formats``), loaded at construction.
        weights_format: one of ``weights_formats``; ``'auto'`` tells it from the keys.
        pos_embed_interp: ``'bilinear'`` (TransReID) or ``'bicubic'`` resampling of pretrained position
            embeddings to the ReID grid.
        pretrained_grid: (rows, cols) of the checkpoint's position grid; needed only when it is not
            square (e.g. a ReID checkpoint trained at 256x128); square grids are inferred.
        frozen_patch_embed: freeze the patch embedding (PAT).
        in_chans: image channels.
        attn_layer: config of a registered subclass of timm's ``Attention`` that replaces the blocks'
            attention; built with the block's ``dim``, ``num_heads``, ``qkv_bias``, ``qk_norm``,
            ``proj_bias``, ``attn_drop``, ``proj_drop`` and ``layer_index`` plus its own arguments,
            then given the original attention's weights (same keys). Its forward is
            ``forward(x, attn_mask=None)``.
        attn_layer_indices: blocks whose attention is replaced (default: all).
        grad_checkpointing: recompute each block's activations in the backward pass (less memory,
            about one more forward of compute); also ``set_grad_checkpointing()``.
    """
    weights_formats = ('auto', 'timm', 'reidengine')
    _arch_defaults: dict = {}

    def __init__(self,
                 arch: Union[str, dict] = 'vit_base_patch16_224',
                 img_size: Union[int, Sequence[int]] = (256, 128),
                 patch_size: int = 16,
                 stride_size: int = 16,
                 num_extra_tokens: int = 0,
                 extra_token_init: str = 'cls',
                 sie_num_cams: int = 0,
                 sie_coef: float = 3.0,
                 sie_target: str = 'all_tokens',
                 drop_rate: float = 0.0,
                 attn_drop_rate: float = 0.0,
                 drop_path_rate: float = 0.1,
                 pretrained: Optional[str] = None,
                 weights_format: str = 'auto',
                 pos_embed_interp: str = 'bilinear',
                 pretrained_grid: Optional[Sequence[int]] = None,
                 frozen_patch_embed: bool = False,
                 in_chans: int = 3,
                 attn_layer: Optional[dict] = None,
                 attn_layer_indices: Optional[Sequence[int]] = None,
                 grad_checkpointing: bool = False):
        super().__init__()
        name = type(self).__name__
        if extra_token_init not in ('cls', 'random'):
            raise ValueError(f'{name}: extra_token_init must be "cls" or "random", got {extra_token_init!r}')
        if sie_target not in _SIE_TARGETS:
            raise ValueError(f'{name}: sie_target must be one of {_SIE_TARGETS}, got {sie_target!r}')
        if sie_target == 'first_extra_token' and sie_num_cams > 0 and num_extra_tokens < 1:
            raise ValueError(f'{name}: sie_target="first_extra_token" needs num_extra_tokens >= 1')
        if pos_embed_interp not in _INTERP_MODES:
            raise ValueError(f'{name}: pos_embed_interp must be one of {_INTERP_MODES}, got {pos_embed_interp!r}')
        if weights_format not in self.weights_formats:
            raise ValueError(f'{name}: weights_format must be one of {self.weights_formats}, got {weights_format!r}')
        if num_extra_tokens < 0 or sie_num_cams < 0:
            raise ValueError(f'{name}: num_extra_tokens and sie_num_cams must be >= 0')
        self.img_size = _pair(img_size, 'img_size')
        self.patch_size, self.stride_size = patch_size, stride_size
        self.num_extra_tokens = num_extra_tokens
        self.num_prefix_tokens = 1 + num_extra_tokens
        self.extra_token_init = extra_token_init
        self.sie_num_cams, self.sie_coef, self.sie_target = sie_num_cams, sie_coef, sie_target
        self.uses_camera = sie_num_cams > 0
        self.pos_embed_interp = pos_embed_interp
        self.pretrained_grid = None if pretrained_grid is None else _pair(pretrained_grid, 'pretrained_grid')

        vit = self._build_vit(arch, img_size=self.img_size, patch_size=patch_size, in_chans=in_chans,
                              num_classes=0, global_pool='token', class_token=True,
                              pos_drop_rate=drop_rate, proj_drop_rate=drop_rate,
                              attn_drop_rate=attn_drop_rate, drop_path_rate=drop_path_rate)
        self.width = self.embed_dim = vit.embed_dim
        # Patch embedding with the ReID stride; timm's conv init, its bias only where timm has one (not CLIP).
        timm_conv = vit.patch_embed.proj
        self.patch_embed = PatchEmbed(self.img_size, patch_size, stride_size, in_chans, self.width,
                                      bias=timm_conv.bias is not None)
        self.patch_embed.proj.load_state_dict(timm_conv.state_dict())
        self.grid_size = self.patch_embed.grid_size
        self.cls_token = vit.cls_token
        self.pos_embed = nn.Parameter(torch.zeros(1, 1 + self.patch_embed.num_patches, self.width))
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        if num_extra_tokens:
            self.extra_tokens = nn.Parameter(torch.zeros(1, num_extra_tokens, self.width))
            self.extra_pos_embed = nn.Parameter(torch.zeros(1, num_extra_tokens, self.width))
            self._init_extra_tokens()
        if self.uses_camera:
            self.sie_embed = nn.Parameter(torch.zeros(sie_num_cams, 1, self.width))
            nn.init.trunc_normal_(self.sie_embed, std=0.02)
        self.pos_drop = vit.pos_drop
        self.norm_pre = vit.norm_pre
        self.blocks = vit.blocks
        self.norm = vit.norm
        for block in self.blocks:  # masked attention must go through F.scaled_dot_product_attention
            if hasattr(block.attn, 'fused_attn'):
                block.attn.fused_attn = True
        del vit
        if attn_layer is not None:
            self._replace_attention(attn_layer, attn_layer_indices)
        self.grad_checkpointing = grad_checkpointing

        self.frozen_patch_embed = frozen_patch_embed
        if frozen_patch_embed:
            self.patch_embed.requires_grad_(False)
        if pretrained is not None:
            self.load_pretrained_weights(pretrained, weights_format)

    # ------------------------------------------------------------------ construction hooks (subclasses)
    def _build_vit(self, arch: Union[str, dict], **kwargs) -> VisionTransformer:
        """The timm model whose blocks and norms this backbone takes over."""
        return build_timm_vit(arch, defaults=self._arch_defaults, **kwargs)

    def _replace_attention(self, cfg: dict, indices: Optional[Sequence[int]]) -> None:
        """Swap the blocks' attention for ``cfg``'s class, keeping their weights and keys."""
        name = type(self).__name__
        depth = len(self.blocks)
        indices = list(range(depth)) if indices is None else list(indices)
        if any(not isinstance(i, int) or not 0 <= i < depth for i in indices):
            raise ValueError(f'{name}: attn_layer_indices must be block indices in [0, {depth}), '
                             f'got {indices}')
        for i in indices:
            old = self.blocks[i].attn
            new = MODELS.build(dict(cfg, dim=old.qkv.in_features, num_heads=old.num_heads,
                                    qkv_bias=old.qkv.bias is not None,
                                    qk_norm=not isinstance(old.q_norm, nn.Identity),
                                    proj_bias=old.proj.bias is not None,
                                    attn_drop=old.attn_drop.p, proj_drop=old.proj_drop.p,
                                    layer_index=i))
            if not isinstance(new, Attention):
                raise TypeError(f'{name}: attn_layer {cfg.get("type")!r} builds a '
                                f'{type(new).__name__}; expected a subclass of timm\'s Attention '
                                '(so the checkpoint keys stay blocks.i.attn.qkv / .proj)')
            try:
                new.load_state_dict(old.state_dict())
            except RuntimeError as err:
                raise ValueError(f'{name}: attn_layer {cfg.get("type")!r} does not have the keys '
                                 f'of timm\'s Attention: {err}') from err
            if hasattr(new, 'fused_attn'):
                new.fused_attn = True
            self.blocks[i].attn = new

    def set_grad_checkpointing(self, enable: bool = True) -> None:
        """Recompute block activations in the backward pass (timm's method of the same name)."""
        self.grad_checkpointing = enable

    def _init_extra_tokens(self) -> None:
        with torch.no_grad():
            if self.extra_token_init == 'cls':
                self.extra_tokens.copy_(self.cls_token.expand_as(self.extra_tokens))
                self.extra_pos_embed.copy_(self.pos_embed[:, :1].expand_as(self.extra_pos_embed))
            else:
                nn.init.trunc_normal_(self.extra_tokens, std=0.02)
                self.extra_pos_embed.zero_()

    # ------------------------------------------------------------------ forward
    def embed(self, x: torch.Tensor, camids: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Images (B, C, H, W) -> input tokens (B, T, D): patches, prefix tokens, position and camera
        embeddings, dropout and the pre-norm (CLIP's ln_pre; identity for ViT / DINOv2)."""
        batch = x.shape[0]
        patches = self.patch_embed(x) + self.pos_embed[:, 1:]
        prefix = [(self.cls_token + self.pos_embed[:, :1]).expand(batch, -1, -1)]
        if self.num_extra_tokens:
            prefix.append((self.extra_tokens + self.extra_pos_embed).expand(batch, -1, -1))
        x = torch.cat(prefix + [patches], dim=1)
        if self.uses_camera:
            x = self._add_camera_embedding(x, camids)
        return self.norm_pre(self.pos_drop(x))

    def _add_camera_embedding(self, x: torch.Tensor, camids) -> torch.Tensor:
        name = type(self).__name__
        if camids is None:
            raise ValueError(f'{name} has a camera embedding (sie_num_cams={self.sie_num_cams}): '
                             'forward needs camids, a LongTensor (B,) of 0-based camera ids')
        camids = torch.as_tensor(camids, device=x.device).long().reshape(-1)
        if camids.numel() != x.shape[0]:
            raise ValueError(f'{name}: got {camids.numel()} camids for a batch of {x.shape[0]} images')
        if camids.numel() and (camids.min() < 0 or camids.max() >= self.sie_num_cams):
            raise ValueError(f'{name}: camera ids must be in [0, {self.sie_num_cams}) (sie_num_cams), got '
                             f'values {int(camids.min())}..{int(camids.max())}')
        sie = self.sie_coef * self.sie_embed[camids]  # (B, 1, D)
        if self.sie_target == 'all_tokens':
            return x + sie
        return torch.cat([x[:, :1], x[:, 1:2] + sie, x[:, 2:]], dim=1)

    def check_attn_mask(self, attn_mask: torch.Tensor) -> None:
        """Raise if ``attn_mask`` is not a bool (T, T) mask in which every token may attend somewhere."""
        num_tokens = self.num_prefix_tokens + self.grid_size[0] * self.grid_size[1]
        if not isinstance(attn_mask, torch.Tensor) or attn_mask.dtype != torch.bool or \
                tuple(attn_mask.shape) != (num_tokens, num_tokens):
            got = f'{attn_mask.dtype} {tuple(attn_mask.shape)}' if isinstance(attn_mask, torch.Tensor) \
                else type(attn_mask).__name__
            raise ValueError(f'attn_mask must be a torch.bool tensor of shape ({num_tokens}, {num_tokens}) '
                             f'({self.num_prefix_tokens} prefix tokens + {self.grid_size[0]}x'
                             f'{self.grid_size[1]} patches; True = may attend), got {got}')
        empty = (~attn_mask.any(dim=-1)).nonzero().flatten().tolist()
        if empty:
            raise ValueError(f'attn_mask rows {empty[:10]} are all False: those tokens would attend to nothing')

    def forward_blocks(self, x: torch.Tensor, attn_mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        """All transformer blocks, each with the same (T, T) boolean mask (True = may attend)."""
        if attn_mask is not None:
            self.check_attn_mask(attn_mask)
            attn_mask = attn_mask.to(x.device)
        for block in self.blocks:
            if self.grad_checkpointing and torch.is_grad_enabled():
                x = checkpoint(block, x, attn_mask, use_reentrant=False)
            else:
                x = block(x, attn_mask=attn_mask)
        return x

    def output(self, x: torch.Tensor) -> torch.Tensor:
        """Final LayerNorm (CLIP's ln_post; CLIP also applies its projection)."""
        return self.norm(x)

    def forward(self, x: torch.Tensor, camids: Optional[torch.Tensor] = None,
                attn_mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        """(B, C, H, W) -> (B, num_prefix_tokens + rows * cols, embed_dim) after the final norm."""
        return self.output(self.forward_blocks(self.embed(x, camids), attn_mask))

    # ------------------------------------------------------------------ pretrained weights
    def convert_weights(self, state_dict: Dict[str, torch.Tensor], weights_format: str = 'auto',
                        source: str = '<state dict>') -> Dict[str, torch.Tensor]:
        """Checkpoint -> this module's key layout, at the checkpoint's own resolution (see subclasses)."""
        return convert_vit_weights(state_dict, source=source)

    def load_pretrained_weights(self, path: str, weights_format: str = 'auto', logger=None) -> dict:
        """Load a local checkpoint (any layout of ``weights_formats``); returns the load report."""
        state_dict = self.convert_weights(load_state_dict_safe(path), weights_format, source=path)
        return self.load_converted(state_dict, source=path, logger=logger)

    def load_converted(self, state_dict: Dict[str, torch.Tensor], source: str = '<state dict>',
                       logger=None) -> dict:
        """Load weights already in this module's key layout: position embeddings resampled to this grid,
        extra tokens initialised from cls (``extra_token_init='cls'``), every backbone weight required.

        Returns ``load_pretrained``'s report (loaded / resized / missing / unexpected keys).
        """
        own = self.state_dict()
        extra_blocks = [k for k in state_dict if k.startswith('blocks.') and k not in own]
        if extra_blocks:
            raise ValueError(f'{source}: block weights unknown to {type(self).__name__} (depth {len(self.blocks)}): '
                             f'{preview_keys(extra_blocks)}; the checkpoint is for a deeper or different model')
        state_dict = dict(state_dict)
        if self.num_extra_tokens and self.extra_token_init == 'cls' and 'extra_tokens' not in state_dict \
                and 'cls_token' in state_dict and 'pos_embed' in state_dict:
            size = (1, self.num_extra_tokens, state_dict['cls_token'].shape[-1])
            state_dict['extra_tokens'] = state_dict['cls_token'].reshape(1, 1, -1).expand(size).clone()
            state_dict['extra_pos_embed'] = state_dict['pos_embed'][:, :1].expand(size).clone()
        new_keys = ['sie_embed'] + (['extra_tokens', 'extra_pos_embed']
                                    if self.extra_token_init == 'random' else [])
        return load_pretrained(self, state_dict, logger=logger or MMLogger.get_current_instance(),
                               source=source, resizers={'pos_embed': self._resize_pos_embed},
                               expected_missing=new_keys, require_all=True)

    def _resize_pos_embed(self, pos_embed: torch.Tensor, target_shape: torch.Size) -> torch.Tensor:
        if pos_embed.dim() != 3 or pos_embed.shape[-1] != target_shape[-1]:
            raise ValueError(f'pos_embed of shape {tuple(pos_embed.shape)} cannot be resampled to '
                             f'{tuple(target_shape)}: the embedding widths differ')
        return resize_pos_embed(pos_embed, self.grid_size, num_prefix_tokens=1, old_grid=self.pretrained_grid,
                                mode=self.pos_embed_interp)
