"""Attention diversity loss of MDPR (eq. 7).

With f_1..f_K the pooled BAP features of one image (``BilinearAttentionPooling``, before BN):
    L = sum_{i != j} f_i.f_j / (|f_i| |f_j|) + beta * sum_i |f_i|_1,
averaged over the batch. Two switches reproduce the released code: ``count_pairs='once'`` sums
each unordered pair once (eq. 7 counts i, j and j, i: 'twice'), and ``l1_on='attention_maps'``
applies the beta term to the kept softmaxed maps A_1..A_K (sum of all entries) instead of the
BAP features ('bap_features', eq. 7).
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from reidengine.registry import MODELS

COUNT_PAIRS = ('twice', 'once')
L1_ON = ('bap_features', 'attention_maps')


@MODELS.register_module()
class AttentionDiversityLoss(nn.Module):
    """Args:
        beta: weight of the L1 term (0.001 in the paper; Table X).
        count_pairs: 'twice' (eq. 7) or 'once' (released code).
        l1_on: 'bap_features' (eq. 7) or 'attention_maps' (released code).
        loss_weight: factor applied to the loss.
    """

    def __init__(self, beta: float = 0.001, count_pairs: str = 'twice', l1_on: str = 'bap_features',
                 loss_weight: float = 1.0):
        super().__init__()
        if count_pairs not in COUNT_PAIRS:
            raise ValueError(f'AttentionDiversityLoss: count_pairs={count_pairs!r}; expected one of {COUNT_PAIRS}')
        if l1_on not in L1_ON:
            raise ValueError(f'AttentionDiversityLoss: l1_on={l1_on!r}; expected one of {L1_ON}')
        self.beta = beta
        self.count_pairs = count_pairs
        self.l1_on = l1_on
        self.loss_weight = loss_weight

    def forward(self, bap: torch.Tensor, maps: torch.Tensor) -> torch.Tensor:
        """``bap`` (B, K, M) pooled BAP features; ``maps`` (B, K, H, W) kept attention maps."""
        if bap.dim() != 3 or maps.dim() != 4 or bap.shape[:2] != maps.shape[:2]:
            raise ValueError('AttentionDiversityLoss: expected BAP features (B, K, M) and maps (B, K, H, W) '
                             f'with the same B and K, got {tuple(bap.shape)} and {tuple(maps.shape)}')
        with torch.autocast(bap.device.type, enabled=False):
            bap, maps = bap.float(), maps.float()
            unit = F.normalize(bap, dim=2)
            cos = unit @ unit.transpose(1, 2)  # (B, K, K)
            pairs = cos.sum(dim=(1, 2)) - cos.diagonal(dim1=1, dim2=2).sum(dim=1)
            if self.count_pairs == 'once':
                pairs = pairs / 2
            l1 = bap.abs().sum(dim=(1, 2)) if self.l1_on == 'bap_features' else maps.abs().sum(dim=(1, 2, 3))
            loss = (pairs + self.beta * l1).mean()
        return self.loss_weight * loss
