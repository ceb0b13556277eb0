"""Table 5's "B+SD" baseline of PAT (Ni et al., ICCV 2023, Sec. 4.4): the ViT baseline with the
conventional self-distillation PAT compares against, that of "Self-Distilled Vision Transformer
for Domain Generalization" (Sultana et al., ACCV 2022).

At every training step one block b is drawn uniformly from ``blocks``; its [cls] token goes through
the same final norm, neck, BNNeck and classifier as the last block's, giving logits z_b next to the
final logits z. With temperature T and weight w (the SDViT defaults: T = 3, w = 0.5):

    L = L_id(z, y) + L_tri(f) + w * T^2 * sum_{i,c} p_ic (log p_ic - log q_ic) / (B * C)
    p = softmax(z / T),  q = softmax(z_b / T)

(the KL sum divided by the number of logits, as SDViT's code; gradients reach both z and z_b).
Testing uses the last block only, as the baseline.
"""
from typing import List, Optional, Sequence

import torch
import torch.nn.functional as F

from reidengine.models.heads import BNNeckHead
from reidengine.models.reid import ReIDModel
from reidengine.registry import MODELS
from reidengine.structures import ReIDDataSample, stack_meta


@MODELS.register_module()
class BlockSelfDistillationModel(ReIDModel):
    """A ``ReIDModel`` on a ViT backbone whose loss also sees a random block's [cls] token.

    Args:
        blocks: indices of the blocks the distilled one is drawn from (default: every block, as
            SDViT's code draws from all block outputs).
        backbone, head (``SelfDistillationHead``), neck, data_preprocessor, test_cfg, init_cfg:
            as ``ReIDModel``.
    """

    def __init__(self, *args, blocks: Optional[Sequence[int]] = None, **kwargs):
        super().__init__(*args, **kwargs)
        depth = len(self.backbone.blocks)
        self.blocks = list(range(depth)) if blocks is None else list(blocks)
        if not self.blocks or any(not 0 <= b < depth for b in self.blocks):
            raise ValueError(f'BlockSelfDistillationModel: blocks must be indices in [0, {depth}), '
                             f'got {blocks!r}')

    def loss(self, inputs: torch.Tensor, data_samples: List[ReIDDataSample]) -> dict:
        drawn = self.blocks[int(torch.randint(len(self.blocks), (1,)))]
        x = self.backbone.embed(inputs, **self.backbone_kwargs(inputs, data_samples))
        for index, block in enumerate(self.backbone.blocks):
            x = block(x)
            if index == drawn:
                block_tokens = x
        feats = dict(final=self.backbone.output(x), block=self.backbone.output(block_tokens))
        if self.neck is not None:
            feats = {name: self.neck(tokens) for name, tokens in feats.items()}
        return self.head.loss(feats, data_samples)


@MODELS.register_module()
class SelfDistillationHead(BNNeckHead):
    """``BNNeckHead`` on the final feature plus the block self-distillation term (module docstring).

    Args:
        temperature: T. distill_weight: w. Others: as ``BNNeckHead``.
    """

    def __init__(self, *args, temperature: float = 3.0, distill_weight: float = 0.5, **kwargs):
        super().__init__(*args, **kwargs)
        if temperature <= 0:
            raise ValueError(f'SelfDistillationHead: temperature must be > 0, got {temperature}')
        self.temperature, self.distill_weight = temperature, distill_weight

    def loss(self, feats: dict, data_samples: List[ReIDDataSample]) -> dict:
        losses = super().loss(feats['final'], data_samples)
        labels = stack_meta(data_samples, 'pid', device=feats['final'].device)
        t = self.temperature
        with torch.autocast(device_type=feats['final'].device.type, enabled=False):
            log_p = F.log_softmax(self.logits(feats['final'], labels).float() / t, dim=1)
            log_q = F.log_softmax(self.logits(feats['block'], labels).float() / t, dim=1)
            kl = F.kl_div(log_q, log_p, reduction='sum', log_target=True) / log_q.numel()
        losses['loss_sd'] = self.distill_weight * t * t * kl
        return losses
