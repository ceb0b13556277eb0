"""True-positive rate at fixed false-positive rates over all valid query-gallery pairs.

Verification view of the ranking protocol (as FastReID's ``evaluate_roc``): a pair is valid unless
it shares identity AND camera (junk dropped by the caller); it is positive when the identities
match. A pair is accepted when its distance is below a threshold t. For a target rate f, t is the
largest threshold accepting at most floor(f * #negatives) negative pairs, i.e. the
(floor(f * #neg) + 1)-th smallest negative distance, and TPR = #{positive pairs with d < t} / #pos.
(FastReID instead reads the nearest point of sklearn's ROC curve and treats the negative pairs as
its positive class.) Only the smallest floor(max f * #neg) + 1 negative distances are kept.
"""
import math
import threading
from typing import Dict, Sequence

import torch

from .rank import GalleryIdentities


class RocAccumulator:
    """Consumes (start_row, distance block) pairs; ``summary`` gives ``TPR@FPR=1e-04`` etc.

    ``fprs``: the false-positive rates, each in (0, 1).
    """

    def __init__(self, q_pids: torch.Tensor, q_camids: torch.Tensor, g_pids: torch.Tensor,
                 g_camids: torch.Tensor, fprs: Sequence[float] = (1e-4, 1e-3, 1e-2)):
        if not all(0 < f < 1 for f in fprs):
            raise ValueError(f'ROC false-positive rates must be in (0, 1), got {fprs}')
        self.q_pids, self.q_camids = q_pids.long(), q_camids.long()
        self.gallery = GalleryIdentities(g_pids, g_camids)
        self.fprs = tuple(fprs)
        same = self.gallery.members(self.q_pids, self.q_camids)[1].sum()
        self.num_neg = len(q_pids) * len(g_pids) - int(same)
        self.keep = min(math.floor(max(fprs) * self.num_neg) + 1, self.num_neg)
        self.neg = torch.empty(0)
        self.threshold = float('inf')  # no kept negative can lie at or above it
        self.pos = []
        self.lock = threading.Lock()  # update() may run in several threads

    def update(self, start: int, dist: torch.Tensor) -> None:
        q = slice(start, start + dist.shape[0])
        cols, mask, removed = self.gallery.members(self.q_pids[q], self.q_camids[q])
        pos = dist.gather(1, cols)[mask & ~removed]
        rows = torch.arange(dist.shape[0])[:, None].expand_as(cols)
        neg = dist.clone()
        neg[rows[mask], cols[mask]] = float('inf')  # same identity: not a negative pair
        neg = neg[neg < self.threshold]
        with self.lock:
            self.pos.append(pos)
            self.neg = torch.cat([self.neg, neg])
            if len(self.neg) > 2 * self.keep:
                self.neg = self.neg.topk(self.keep, largest=False).values
                self.threshold = float(self.neg.max())

    def summary(self) -> Dict[str, float]:
        pos = torch.cat(self.pos)
        neg = self.neg.sort().values[:self.keep]
        out = {}
        for f in self.fprs:
            allowed = math.floor(f * self.num_neg)
            if allowed >= len(neg):
                tpr = 1.0
            else:
                tpr = float((pos < neg[allowed]).double().mean()) if len(pos) else float('nan')
            out[f'TPR@FPR={rate_name(f)}'] = tpr
        return out


def rate_name(rate: float) -> str:
    """``1e-04`` style when exact (FastReID's key names), else the shortest decimal."""
    short = f'{rate:.0e}'
    return short if float(short) == rate else f'{rate:g}'
