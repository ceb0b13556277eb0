"""Mutual distillation loss of MDPR (eq. 8), SimSiam-style (Chen & He, CVPR 2021, Alg. 1).

With z_h, z_s the after-BN global features of the hard and the soft branch and the predictors
P_h (hard -> soft) and P_s (soft -> hard), each Linear-BN-ReLU-Linear (Sec. III-C):
    D(p, z) = -p.z / (|p| |z|)
    L = 1/2 [D(P_h(z_h), sg(z_s)) + D(P_s(z_s), sg(z_h))],   sg = stop-gradient,
D averaged over the batch.
"""
from typing import Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from reidengine.registry import MODELS


def negative_cosine(p: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """D(p, sg(z)) averaged over the batch (fp32); no gradient reaches ``z``."""
    with torch.autocast(p.device.type, enabled=False):
        return -F.cosine_similarity(p.float(), z.detach().float(), dim=1).mean()


class Predictor(nn.Sequential):
    """Linear(D, H, no bias) - BN - ReLU - Linear(H, D)."""

    def __init__(self, dim: int, hidden_dim: int):
        super().__init__(nn.Linear(dim, hidden_dim, bias=False), nn.BatchNorm1d(hidden_dim),
                         nn.ReLU(inplace=True), nn.Linear(hidden_dim, dim))


@MODELS.register_module()
class MutualDistillationLoss(nn.Module):
    """Eq. 8 with its two predictors.

    Args:
        dim: size of the distilled features (M).
        hidden_dim: hidden size of the predictors (None: ``dim``, as released).
        loss_weight: factor applied to the loss (1 in eq. 9).
    """

    def __init__(self, dim: int, hidden_dim: Optional[int] = None, loss_weight: float = 1.0):
        super().__init__()
        self.predict_soft = Predictor(dim, hidden_dim or dim)  # from the hard feature
        self.predict_hard = Predictor(dim, hidden_dim or dim)  # from the soft feature
        self.loss_weight = loss_weight

    def terms(self, hard: torch.Tensor, soft: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """``(D(P_h(z_h), sg(z_s)), D(P_s(z_s), sg(z_h)))``."""
        return (negative_cosine(self.predict_soft(hard), soft),
                negative_cosine(self.predict_hard(soft), hard))

    def forward(self, hard: torch.Tensor, soft: torch.Tensor) -> torch.Tensor:
        d_hard, d_soft = self.terms(hard, soft)
        return self.loss_weight * 0.5 * (d_hard + d_soft)
