"""AAformer (Zhu et al., IEEE TNNLS 2023, Sec. III, Fig. 2): a ViT with [CLS] + P [PART] tokens whose
blocks use Multi-head Auto-Alignment (:class:`AutoAlignmentAttention`), the [CLS] and [PART] outputs split
by :class:`PartTokenSplit` and trained by the core ``MultiFeatureHead`` (eq. 6-8).

The model adds to ``ReIDModel`` the consistency checks between backbone, neck and head, the assignment
records of the last forward (``part_assignments``) and ``attention_maps`` for pictures (Fig. 5).
"""
from typing import Dict, List, Optional

import torch

from reidengine.models.reid import ReIDModel
from reidengine.registry import MODELS

from .auto_alignment import AutoAlignmentAttention
from .part_token_neck import PartTokenSplit, part_names


@MODELS.register_module()
class AAformerModel(ReIDModel):
    """Args:
        backbone: ``ViTReID`` config with ``num_extra_tokens = P`` and (AAformer) ``attn_layer=dict(
            type='AutoAlignmentAttention', granularities=...)``; without ``attn_layer`` the extra tokens
            are plain tokens (the "6 x CLS" baseline of Table IV).
        neck: ``PartTokenSplit`` config with ``num_parts = P``.
        head: ``MultiFeatureHead`` config whose features are ``cls``, ``part_1 .. part_P`` and ``parts``.
        vis_layer: block whose assignment ``attention_maps`` shows (negative counts from the end).
        data_preprocessor, test_cfg, init_cfg: as ``ReIDModel``.
    """

    def __init__(self,
                 backbone: dict,
                 neck: dict,
                 head: dict,
                 vis_layer: int = -1,
                 data_preprocessor: Optional[dict] = None,
                 test_cfg: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(backbone=backbone, head=head, neck=neck, data_preprocessor=data_preprocessor,
                         test_cfg=test_cfg, init_cfg=init_cfg)
        num_parts = getattr(self.backbone, 'num_extra_tokens', None)
        if not isinstance(self.neck, PartTokenSplit) or self.neck.num_parts != num_parts:
            raise ValueError(f'AAformerModel: neck must be PartTokenSplit(num_parts={num_parts}) (the '
                             f'backbone\'s num_extra_tokens), got {self.neck!r}')
        for layer in self.alignment_layers():
            if layer.num_parts != num_parts:
                raise ValueError(f'AAformerModel: attn_layer granularities {list(layer.granularities)} '
                                 f'give {layer.num_parts} parts, backbone num_extra_tokens={num_parts}')
        branches = getattr(self.head, 'branches', None)
        expected = ['cls'] + part_names(num_parts) + ['parts']
        if branches is None or sorted(branches) != sorted(expected):
            raise ValueError(f'AAformerModel: head features must be {expected}, got '
                             f'{None if branches is None else list(branches)}')
        if getattr(self.backbone, 'extra_token_init', None) == 'random':
            # [PART]s without position embedding: the backbone's zero extra_pos_embed stays zero (trained,
            # it would only double the tokens' own step)
            self.backbone.extra_pos_embed.requires_grad_(False)
        depth = len(self.backbone.blocks)
        if not -depth <= vis_layer < depth:
            raise ValueError(f'AAformerModel: vis_layer={vis_layer} out of range for {depth} blocks')
        self.vis_layer = vis_layer % depth

    def alignment_layers(self) -> List[AutoAlignmentAttention]:
        """The auto-alignment attention layers of the backbone, in block order."""
        return [block.attn for block in self.backbone.blocks if isinstance(block.attn, AutoAlignmentAttention)]

    def part_assignments(self) -> Dict[int, torch.Tensor]:
        """Assignments of the last forward: block index -> (B, H, P, rows, cols) bool, True where the
        patch belongs to the part for that head (empty before the first forward)."""
        rows, cols = self.backbone.grid_size
        records = {}
        for index, block in enumerate(self.backbone.blocks):
            record = getattr(block.attn, 'last_assignment', None)
            if record is not None:
                records[index] = record.reshape(record.shape[:3] + (rows, cols))
        return records

    @torch.no_grad()
    def attention_maps(self, inputs: torch.Tensor, data_samples=None) -> Dict[str, torch.Tensor]:
        """Maps of block ``vis_layer`` for ``inputs`` (B, 3, H, W) after the data preprocessor:

        - ``assignment`` (B, P, rows, cols): fraction of the heads that assign each patch to each part;
        - ``part_attention`` (B, P, rows, cols): the parts' attention weights (eq. 2), mean over heads
          (zero off Phi_p, as the masked maps of Fig. 5).
        """
        attn = self.backbone.blocks[self.vis_layer].attn
        if not isinstance(attn, AutoAlignmentAttention):
            raise ValueError(f'AAformerModel.attention_maps: block {self.vis_layer} has no auto-alignment '
                             f'({type(attn).__name__}); the backbone needs attn_layer=AutoAlignmentAttention')
        self.extract_feat(inputs, data_samples)
        rows, cols = self.backbone.grid_size
        batch, _, num_parts, _ = attn.last_assignment.shape
        shape = (batch, num_parts, rows, cols)
        return dict(assignment=attn.last_assignment.float().mean(1).reshape(shape),
                    part_attention=attn.last_part_attention.float().mean(1).reshape(shape))
