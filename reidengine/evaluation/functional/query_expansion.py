"""Average query expansion, alpha-weighted (alpha-QE; Radenovic et al., TPAMI 2019, Sec. 3.4).

As in FastReID's ``aqe`` (its default k = 5, alpha = 3): every query AND gallery feature is
replaced by the mean of its k most similar features among all queries and gallery items (itself
included), each weighted by cos^alpha. Neighbours are taken in blocks of rows, so only a
(chunk x N) similarity block exists at a time.
"""
import torch
import torch.nn.functional as F


def average_query_expansion(query: torch.Tensor, gallery: torch.Tensor, k: int = 5,
                            alpha: float = 3.0, chunk_size: int = 256):
    """Return expanded (query, gallery) features (raw scale, like FastReID)."""
    feats = torch.cat([query, gallery])
    if not 1 <= k <= len(feats):
        raise ValueError(f'aqe k must be in [1, {len(feats)}] (number of samples), got {k}')
    normed = F.normalize(feats, p=2, dim=1)
    out = torch.empty_like(feats)
    for start in range(0, len(feats), chunk_size):
        sim = torch.mm(normed[start:start + chunk_size], normed.t())
        top, idx = sim.topk(k, dim=1)
        weight = top.pow(alpha)
        out[start:start + chunk_size] = (feats[idx] * weight[..., None]).mean(1)
    return out[:len(query)], out[len(query):]
