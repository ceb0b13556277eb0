"""Part-aware Transformer (PAT, Ni et al., CVPR 2023, Sec. 3.1): a ViT with part tokens whose
attention follows the part-aware mask (eq. 3-4), trained with ``PATHead``'s losses.

Token order: ``[cls, part_1 .. part_P, image tokens]``; the backbone (``ViTReID`` with
``num_extra_tokens=P``) takes ``attn_mask`` (T, T) bool, True = may attend.
"""
from typing import Dict, List, Optional

import torch

from reidengine.models.reid import ReIDModel
from reidengine.registry import MODELS
from reidengine.structures import ReIDDataSample, stack_meta
from reidengine.visualization.attention import capture_attention

from .memory_bank import PartMemoryBank
from .part_attention import PartAttentionMask


@MODELS.register_module()
class PATModel(ReIDModel):
    """Args:
        backbone: ViT config with ``num_extra_tokens`` = number of parts, ``forward(x, camids=None,
            attn_mask=None)`` and attributes ``grid_size`` and ``num_prefix_tokens``.
        head: ``PATHead`` config.
        part_attention: ``PartAttentionMask`` arguments: ``bands``, ``visibility``
            ('paper' | 'official'), ``random_subregions`` (training only).
        neck, data_preprocessor, test_cfg, init_cfg: as ``ReIDModel``.

    The memory bank (``head.memory_bank``) is excluded from DDP's buffer broadcast: every rank
    keeps it identical itself by all-gathering each update, and broadcasting ~0.7 GB per iteration
    would be pure waste.
    """

    def __init__(self,
                 backbone: dict,
                 head: dict,
                 part_attention: Optional[dict] = None,
                 neck: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 test_cfg: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(backbone=backbone, head=head, neck=neck,
                         data_preprocessor=data_preprocessor, test_cfg=test_cfg,
                         init_cfg=init_cfg)
        self.part_mask = PartAttentionMask(**(part_attention or {}))
        self._fixed_masks = {}
        for name in ('grid_size', 'num_prefix_tokens'):
            if not hasattr(self.backbone, name):
                raise TypeError(f'PATModel: backbone {type(self.backbone).__name__} has no '
                                f'attribute {name!r}; expected a ViTReID-like backbone')
        if self.backbone.num_prefix_tokens != 1 + self.part_mask.num_parts:
            raise ValueError(f'PATModel: {self.part_mask.num_parts} part bands need a backbone with '
                             f'1 + {self.part_mask.num_parts} prefix tokens (num_extra_tokens='
                             f'{self.part_mask.num_parts}), got {self.backbone.num_prefix_tokens}')
        if getattr(self.head, 'num_parts', None) != self.part_mask.num_parts:
            raise ValueError(f'PATModel: head num_parts={getattr(self.head, "num_parts", None)} '
                             f'but {self.part_mask.num_parts} part bands')
        self._ddp_params_and_buffers_to_ignore = [
            f'head.memory_bank.{name}' for name, _ in self.memory_bank.named_buffers()]

    @property
    def memory_bank(self) -> PartMemoryBank:
        return self.head.memory_bank

    def attention_mask(self, device=None) -> torch.Tensor:
        """The (T, T) part-aware mask; random sub-regions only in training mode (if enabled).

        The fixed mask is built once per device; a random one at every call.
        """
        grid = tuple(self.backbone.grid_size)
        if self.training and self.part_mask.random_subregions:
            return self.part_mask(grid, training=True, device=device)
        key = (grid, str(torch.device(device) if device is not None else 'cpu'))
        if key not in self._fixed_masks:
            self._fixed_masks[key] = self.part_mask(grid, training=False, device=device)
        return self._fixed_masks[key]

    def extract_feat(self, inputs: torch.Tensor,
                     data_samples: Optional[List[ReIDDataSample]] = None) -> torch.Tensor:
        """(B, T, D) tokens of the backbone under the part-aware mask (then the optional neck)."""
        kwargs = dict(attn_mask=self.attention_mask(inputs.device))
        if getattr(self.backbone, 'uses_camera', False):
            if data_samples is None:
                raise ValueError(f'{type(self.backbone).__name__} uses camera ids (SIE) '
                                 'but no data samples were given')
            kwargs['camids'] = stack_meta(data_samples, 'camid', device=inputs.device)
        x = self.backbone(inputs, **kwargs)
        if self.neck is not None:
            x = self.neck(x)
        return x

    @torch.no_grad()
    def attention_maps(self, inputs: torch.Tensor,
                       data_samples: Optional[List[ReIDDataSample]] = None) -> Dict[str, torch.Tensor]:
        """Attention of the last block (head mean) from the cls token and each part token to the
        image tokens, on the patch grid: ``{'cls': (B, 1, h, w), 'parts': (B, P, h, w)}``.

        Under the part-aware mask a part token only attends inside its band (eq. 4), so its map
        is zero outside it; the maps are the rows of A = softmax(q k^T / sqrt(d) + mask).
        """
        with capture_attention(self.backbone.blocks[-1].attn) as record:
            self.extract_feat(inputs, data_samples)
        attn = record.weights
        rows, cols = self.backbone.grid_size
        prefix = self.backbone.num_prefix_tokens
        to_image = attn[:, :prefix, prefix:].reshape(attn.shape[0], prefix, rows, cols)
        return {'cls': to_image[:, :1], 'parts': to_image[:, 1:1 + self.part_mask.num_parts]}

    @torch.no_grad()
    def part_features(self, inputs: torch.Tensor,
                      data_samples: Optional[List[ReIDDataSample]] = None) -> torch.Tensor:
        """(B, P, D) part tokens, what the memory bank stores (used to fill it)."""
        return self.head.part_tokens(self.extract_feat(inputs, data_samples))
