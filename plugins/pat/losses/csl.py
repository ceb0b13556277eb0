"""Cross-ID Similarity Learning loss of PAT (Sec. 3.2, eq. 6).

For each part feature f of the batch, compare it with every memory-bank entry of its part except the
sample's own; the k nearest entries are positives:

    L = -log( sum_{w in top-k} exp(sim(f, w)) / sum_{all w} exp(sim(f, w)) )

``form='distance'`` (released code, default): sim = -s * ||f - w||^2 (squared Euclidean), s = 0.02.
``form='dot'`` (paper eq. 6): sim = f . w / tau, tau = 0.02.

Eq. 10 sums the loss over samples and parts; here it is averaged over both (as the released code
does), so that its scale, and the learning rate it calls for, does not depend on the batch size or on
the number of parts. All parts are handled as one batched tensor operation.
"""
from typing import Optional, Tuple

import torch
from torch import nn

from reidengine.registry import MODELS

FORMS = ('distance', 'dot')


@MODELS.register_module()
class CrossIDSimilarityLoss(nn.Module):
    """Args:
        k: number of nearest bank entries taken as positives.
        form: ``'distance'`` or ``'dot'`` (see module docstring).
        scale: s of the distance form.
        temperature: tau of the dot form.
        loss_weight: factor on the loss.
    """

    def __init__(self, k: int = 10, form: str = 'distance', scale: float = 0.02,
                 temperature: float = 0.02, loss_weight: float = 1.0):
        super().__init__()
        if form not in FORMS:
            raise ValueError(f'CrossIDSimilarityLoss form={form!r}: expected one of {FORMS}')
        if k < 1:
            raise ValueError(f'CrossIDSimilarityLoss k={k}: expected k >= 1')
        if scale <= 0 or temperature <= 0:
            raise ValueError(f'CrossIDSimilarityLoss scale={scale}, temperature={temperature}: '
                             'expected both > 0')
        self.k = k
        self.form = form
        self.scale = scale
        self.temperature = temperature
        self.loss_weight = loss_weight

    def similarity(self, feats: torch.Tensor, bank: torch.Tensor) -> torch.Tensor:
        """(P, B, N) logits sim(f, w) for feats (B, P, D) against bank (P, N, D)."""
        feats = feats.transpose(0, 1)  # (P, B, D)
        dots = torch.bmm(feats, bank.transpose(1, 2))
        if self.form == 'dot':
            return dots / self.temperature
        sq_dist = feats.pow(2).sum(-1, keepdim=True) + bank.pow(2).sum(-1).unsqueeze(1) - 2 * dots
        return -self.scale * sq_dist

    def forward(self, feats: torch.Tensor, bank: torch.Tensor, own_indices: torch.Tensor,
                valid: Optional[torch.Tensor] = None) -> Tuple[torch.Tensor, torch.Tensor]:
        """Args:
            feats: (B, P, D) part features of the batch (gradient flows here).
            bank: (P, N, D) memory bank (no gradient).
            own_indices: (B,) bank index of each sample (excluded from its comparison).
            valid: (N,) bool, entries that hold a feature (default: all); the others are left out
                of the comparison, as images the released bank has not seen yet.

        Returns:
            The loss and the (B, P, k) bank indices of the positives (nearest first).
        """
        num_parts, num_entries, _ = bank.shape
        if feats.dim() != 3 or feats.shape[1] != num_parts or feats.shape[2] != bank.shape[2]:
            raise ValueError(f'CrossIDSimilarityLoss: features of shape {tuple(feats.shape)} do '
                             f'not match a bank of shape {tuple(bank.shape)} (expected '
                             f'(batch, {num_parts}, {bank.shape[2]}))')
        num_valid = num_entries if valid is None else int(valid.sum())
        if num_valid - 1 < self.k:
            raise ValueError(f'CrossIDSimilarityLoss: k={self.k} positives but the bank holds '
                             f'only {num_valid} filled entries per part (own entry excluded)')
        # fp32 even under mixed precision: distances of ~1e3 need the mantissa
        with torch.autocast(device_type=feats.device.type, enabled=False):
            dtype = torch.promote_types(feats.dtype, torch.float32)
            logits = self.similarity(feats.to(dtype), bank.detach().to(dtype))
            own = own_indices.to(logits.device).view(1, -1, 1).expand(num_parts, -1, 1)
            logits = logits.scatter(-1, own, float('-inf'))
            if valid is not None:
                logits = logits.masked_fill(~valid.to(logits.device), float('-inf'))
            top_logits, top_idx = logits.topk(self.k, dim=-1)
            loss = torch.logsumexp(logits, -1) - torch.logsumexp(top_logits, -1)  # (P, B)
        return self.loss_weight * loss.mean(), top_idx.transpose(0, 1)
