"""Average query expansion, alpha-weighted (alpha-QE; Radenovic et al., TPAMI 2019, Sec. 3.4).

As in FastReID's ``aqe`` (its default k = 5, alpha = 3): every query AND gallery feature is
replaced by the mean of its k most similar features among all queries and gallery items (itself
included), each weighted by cos^alpha. Neighbours are taken in blocks of rows, so only a
(chunk x N) similarity block exists at a time.
"""
from typing import Optional

import torch
import torch.nn.functional as F

from .parallel import run_chunks


def check_aqe_params(k: int = 5, alpha: float = 3.0) -> None:
    """Reject query-expansion parameters outside their ranges (before any feature is extracted)."""
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f'aqe k must be an int >= 1, got {k!r}')
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or alpha < 0:
        raise ValueError(f'aqe alpha must be a number >= 0, got {alpha!r}')


def average_query_expansion(query: torch.Tensor, gallery: torch.Tensor, k: int = 5,
                            alpha: float = 3.0, chunk_size: int = 256,
                            num_workers: Optional[int] = None):
    """Return expanded (query, gallery) features (raw scale, like FastReID)."""
    feats = torch.cat([query, gallery])
    if not 1 <= k <= len(feats):
        raise ValueError(f'aqe k must be in [1, {len(feats)}] (number of samples), got {k}')
    normed = F.normalize(feats, p=2, dim=1)
    out = torch.empty_like(feats)

    def expand(start, end):
        top, idx = torch.mm(normed[start:end], normed.t()).topk(k, dim=1)
        out[start:end] = (feats[idx] * top.pow(alpha)[..., None]).mean(1)

    run_chunks(expand, len(feats), chunk_size, num_workers)
    return out[:len(query)], out[len(query):]
