"""DRFormer (Shu et al., "DRFormer: A Dual-Regularized Bidirectional Transformer for Person
Re-identification", Sec. 3.2-3.3, Fig. 3): a DINOv2 and a CLIP image encoder read the same image,
each at its own resolution and with its own normalisation (``MultiBackboneReIDModel``); N learnable
tokens per encoder, the camera embedding on the first (eq. 8-9); their outputs go to the bidirectional
fusion transformer (``DRFormerFusion``) and the losses of eq. 26 (``DRFormerHead``).

Eq. 1-2 feed ``[T_1..T_N; I_1..I_M]`` without a class token, but the core ViT encoders always carry
their pretrained [cls] first. ``cls_token='masked'`` (default) gives eq. 1-2 exactly: an attention
mask stops every other token from attending to [cls] (its own output is computed and discarded),
which is the same computation as a sequence without it. ``cls_token='kept'`` lets [cls] take part
in attention as pretrained (only its output is discarded).
"""
from typing import Dict, List, Optional

import torch

from reidengine.models.reid import MultiBackboneReIDModel
from reidengine.registry import MODELS
from reidengine.structures import ReIDDataSample

_CLS_MODES = ('masked', 'kept')


@MODELS.register_module()
class DRFormerModel(MultiBackboneReIDModel):
    """Args:
        backbones: ``name -> dict(backbone=ViT config with num_extra_tokens=N, mean, std, img_size)``.
        neck: ``DRFormerFusion`` config (its ``encoders`` name two of ``backbones``).
        head: ``DRFormerHead`` config.
        cls_token: ``'masked'`` or ``'kept'`` (see the module docstring).
        data_preprocessor, test_cfg: as ``MultiBackboneReIDModel`` (no normalisation in the data
            preprocessor: each encoder normalises its own input).
    """

    def __init__(self,
                 backbones: dict,
                 neck: dict,
                 head: dict,
                 cls_token: str = 'masked',
                 data_preprocessor: Optional[dict] = None,
                 test_cfg: Optional[dict] = None,
                 **kwargs):
        super().__init__(backbones=backbones, neck=neck, head=head,
                         data_preprocessor=data_preprocessor, test_cfg=test_cfg, **kwargs)
        if cls_token not in _CLS_MODES:
            raise ValueError(f'DRFormerModel: cls_token must be one of {_CLS_MODES}, got {cls_token!r}')
        self.cls_token = cls_token
        num_tokens = self.neck.num_tokens
        for name in self.neck.encoders:
            if name not in self.backbones:
                raise ValueError(f'DRFormerModel: neck.encoders names {name!r}, not one of the '
                                 f'backbones {list(self.backbones)}')
            backbone = self.backbones[name]
            for attr in ('num_extra_tokens', 'num_prefix_tokens', 'grid_size', 'blocks'):
                if not hasattr(backbone, attr):
                    raise TypeError(f'DRFormerModel: backbone {name!r} ({type(backbone).__name__}) '
                                    f'has no {attr!r}; expected a ViTReID-family backbone')
            if backbone.num_extra_tokens != num_tokens:
                raise ValueError(f'DRFormerModel: backbone {name!r} has num_extra_tokens='
                                 f'{backbone.num_extra_tokens} but neck.num_tokens={num_tokens}; '
                                 'set both to N')
        self._masks = {}

    def cls_mask(self, name: str, device) -> torch.Tensor:
        """(T, T) bool mask of encoder ``name``: True = may attend; nobody but [cls] sees [cls]."""
        backbone = self.backbones[name]
        key = (name, str(device))
        if key not in self._masks:
            rows, cols = backbone.grid_size
            num = backbone.num_prefix_tokens + rows * cols
            mask = torch.ones(num, num, dtype=torch.bool, device=device)
            mask[1:, 0] = False
            self._masks[key] = mask
        return self._masks[key]

    def backbone_kwargs(self, name: str, inputs: torch.Tensor,
                        data_samples: Optional[List[ReIDDataSample]] = None) -> dict:
        kwargs = super().backbone_kwargs(name, inputs, data_samples)
        if self.cls_token == 'masked':
            kwargs['attn_mask'] = self.cls_mask(name, inputs.device)
        return kwargs

    @torch.no_grad()
    def attention_maps(self, inputs: torch.Tensor,
                       data_samples: Optional[List[ReIDDataSample]] = None) -> Dict[str, torch.Tensor]:
        """Last-block attention of each encoder's learnable tokens over its image tokens (heads
        averaged), as the paper's Fig. 2 a-b: ``{'<encoder>_tokens': (B, N, rows, cols)}``.

        Without data samples an encoder with a camera embedding is given camera 0.
        """
        if data_samples is None:
            data_samples = [ReIDDataSample(metainfo=dict(camid=0)) for _ in range(inputs.shape[0])]
        maps = {}
        for name, x in self.encoder_images(inputs).items():
            if name not in self.neck.encoders:
                continue
            backbone = self.backbones[name]
            kwargs = self.backbone_kwargs(name, inputs, data_samples)
            attn_mask = kwargs.pop('attn_mask', None)
            tokens = backbone.embed(x, **kwargs)
            for block in backbone.blocks[:-1]:
                tokens = block(tokens, attn_mask=attn_mask)
            probs = last_block_attention(backbone.blocks[-1], tokens, attn_mask)
            prefix, n = backbone.num_prefix_tokens, backbone.num_extra_tokens
            rows, cols = backbone.grid_size
            maps[f'{name}_tokens'] = probs[:, 1:1 + n, prefix:].reshape(-1, n, rows, cols)
        return maps


def last_block_attention(block, tokens: torch.Tensor,
                         attn_mask: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Softmax attention (B, T, T) of a timm ViT block on its input tokens, averaged over heads."""
    attn = block.attn
    x = block.norm1(tokens)
    batch, num, dim = x.shape
    qkv = attn.qkv(x).reshape(batch, num, 3, attn.num_heads, dim // attn.num_heads).permute(2, 0, 3, 1, 4)
    q, k = attn.q_norm(qkv[0]), attn.k_norm(qkv[1])
    logits = (q * attn.scale) @ k.transpose(-2, -1)
    if attn_mask is not None:
        logits = logits.masked_fill(~attn_mask, float('-inf'))
    return logits.float().softmax(dim=-1).mean(dim=1)
