"""FusionReID (Wang et al., "Unity is Strength: Unifying Convolutional and Transformeral Features for
Better Person Re-Identification", IEEE T-ITS 2025): a CNN and a ViT on the same image (Dual-branch
Feature Extraction, sec. III-A), fused by the ``DualAttentionMutualFusion`` neck (sec. III-B) into six
features, each supervised by its own BNNeck + classifier with label-smoothed CE and a triplet loss
(sec. III-C, eq. 12; the core ``MultiFeatureHead``). Test feature: the six features concatenated.
"""
from typing import Dict, List, Optional

import torch

from reidengine.models.reid import MultiBackboneReIDModel
from reidengine.registry import MODELS
from reidengine.structures import ReIDDataSample
from .dmf import DualAttentionMutualFusion


@MODELS.register_module()
class FusionReIDModel(MultiBackboneReIDModel):
    """``MultiBackboneReIDModel`` whose neck is a ``DualAttentionMutualFusion``; adds
    ``attention_maps`` (the SEU / MFU attention of Figs. 8-9) and checks at construction that the
    neck's shapes match the ViT backbone."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        neck = self.neck
        if not isinstance(neck, DualAttentionMutualFusion):
            raise TypeError(f'FusionReIDModel: the neck must be a DualAttentionMutualFusion, got '
                            f'{type(neck).__name__}')
        for key in (neck.cnn_key, neck.vit_key):
            if key not in self.backbones:
                raise ValueError(f'FusionReIDModel: model.neck names backbone {key!r}, not among '
                                 f'model.backbones {list(self.backbones)}')
        vit = self.backbones[neck.vit_key]
        found = (tuple(getattr(vit, 'grid_size', ())), getattr(vit, 'embed_dim', None),
                 getattr(vit, 'num_prefix_tokens', None))
        expected = (neck.vit_grid, neck.vit_channels, neck.vit_prefix_tokens)
        if found != expected:
            raise ValueError(f'FusionReIDModel: the ViT backbone has (grid_size, embed_dim, '
                             f'num_prefix_tokens) = {found}, model.neck expects {expected} '
                             f'(set model.neck.vit_grid / vit_channels / vit_prefix_tokens)')

    def backbone_outputs(self, inputs: torch.Tensor,
                         data_samples: Optional[List[ReIDDataSample]] = None) -> Dict[str, torch.Tensor]:
        """Each backbone's output on its own input (before the fusion neck)."""
        return {name: self.backbones[name](x, **self.backbone_kwargs(name, x, data_samples))
                for name, x in self.encoder_images(inputs).items()}

    @torch.no_grad()
    def attention_maps(self, inputs: torch.Tensor,
                       data_samples: Optional[List[ReIDDataSample]] = None,
                       per_head: bool = False) -> Dict[str, torch.Tensor]:
        """Attention of the global tokens in every HTM layer l = 1..L (Figs. 8-9), as maps on the
        LRU grids: ``seu{l}_cnn`` / ``seu{l}_vit``: a branch's global token over its own local tokens
        in the SEU; ``mfu{l}_cnn``: the CNN global token over the ViT local tokens in the MFU (on the
        ViT's LRU grid), ``mfu{l}_vit`` the reverse. (B, heads, h, w) with ``per_head``, else the
        mean over heads (B, 1, h, w). Units absent from the HTM order have no entry."""
        neck = self.neck
        attention: List[dict] = []
        neck.forward_intermediates(self.backbone_outputs(inputs, data_samples), attention)
        grids = dict(seu_cnn=neck.lru_grids['cnn'], seu_vit=neck.lru_grids['vit'],
                     mfu_cnn=neck.lru_grids['vit'], mfu_vit=neck.lru_grids['cnn'])
        maps = {}
        for layer, record in enumerate(attention, start=1):
            for kind, weights in record.items():
                weights = weights if per_head else weights.mean(dim=1, keepdim=True)
                unit, branch = kind.split('_')
                maps[f'{unit}{layer}_{branch}'] = weights.reshape(*weights.shape[:2], *grids[kind])
        return maps
