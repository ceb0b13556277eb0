"""Pairwise circle loss (Sun et al., CVPR 2020, "Circle Loss", sec. 3 with the simplified
O_p = 1 + m, O_n = -m, D_p = 1 - m, D_n = m; MDPR eq. 5; FastReID's ``pairwise_circleloss``).

Per anchor, with cosine similarities s_p to its positives and s_n to its negatives in the batch:
    L = log[1 + sum_n exp(gamma a_n (s_n - D_n)) * sum_p exp(-gamma a_p (s_p - D_p))],
    a_p = [1 + m - s_p]_+, a_n = [s_n + m]_+ (weights detached from the graph, as FastReID does).
Averaged over the anchors.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from reidengine.registry import MODELS
from reidengine.utils.amp import float32_forward

from .utils import check_pairwise_inputs, identity_masks, pairwise_cosine

# Logit given to masked-out pairs: exp of it vanishes next to any real logit (|logit| <= 4 gamma).
_MASKED_LOGIT = -1e9


@MODELS.register_module()
class PairwiseCircleLoss(nn.Module):
    """Circle loss on the pairs of a batch with identity labels.

    Args:
        margin: relaxation m.
        gamma: scale factor.
        loss_weight: factor applied to the loss.

    An anchor with no positive or no negative in the batch contributes 0 (eq. 6 with an empty sum).
    """

    def __init__(self, margin: float = 0.25, gamma: float = 128.0, loss_weight: float = 1.0):
        super().__init__()
        self.margin = margin
        self.gamma = gamma
        self.loss_weight = loss_weight

    @float32_forward  # float32 under mixed precision (reidengine.utils.amp)
    def forward(self, feats: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        check_pairwise_inputs('PairwiseCircleLoss', feats, labels)
        sim = pairwise_cosine(feats)
        is_pos, is_neg = identity_masks(labels)
        alpha_p = (1 + self.margin - sim.detach()).clamp(min=0)
        alpha_n = (sim.detach() + self.margin).clamp(min=0)
        logit_p = -self.gamma * alpha_p * (sim - (1 - self.margin))
        logit_n = self.gamma * alpha_n * (sim - self.margin)
        logit_p = logit_p.masked_fill(~is_pos, _MASKED_LOGIT)
        logit_n = logit_n.masked_fill(~is_neg, _MASKED_LOGIT)
        loss = F.softplus(torch.logsumexp(logit_p, dim=1) + torch.logsumexp(logit_n, dim=1))
        return self.loss_weight * loss.mean()
