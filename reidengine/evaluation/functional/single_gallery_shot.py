"""CMC under the CUHK03 classic single-gallery-shot protocol (Li et al., CVPR 2014, Sec. 5).

For each query (same-identity same-camera gallery items removed, as in the Market protocol), one
gallery image is drawn at random for every gallery identity; the rank of the query's own identity
among these representatives gives the CMC. The draw is repeated ``num_repeats`` times and
averaged (Torchreid / FastReID ``eval_cuhk03``: 10 repeats). Draws come from one generator per
fixed group of query rows, seeded with (seed, group), so results depend on the seed only, not on
how the queries are split into chunks or workers (they are not the numbers of numpy's global
random stream).
mAP and mINP are not changed by this protocol (they use the whole gallery).
"""
from typing import Dict, Sequence

import torch


class SingleGalleryShotAccumulator:

    def __init__(self, q_pids: torch.Tensor, q_camids: torch.Tensor, g_pids: torch.Tensor,
                 g_camids: torch.Tensor, ranks: Sequence[int] = (1, 5, 10),
                 num_repeats: int = 10, seed: int = 0, step_elements: int = 2 ** 20):
        if len(g_pids) >= 2 ** 20:
            raise ValueError(f'single-gallery-shot CMC supports galleries below 2**20 items, '
                             f'got {len(g_pids)}')
        self.q_pids, self.q_camids = q_pids.long(), q_camids.long()
        self.g_pids, self.g_camids = g_pids.long(), g_camids.long()
        self.g_ident = torch.unique(self.g_pids, return_inverse=True)[1]
        self.num_ident = int(self.g_ident.max()) + 1
        self.ranks = torch.tensor([int(k) for k in ranks])
        self.num_repeats, self.step_elements = num_repeats, step_elements
        self.seed = seed
        self.hits = torch.zeros(len(q_pids), len(self.ranks), dtype=torch.float64)
        self.valid = torch.zeros(len(q_pids), dtype=torch.bool)

    def _rows(self, dist: torch.Tensor, q_pids: torch.Tensor, q_camids: torch.Tensor,
              generator: torch.Generator, offset: int, group_rows: int):
        """Rows ``offset:offset + len(dist)`` of a group of ``group_rows`` queries: the draws are
        made for the whole group, so that they do not depend on where a chunk starts."""
        num_rows, num_gallery = dist.shape
        same_id = self.g_pids[None, :] == q_pids[:, None]
        kept = ~(same_id & (self.g_camids[None, :] == q_camids[:, None]))
        is_pos = same_id & kept
        ident = self.g_ident.expand(num_rows, -1)
        col = torch.arange(num_gallery)
        hits = torch.zeros(num_rows, len(self.ranks), dtype=torch.float64)
        for _ in range(self.num_repeats):
            # unique random keys (column in the low bits); removed items never win
            key = torch.randint(0, 2 ** 40, (group_rows, num_gallery), generator=generator)
            key = torch.where(kept, key[offset:offset + num_rows] * 2 ** 20 + col, -1)
            best = torch.full((num_rows, self.num_ident), -1).scatter_reduce_(
                1, ident, key, 'amax')
            chosen = kept & (key == best.gather(1, ident))
            pick = chosen & is_pos  # the query identity's representative (one per row)
            pick_d = torch.where(pick, dist, float('inf')).amin(1, keepdim=True)
            pick_col = torch.where(pick, col, num_gallery).amin(1, keepdim=True)
            before = (dist < pick_d) | ((dist == pick_d) & (col < pick_col))
            rank = (chosen & before).sum(1)
            hits += (rank[:, None] < self.ranks[None, :]).double()
        return hits / self.num_repeats, is_pos.any(1)

    def update(self, start: int, dist: torch.Tensor) -> None:
        group_rows = max(1, min(64, self.step_elements // max(dist.shape[1], 1)))
        end, s = start + dist.shape[0], start
        while s < end:
            group = s // group_rows
            e = min(end, (group + 1) * group_rows)
            generator = torch.Generator().manual_seed(self.seed * 1_000_003 + group)
            q = slice(s, e)
            self.hits[q], self.valid[q] = self._rows(dist[s - start:e - start], self.q_pids[q],
                                                     self.q_camids[q], generator,
                                                     s - group * group_rows, group_rows)
            s = e

    def summary(self) -> Dict[str, float]:
        hits = self.hits[self.valid].mean(0)
        return {f'R{int(k)}': float(h) for k, h in zip(self.ranks, hits)}
