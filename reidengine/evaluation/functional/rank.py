"""mAP, CMC and mINP under the Market-1501 protocol, from blocks of query rows of distances.

Protocol (Zheng et al., ICCV 2015, Sec. 4; mINP: Ye et al., TPAMI 2021, Eq. 8), as in the
Torchreid and FastReID evaluators: for each query, gallery items with its identity AND its camera
are removed; the other gallery items of its identity are the positives; queries without a positive
are skipped. Junk gallery items (pid -1) must be dropped by the caller (``drop_junk``).
Ranking is by ascending distance, ties broken by gallery order (a stable argsort).

With the sorted valid gallery list of a query and its n positives at 0-based ranks
r_1 < ... < r_n:  AP = (1/n) sum_m m / (r_m + 1),  CMC@k = [r_1 < k],  INP = n / (r_n + 1).
Only the positives' ranks are computed (``native/`` where a C compiler is present, else
``positions.py``; the same positions), never a full sort of the gallery.
"""
from typing import Dict, Sequence

import torch

from . import native as native_kernel
from .positions import bounded_positions

JUNK_PID = -1


def drop_junk(feats: torch.Tensor, pids: torch.Tensor, camids: torch.Tensor):
    """Remove gallery items whose pid is -1 (junk images are ignored by the protocol)."""
    keep = pids != JUNK_PID
    if bool(keep.all()):
        return feats, pids, camids
    return feats[keep], pids[keep], camids[keep]


class GalleryIdentities:
    """The gallery grouped by identity, to list each query's same-identity items quickly."""

    def __init__(self, pids: torch.Tensor, camids: torch.Tensor):
        if len(pids) == 0:
            raise ValueError('the gallery is empty (after dropping junk items with pid -1)')
        self.pids, self.camids = pids.long(), camids.long()
        self.order = torch.argsort(self.pids, stable=True)  # ascending gallery index per identity
        self.ids, self.counts = torch.unique_consecutive(self.pids[self.order], return_counts=True)
        self.starts = self.counts.cumsum(0) - self.counts

    def members(self, q_pids: torch.Tensor, q_camids: torch.Tensor):
        """Gallery items of each query's identity, padded to the largest group.

        Returns ``cols`` (R, P) gallery indices, ``mask`` (R, P) real entries and ``removed``
        (R, P) entries that share the query's camera (removed by the protocol).
        """
        loc = torch.searchsorted(self.ids, q_pids).clamp_(max=len(self.ids) - 1)
        count = torch.where(self.ids[loc] == q_pids, self.counts[loc], 0)
        slot = torch.arange(max(int(count.max()), 1))
        mask = slot[None, :] < count[:, None]
        cols = self.order[torch.where(mask, self.starts[loc][:, None] + slot[None, :], 0)]
        removed = mask & (self.camids[cols] == q_camids[:, None])
        return cols, mask, removed


