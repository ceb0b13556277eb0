"""Triplet loss with batch-hard mining (Hermans et al. 2017, "In Defense of the Triplet Loss",
sec. 2: "Batch Hard"; "Batch All" for ``hard_mining=False``).

Per triplet: max(0, m + d(a, p) - d(a, n)), or the soft margin log(1 + exp(d(a, p) - d(a, n)))
when ``margin`` is None (Hermans et al. sec. 2 "soft-margin"; PAT eq. 9).

Distance: Euclidean by default, as the TransReID / PAT / FastReID code that produced the published
numbers. PAT's eq. 9 writes squared distances: ``squared=True`` gives that form.
"""
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from reidengine.registry import MODELS
from reidengine.utils.amp import float32_forward

from .utils import check_pairwise_inputs, identity_masks, pairwise_euclidean


@MODELS.register_module()
class TripletLoss(nn.Module):
    """Triplet loss on a (B, D) batch with identity labels.

    Args:
        margin: margin m of the hinge; None for the soft margin.
        hard_mining: True: per anchor, the farthest positive and nearest negative (batch hard),
            averaged over anchors. False: every valid triplet (batch all), averaged over them.
        norm_feat: L2-normalise the features before the distances.
        squared: use squared Euclidean distances (PAT eq. 9) instead of Euclidean ones.
        loss_weight: factor applied to the loss.

    An anchor without any negative in the batch contributes 0 (batch hard); an anchor without
    another positive uses d(a, a) = 0 as its positive distance, as the reference code does.
    """

    def __init__(self,
                 margin: Optional[float] = 0.3,
                 hard_mining: bool = True,
                 norm_feat: bool = False,
                 squared: bool = False,
                 loss_weight: float = 1.0):
        super().__init__()
        if margin is not None and margin < 0:
            raise ValueError(f'TripletLoss: margin must be >= 0 or None, got {margin}')
        self.margin = margin
        self.hard_mining = hard_mining
        self.norm_feat = norm_feat
        self.squared = squared
        self.loss_weight = loss_weight

    def _per_triplet(self, gap: torch.Tensor) -> torch.Tensor:
        """Loss of d(a, p) - d(a, n) = ``gap``."""
        if self.margin is None:
            return F.softplus(gap)
        return F.relu(gap + self.margin)

    @float32_forward  # float32 under mixed precision (reidengine.utils.amp)
    def forward(self, feats: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        check_pairwise_inputs('TripletLoss', feats, labels)
        if self.norm_feat:
            feats = F.normalize(feats, dim=1)
        dist = pairwise_euclidean(feats, squared=self.squared)
        is_pos, is_neg = identity_masks(labels)
        if self.hard_mining:
            # The anchor itself (distance ~0) stands in when it has no other positive.
            is_pos = is_pos | torch.eye(len(labels), dtype=torch.bool, device=labels.device)
            dist_ap = dist.masked_fill(~is_pos, float('-inf')).amax(dim=1)
            dist_an = dist.masked_fill(~is_neg, float('inf')).amin(dim=1)
            loss = self._per_triplet(dist_ap - dist_an).mean()
        else:
            valid = is_pos.unsqueeze(2) & is_neg.unsqueeze(1)  # (anchor, positive, negative)
            gap = dist.unsqueeze(2) - dist.unsqueeze(1)
            loss = (self._per_triplet(gap) * valid).sum() / valid.sum().clamp(min=1)
        return self.loss_weight * loss
