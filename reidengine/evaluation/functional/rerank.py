"""k-reciprocal re-ranking (Zhong et al., CVPR 2017, Sec. 3, Eqs. 4-14) with sparse neighbour sets.

Same numbers as the classic implementation (Zhong et al.'s ``re_ranking``, as kept in Torchreid)
on the same distances, but it never forms an (N x N) matrix (N = queries + gallery):

* ``d`` = the evaluation distance (``distance.pairwise_distance``); the classic code uses
  ``d**2`` divided by its row maximum ("original distance").
* k-nearest neighbours N(p, k1+1) of every sample come from one pass over the upper triangle of
  the N x N distances in square tiles (only the top ``k1 + 1`` and the row maximum are kept).
* R(p, k1) = k-reciprocal neighbours (Eq. 4); R*(p, k1) adds R(q, round(k1/2)) of each q in
  R(p, k1) that shares more than 2/3 of it (Eq. 6).
* V_p (Eq. 7): weights exp(-d(p, g)) on R*(p), normalised to sum 1; local query expansion
  (Eq. 11): mean of V over the k2 nearest neighbours.
* Jaccard distance (Eq. 10): 1 - sum min(V_p, V_g) / sum max(V_p, V_g), with
  sum max = 2 - sum min since every V sums to 1; final (Eq. 12):
  (1 - lambda) * d_J + lambda * d.

Memory: O(N (k1 + stored weights)) plus, per worker thread, one distance tile or one
(chunk x G) block of final distances.
"""
import threading
from typing import Iterator, Optional, Tuple

import torch

from .distance import (check_features, check_metric, paired_distance, pairwise_distance,
                       prepare_features)
from .parallel import run_chunks, run_tasks


class SparseRows:
    """Row-compressed sparse matrix: row ``i`` holds ``cols[ptr[i]:ptr[i+1]]`` (ascending)."""

    def __init__(self, rows: torch.Tensor, cols: torch.Tensor, vals: torch.Tensor, num_rows: int):
        order = torch.argsort(rows * (int(cols.max()) + 1 if cols.numel() else 1) + cols)
        self.cols, self.vals = cols[order], vals[order]
        counts = torch.bincount(rows, minlength=num_rows)
        self.ptr = torch.cat([counts.new_zeros(1), counts.cumsum(0)])
        self.num_rows = num_rows

    def row_ids(self) -> torch.Tensor:
        return torch.repeat_interleave(torch.arange(self.num_rows), self.ptr.diff())

    def slice_rows(self, start: int, end: int):
        """(local row ids, cols, vals) of rows start..end-1."""
        lo, hi = int(self.ptr[start]), int(self.ptr[end])
        rows = torch.repeat_interleave(torch.arange(end - start), self.ptr[start:end + 1].diff())
        return rows, self.cols[lo:hi], self.vals[lo:hi]


def _expand_segments(ptr: torch.Tensor, keys: torch.Tensor):
    """For each entry e with key k, list positions ptr[k] .. ptr[k+1]-1.

    Returns (entry index of every listed position, the positions).
    """
    counts = ptr[keys + 1] - ptr[keys]
    entry = torch.repeat_interleave(torch.arange(len(keys)), counts)
    offsets = torch.arange(len(entry)) - torch.repeat_interleave(counts.cumsum(0) - counts, counts)
    return entry, ptr[keys][entry] + offsets


def check_rerank_params(k1: int = 20, k2: int = 6, lambda_value: float = 0.3) -> None:
    """Reject re-ranking parameters outside their ranges (before any feature is extracted)."""
    for name, value in (('k1', k1), ('k2', k2)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f'rerank {name} must be an int, got {value!r}')
    if not (k1 >= 1 and 1 <= k2 <= k1 + 1):
        raise ValueError(f'rerank needs k1 >= 1 and 1 <= k2 <= k1 + 1, got k1={k1}, k2={k2}')
    if isinstance(lambda_value, bool) or not isinstance(lambda_value, (int, float)) \
            or not 0.0 <= lambda_value <= 1.0:
        raise ValueError(f'rerank lambda_value must be a number in [0, 1], got {lambda_value!r}')