def rank_statistics(dist: torch.Tensor, q_pids: torch.Tensor, q_camids: torch.Tensor,
                    gallery: GalleryIdentities, num_cells: int = None,
                    step_elements: int = 2 ** 22, dense_fraction: float = 0.75,
                    native: bool = None) -> Dict[str, torch.Tensor]:
    """Per-query AP, rank of the first and last positive and number of positives.

    Only the gallery items closer than a query's farthest positive can change its metrics, so
    positions are computed for the elements up to that bound (``bounded_positions``); same-camera
    items of the query's identity beyond it come after every positive and are left out.

    Args:
        dist: (R, G) distances of R queries to the gallery (junk already dropped).
        num_cells: cells of ``sorted_positions`` (rows with many candidates); default ``G // 4``
            (at least 64).
        step_elements: rows are handled in slices of about this many entries (cache-sized).
        dense_fraction: see ``bounded_positions``.
        native: use the native kernel (``native/``, same results): None = where it could be
            built, True = required, False = the torch implementation (the three arguments
            above are its settings).

    Returns:
        dict of (R,) tensors: ``num_pos`` (long), ``first`` / ``last`` (long, 0-based rank of the
        first / last positive among the valid gallery items, -1 without positives), ``ap``
        (float64, NaN without positives).
    """
    num_rows, num_gallery = dist.shape
    num_cells = num_cells or max(64, num_gallery // 4)
    cols, mask, removed = gallery.members(q_pids, q_camids)
    positive = mask & ~removed
    bound = torch.where(positive, dist.gather(1, cols), -float('inf')).amax(1)
    if bool(bound.isnan().any()):
        raise ValueError(f'distances contain NaN (rows of this block: {num_rows})')
    fn = None if native is False else native_kernel.kernel()
    if native and fn is None:
        raise RuntimeError(f'the native ranking kernel is not available: '
                           f'{native_kernel.unavailable_reason()}')
    if fn is not None:
        position = native_kernel.bounded_positions(dist, cols, mask, bound, fn=fn)
    else:
        position = torch.empty_like(cols)
        step = max(1, min(step_elements // max(num_gallery, 1), 2 ** 24 // (num_cells + 2) - 1))
        for s in range(0, num_rows, step):
            position[s:s + step] = bounded_positions(dist[s:s + step], cols[s:s + step],
                                                     mask[s:s + step], bound[s:s + step],
                                                     num_cells, dense_fraction)

    big = torch.iinfo(torch.long).max
    position, order = torch.where(position >= 0, position, big).sort(1)
    is_pos = positive.gather(1, order)
    is_removed = removed.gather(1, order)
    removed_before = is_removed.cumsum(1) - is_removed.long()
    rank = position - removed_before  # rank among the valid items (entries where is_pos)
    ordinal = is_pos.cumsum(1)  # 1-based index among the positives
    num_pos = is_pos.sum(1)
    precision = torch.where(is_pos, ordinal.double() / (rank + 1).double(), 0.0)
    ap = precision.sum(1) / num_pos.double()
    first = torch.where(is_pos, rank, big).amin(1)
    last = torch.where(is_pos, rank, -1).amax(1)
    valid = num_pos > 0
    return dict(num_pos=num_pos, ap=torch.where(valid, ap, float('nan')),
                first=torch.where(valid, first, -1), last=torch.where(valid, last, -1))


class RankAccumulator:
    """Consumes (start_row, distance block) pairs; ``summary`` gives mAP, CMC@k and mINP.

    ``num_cells``, ``step_elements``, ``dense_fraction`` and ``native`` are passed to
    ``rank_statistics``.
    """

    def __init__(self, q_pids: torch.Tensor, q_camids: torch.Tensor, g_pids: torch.Tensor,
                 g_camids: torch.Tensor, ranks: Sequence[int] = (1, 5, 10),
                 num_cells: int = None, step_elements: int = 2 ** 22,
                 dense_fraction: float = 0.75, native: bool = None):
        self.q_pids, self.q_camids = q_pids.long(), q_camids.long()
        self.gallery = GalleryIdentities(g_pids, g_camids)
        self.ranks = tuple(int(k) for k in ranks)
        self.num_cells, self.step_elements = num_cells, step_elements
        self.dense_fraction, self.native = dense_fraction, native
        num_q = len(q_pids)
        self.per_query = dict(num_pos=torch.zeros(num_q, dtype=torch.long),
                              ap=torch.full((num_q,), float('nan'), dtype=torch.float64),
                              first=torch.full((num_q,), -1, dtype=torch.long),
                              last=torch.full((num_q,), -1, dtype=torch.long))
        self.seen = torch.zeros(num_q, dtype=torch.bool)

    def update(self, start: int, dist: torch.Tensor) -> None:
        q = slice(start, start + dist.shape[0])
        stats = rank_statistics(dist, self.q_pids[q], self.q_camids[q], self.gallery,
                                self.num_cells, self.step_elements, self.dense_fraction,
                                self.native)
        for key, value in stats.items():
            self.per_query[key][q] = value
        self.seen[q] = True

    def summary(self) -> Dict[str, float]:
        if not bool(self.seen.all()):
            raise RuntimeError(f'{int((~self.seen).sum())} query rows were never evaluated')
        valid = self.per_query['num_pos'] > 0
        num_valid = int(valid.sum())
        if num_valid == 0:
            raise ValueError('no query has a positive in the gallery (same identity, other '
                             'camera); check the query/gallery split and the pid/camid values')
        first = self.per_query['first'][valid]
        last = self.per_query['last'][valid]
        num_pos = self.per_query['num_pos'][valid].double()
        out = dict(mAP=float(self.per_query['ap'][valid].mean()),
                   mINP=float((num_pos / (last + 1).double()).mean()))
        for k in self.ranks:
            out[f'R{k}'] = float((first < k).double().mean())
        out['num_skipped_queries'] = len(valid) - num_valid
        return out

    def details(self, max_rank: int = 50) -> Dict[str, torch.Tensor]:
        """Per-query ``AP`` and ``INP`` (float64, NaN without a valid positive), ``first_rank``
        (long, -1 without one) and the ``CMC`` curve (float64 (max_rank,)) over valid queries."""
        if max_rank < 1:
            raise ValueError(f'cmc_max_rank must be positive, got {max_rank}')
        num_pos, last = self.per_query['num_pos'], self.per_query['last']
        valid = num_pos > 0
        inp = torch.where(valid, num_pos.double() / (last + 1).double(), float('nan'))
        first = self.per_query['first'][valid]
        hits = torch.bincount(first.clamp(max=max_rank), minlength=max_rank + 1)[:max_rank]
        cmc = hits.cumsum(0).double() / max(int(valid.sum()), 1)
        return dict(AP=self.per_query['ap'].clone(), INP=inp,
                    first_rank=self.per_query['first'].clone(), CMC=cmc)


def matrix_blocks(distmat: torch.Tensor, chunk_size: int = 256):
    """Yield ``(start, rows start:start+chunk_size)`` of a (Q, G) distance matrix."""
    for start in range(0, len(distmat), chunk_size):
        yield start, distmat[start:start + chunk_size]
