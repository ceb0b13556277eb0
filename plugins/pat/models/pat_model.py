"""Part-aware Transformer (PAT, Ni et al., ICCV 2023, Sec. 3.1): a ViT with part tokens whose
attention follows the part-aware mask (eq. 3-4), trained with ``PATHead``'s losses.

Token order: ``[cls, part_1 .. part_P, image tokens]``. The number of parts P is stated once, by the
mask's ``bands``: the backbone gets ``num_extra_tokens=P`` and the head ``num_parts=P`` from it.
The mask reaches the backbone through ``backbone_kwargs`` (``attn_mask`` (T, T) bool, True = may
attend).
"""
from typing import Dict, List, Optional

import torch

from reidengine.models.backbones import check_backbone
from reidengine.models.reid import ReIDModel
from reidengine.registry import MODELS
from reidengine.structures import ReIDDataSample
from reidengine.visualization.attention import capture_attention

from .memory_bank import PartMemoryBank
from .part_attention import PartAttentionMask


def _with_parts(cfg: dict, key: str, num_parts: int, where: str) -> dict:
    """``cfg`` with ``key=num_parts``; a different value already there is an error."""
    if cfg.get(key) not in (None, num_parts):
        raise ValueError(f'PATModel: {where}.{key}={cfg[key]} but part_attention.bands gives '
                         f'{num_parts} parts; leave {where}.{key} unset (it follows the bands)')
    return dict(cfg, **{key: num_parts})


@MODELS.register_module()
class PATModel(ReIDModel):
    """Args:
        backbone: ViT config (``ViTReID`` family); ``num_extra_tokens`` follows the bands.
        head: ``PATHead`` config; ``num_parts`` follows the bands.
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
        part_mask = PartAttentionMask(**(part_attention or {}))
        super().__init__(backbone=_with_parts(backbone, 'num_extra_tokens', part_mask.num_parts,
                                              'backbone'),
                         head=_with_parts(head, 'num_parts', part_mask.num_parts, 'head'),
                         neck=neck, data_preprocessor=data_preprocessor, test_cfg=test_cfg,
                         init_cfg=init_cfg)
        check_backbone(self.backbone, ('grid_size', 'num_prefix_tokens'), owner='PATModel')
        self.part_mask = part_mask
        self._fixed_masks = {}
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

    def backbone_kwargs(self, inputs: torch.Tensor,
                        data_samples: Optional[List[ReIDDataSample]] = None) -> dict:
        """Camera ids (SIE) as ``ReIDModel``, plus the part-aware attention mask."""
        return dict(super().backbone_kwargs(inputs, data_samples),
                    attn_mask=self.attention_mask(inputs.device))

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