def _unit_rows(feats: torch.Tensor, tol: float = 1e-5) -> torch.Tensor:
    """``feats`` L2-normalised, or as given when every row's norm is within ``tol`` of 1."""
    if len(feats) and float((feats.norm(dim=1) - 1).abs().max()) <= tol:
        return feats
    return prepare_features(feats, 'cosine')


class KReciprocalReranker:
    """Re-ranked query-gallery distances, produced one block of query rows at a time.

    Args:
        query, gallery: (Q, D) and (G, D) features (tensors or numpy arrays); for ``cosine``
            rows that are not unit vectors (norm off 1 by more than 1e-5) are L2-normalised.
        metric: ``euclidean`` (squared) or ``cosine``; the distance that is re-ranked.
        k1, k2, lambda_value: Zhong et al.'s parameters (paper: 20, 6, 0.3).
        chunk_size: rows per distance block; num_workers: threads (``parallel.run_chunks``).
        tile: side of the square distance tiles of the nearest-neighbour pass.
    """

    def __init__(self, query: torch.Tensor, gallery: torch.Tensor, metric: str = 'euclidean',
                 k1: int = 20, k2: int = 6, lambda_value: float = 0.3, chunk_size: int = 256,
                 num_workers: Optional[int] = None, tile: int = 2048):
        check_rerank_params(k1, k2, lambda_value)
        check_metric(metric)
        query = check_features(query, 'rerank query features')
        gallery = check_features(gallery, 'rerank gallery features')
        if metric == 'cosine':  # 1 - q.g is the cosine distance only on unit vectors
            query, gallery = _unit_rows(query), _unit_rows(gallery)
        self.query, self.gallery, self.metric = query, gallery, metric
        self.k1, self.k2, self.lambda_value, self.chunk_size = k1, k2, lambda_value, chunk_size
        self.num_workers = num_workers
        self.feats = torch.cat([query, gallery])
        num = len(self.feats)
        if num < k1 + 1:
            raise ValueError(f'rerank with k1={k1} needs more than {k1} samples, got {num}')
        self.sqnorm = self.feats.pow(2).sum(1) if metric == 'euclidean' else None
        self.knn, self.knn_sqdist, self.row_max = self._neighbours(tile)
        weights = self._encode()
        if k2 != 1:
            weights = self._expand(weights)
        self.weights = weights
        self.gallery_cols = self._gallery_columns(weights)

    # --- nearest neighbours under the original distance d**2 / row max ---------------------
    def _neighbours(self, tile: int) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The k1 + 1 nearest samples (ascending d**2, ties by index), their d**2, row max d**2.

        d is symmetric, so only the tiles on and above the diagonal are computed: each gives
        candidates to its rows and, transposed, to its columns. Only entries not above a row's
        current k-th best are candidates. Lists are kept as int64 keys (bits of d**2 >= 0, which
        order like the values, then the index), so merging is one exact top-k and the result
        does not depend on the order the tiles finish in.
        """
        num, k = len(self.feats), self.k1 + 1
        if num >= 2 ** 31:
            raise ValueError(f'rerank supports fewer than 2**31 samples, got {num}')
        none = torch.iinfo(torch.long).max
        best = torch.full((num, k), none)  # sorted keys
        row_max = torch.zeros(num)
        locks = {s: threading.Lock() for s in range(0, num, tile)}
        sq = self.sqnorm

        def keys(sqdist, index):
            return (sqdist.contiguous().view(torch.int32).long() << 31) | index

        def candidates(dist, dim, start, offset):
            """(n, m) keys of entries of ``dist`` that may enter the lists of its rows (dim 1)
            or columns (dim 0), i.e. samples start.., padded with ``none``."""
            n = dist.shape[1 - dim]
            bound = best[start:start + n, -1]  # may be stale: only ever decreases
            if bool((bound == none).any()):  # one without k candidates yet: take the k best
                near = dist.topk(min(k, dist.shape[dim]), dim=dim, largest=False)
                values, index = (near.values, near.indices) if dim else (near.values.t(),
                                                                         near.indices.t())
                return keys(values, index + offset)
            bound = (bound >> 31).int().view(torch.float32)
            hits = (dist <= (bound[:, None] if dim else bound[None, :])).nonzero()
            values = dist[hits[:, 0], hits[:, 1]]
            owner, index = (hits[:, 0], hits[:, 1]) if dim else (hits[:, 1], hits[:, 0])
            if not dim:  # group by column
                order = owner.argsort(stable=True)
                owner, index, values = owner[order], index[order], values[order]
            count = torch.bincount(owner, minlength=n)
            slot = torch.arange(len(owner)) - (count.cumsum(0) - count)[owner]
            cand = torch.full((n, max(int(count.max()), 1)), none)
            cand[owner, slot] = keys(values, index + offset)
            return cand

        def merge(start, dist, dim, offset):
            cand = candidates(dist, dim, start, offset)
            end = start + len(cand)
            with locks[start]:
                best[start:end] = torch.cat([best[start:end], cand], 1).topk(
                    k, dim=1, largest=False).values
                torch.maximum(row_max[start:end], dist.amax(dim), out=row_max[start:end])

        def tile_pair(r0, c0):
            r1, c1 = min(r0 + tile, num), min(c0 + tile, num)
            d = pairwise_distance(self.feats[r0:r1], self.feats[c0:c1], self.metric,
                                  None if sq is None else sq[r0:r1],
                                  None if sq is None else sq[c0:c1])
            d.mul_(d)
            merge(r0, d, 1, c0)
            if c0 != r0:
                merge(c0, d, 0, r0)

        starts = range(0, num, tile)
        run_tasks(tile_pair, [(r, c) for r in starts for c in starts if c >= r], self.num_workers)
        sqdist = (best >> 31).int().view(torch.float32)
        return best & (2 ** 31 - 1), sqdist, row_max.clamp_min_(torch.finfo(row_max.dtype).tiny)

    def _pair_original(self, rows: torch.Tensor, cols: torch.Tensor) -> torch.Tensor:
        """d**2 / row max for the pairs (rows[e], cols[e]); most are among the kept neighbours."""
        hit = self.knn[rows] == cols[:, None]
        found = hit.any(1)
        sqdist = self.knn_sqdist[rows].gather(1, hit.int().argmax(1, keepdim=True)).squeeze(1)
        missing = (~found).nonzero().squeeze(1)

        def pairs(start, end):
            e = missing[start:end]
            r, c = rows[e], cols[e]
            sq = (None, None) if self.sqnorm is None else (self.sqnorm[r], self.sqnorm[c])
            d = paired_distance(self.feats[r], self.feats[c], self.metric, *sq)
            sqdist[e] = d * d

        run_chunks(pairs, len(missing), 1 << 14, self.num_workers)
        return sqdist / self.row_max[rows]

    # --- k-reciprocal sets and their weights (Eqs. 4-7) --------------------------------------
    def _reciprocal(self, k: int, rows: slice) -> torch.Tensor:
        """(n, k) bool: neighbour m of each row has that row among its own first k neighbours."""
        near = self.knn[rows, :k]
        back = self.knn[:, :k][near]  # (n, k, k)
        own = torch.arange(len(self.knn))[rows]
        return (back == own[:, None, None]).any(-1)

    def _encode(self) -> SparseRows:
        num, k_full = len(self.knn), self.k1 + 1
        k_half = round(self.k1 / 2) + 1  # round half to even, like np.around
        half_mask = torch.cat([self._reciprocal(k_half, slice(s, s + 4096))
                               for s in range(0, num, 4096)])
        half_sets = torch.where(half_mask, self.knn[:, :k_half], -1)  # R(q, k1/2), -1 = none
        half_size = half_mask.sum(1)
        rows_out, cols_out = [], []
        for s in range(0, num, 4096):
            rows = slice(s, min(s + 4096, num))
            recip = torch.where(self._reciprocal(k_full, rows), self.knn[rows], -1)  # R(p, k1)
            cand = recip.clamp_min(0)
            cand_sets = half_sets[cand]  # (n, k_full, k_half); -1 never equals -2 below
            shared = (cand_sets[..., None] == torch.where(recip >= 0, recip, -2)[:, None, None, :]
                      ).any(-1).sum(-1)
            take = (recip >= 0) & (shared.double() > 2.0 / 3 * half_size[cand].double())
            extra = torch.where(take[..., None], cand_sets, -1).flatten(1)
            members = torch.cat([recip, extra], 1).sort(1).values
            first = torch.ones_like(members, dtype=torch.bool)
            first[:, 1:] = members[:, 1:] != members[:, :-1]
            keep = first & (members >= 0)
            r, m = keep.nonzero(as_tuple=True)
            rows_out.append(r + s)
            cols_out.append(members[r, m])
        rows, cols = torch.cat(rows_out), torch.cat(cols_out)
        weight = torch.exp(-self._pair_original(rows, cols))
        total = torch.zeros(num).index_add_(0, rows, weight)
        return SparseRows(rows, cols, weight / total[rows], num)

    def _expand(self, weights: SparseRows, rows_per_part: int = 8192) -> SparseRows:
        """Local query expansion (Eq. 11): mean of V over each sample's k2 nearest neighbours."""
        num = len(self.knn)
        rows_out, cols_out, vals_out = [], [], []
        for s in range(0, num, rows_per_part):  # parts of rows bound the temporary memory
            near = self.knn[s:s + rows_per_part, :self.k2].reshape(-1)
            entry, pos = _expand_segments(weights.ptr, near)
            key = (entry // self.k2 + s) * num + weights.cols[pos]
            uniq, inverse = torch.unique(key, sorted=True, return_inverse=True)
            vals_out.append(torch.zeros(len(uniq)).index_add_(0, inverse, weights.vals[pos]))
            rows_out.append(uniq // num)
            cols_out.append(uniq % num)
        return SparseRows(torch.cat(rows_out), torch.cat(cols_out), torch.cat(vals_out) / self.k2,
                          num)

    def _gallery_columns(self, weights: SparseRows) -> SparseRows:
        """Column-major view of the gallery rows: for column c, (gallery index, weight)."""
        rows = weights.row_ids()
        is_gallery = rows >= len(self.query)
        return SparseRows(weights.cols[is_gallery], rows[is_gallery] - len(self.query),
                          weights.vals[is_gallery], len(self.feats))

    # --- final distances ------------------------------------------------------------------
    def jaccard_overlap(self, start: int, end: int, max_pairs: int = 1 << 22) -> torch.Tensor:
        """sum_c min(V_q[c], V_g[c]) for queries start..end-1 and every gallery item."""
        num_gallery = len(self.gallery)
        overlap = torch.zeros((end - start) * num_gallery)
        rows, cols, vals = self.weights.slice_rows(start, end)
        pairs = self.gallery_cols.ptr[cols + 1] - self.gallery_cols.ptr[cols]
        done = pairs.cumsum(0) - pairs  # pairs before each entry
        begin = 0
        while begin < len(cols):  # entries in parts of at most max_pairs pairs (or one entry)
            stop = max(begin + 1, int(torch.searchsorted(done, done[begin] + max_pairs)))
            entry, pos = _expand_segments(self.gallery_cols.ptr, cols[begin:stop])
            value = torch.minimum(vals[begin:stop][entry], self.gallery_cols.vals[pos])
            target = rows[begin:stop][entry] * num_gallery + self.gallery_cols.cols[pos]
            overlap.index_add_(0, target, value)
            begin = stop
        return overlap.view(end - start, num_gallery)

    def block(self, start: int, end: int) -> torch.Tensor:
        """Re-ranked distances of queries start..end-1 to the whole gallery."""
        dist = pairwise_distance(self.query[start:end], self.gallery, self.metric,
                                 None if self.sqnorm is None else self.sqnorm[start:end],
                                 None if self.sqnorm is None else self.sqnorm[len(self.query):])
        original = dist.mul_(dist).div_(self.row_max[start:end, None])
        overlap = self.jaccard_overlap(start, end)
        jaccard = overlap.div_(torch.sub(2., overlap)).neg_().add_(1.)  # 1 - o / (2 - o)
        return jaccard.mul_(1 - self.lambda_value).add_(original.mul_(self.lambda_value))

    def blocks(self) -> Iterator[Tuple[int, torch.Tensor]]:
        for start in range(0, len(self.query), self.chunk_size):
            yield start, self.block(start, min(start + self.chunk_size, len(self.query)))
