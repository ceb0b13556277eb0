"""What a test set's pictures need: per-query AP, ranked lists under the protocol, pair distances.

The protocol is the evaluator's (``evaluation.functional.rank``): junk gallery items (pid -1)
and, with the same-camera filter, gallery items of the query's identity AND camera are not
ranked. AP per query comes from ``rank_statistics``, the kernel of the reported mAP.
"""
import numpy as np
import torch

from reidengine.evaluation.functional import GalleryIdentities, pairwise_distance, prepare_features
from reidengine.evaluation.functional.rank import rank_statistics


def rank_test_set(query: torch.Tensor, gallery: torch.Tensor, q_pids, q_camids, g_pids, g_camids,
                  metric: str = 'euclidean', topk: int = 10, normalize_feat: bool = False,
                  same_camera_filter: bool = True, chunk_size: int = 256) -> dict:
    """dict(ap (Q,), indices (Q, k) gallery indices, distances (Q, k), matches (Q, k) bool).

    Queries without a true match in the gallery have AP NaN.
    """
    q_pids, q_camids, g_pids, g_camids = (torch.as_tensor(v).long().reshape(-1)
                                          for v in (q_pids, q_camids, g_pids, g_camids))
    if not same_camera_filter:
        q_camids, g_camids = torch.zeros_like(q_camids), torch.ones_like(g_camids)
    query = prepare_features(query.float(), metric, normalize_feat)
    gallery = prepare_features(gallery.float(), metric, normalize_feat)
    keep = (g_pids != -1).nonzero().squeeze(1)
    identities = GalleryIdentities(g_pids[keep], g_camids[keep])
    k = min(topk, len(keep))
    aps, indices, distances = [], [], []
    for s in range(0, len(query), chunk_size):
        e = min(s + chunk_size, len(query))
        dist = pairwise_distance(query[s:e], gallery[keep], metric)
        aps.append(rank_statistics(dist, q_pids[s:e], q_camids[s:e], identities)['ap'])
        hidden = (g_pids[keep][None] == q_pids[s:e, None]) & (g_camids[keep][None] == q_camids[s:e, None])
        dist = dist.masked_fill(hidden, float('inf'))
        d, i = torch.topk(dist, k, dim=1, largest=False, sorted=True)
        distances.append(d)
        indices.append(keep[i])
    indices = torch.cat(indices)
    return dict(ap=torch.cat(aps).numpy(), indices=indices.numpy(),
                distances=torch.cat(distances).numpy(),
                matches=(g_pids[indices] == q_pids[:, None]).numpy())


def pick_queries(ap: np.ndarray, num: int, best: bool) -> np.ndarray:
    """Indices of the ``num`` queries with the lowest (or highest) AP, NaNs left out."""
    valid = np.flatnonzero(~np.isnan(ap))
    order = valid[np.argsort(ap[valid], kind='stable')]
    return order[::-1][:num] if best else order[:num]


def pair_distances(query: torch.Tensor, gallery: torch.Tensor, q_pids, q_camids, g_pids,
                   g_camids, metric: str = 'euclidean', normalize_feat: bool = False,
                   same_camera_filter: bool = True, max_negatives: int = 2_000_000,
                   seed: int = 0, chunk_size: int = 256):
    """(same-person distances, different-person distances) over the valid pairs (as
    ``evaluation.functional.roc``); at most ``max_negatives`` negatives, drawn uniformly."""
    q_pids, q_camids, g_pids, g_camids = (torch.as_tensor(v).long().reshape(-1)
                                          for v in (q_pids, q_camids, g_pids, g_camids))
    if not same_camera_filter:
        q_camids, g_camids = torch.zeros_like(q_camids), torch.ones_like(g_camids)
    query = prepare_features(query.float(), metric, normalize_feat)
    gallery = prepare_features(gallery.float(), metric, normalize_feat)
    keep = g_pids != -1
    gallery, g_pids, g_camids = gallery[keep], g_pids[keep], g_camids[keep]
    total_neg = int((q_pids[:, None] != g_pids[None]).sum())
    rate = min(1.0, max_negatives / max(total_neg, 1))
    generator = torch.Generator().manual_seed(seed)
    pos, neg = [], []
    for s in range(0, len(query), chunk_size):
        e = min(s + chunk_size, len(query))
        dist = pairwise_distance(query[s:e], gallery, metric)
        same = q_pids[s:e, None] == g_pids[None]
        valid = ~(same & (q_camids[s:e, None] == g_camids[None]))
        pos.append(dist[same & valid])
        negatives = dist[~same]
        if rate < 1.0:
            negatives = negatives[torch.rand(len(negatives), generator=generator) < rate]
        neg.append(negatives)
    return torch.cat(pos).numpy(), torch.cat(neg).numpy()
