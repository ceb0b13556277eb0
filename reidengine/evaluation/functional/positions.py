"""Positions of a few chosen columns in the sorted order of each row, without sorting the rows.

The ranking metrics (mAP, CMC, mINP; Zheng et al., ICCV 2015, Sec. 4; Ye et al., TPAMI 2021,
Eq. 8) need, for every query, only the ranks of its few positives in the gallery sorted by
distance. ``sorted_positions`` gives exactly the position a stable ``argsort`` of the row would
give (ties broken by column index) in O(G) vectorised passes per row instead of O(G log G):

1. map every distance with one monotone affine function (per row) to one of ``num_cells`` + 2
   cells spanning the probes' range (cell 0: below all probes, the last cell: above them);
2. histogram the cells per row: the elements in cells below a probe's cell all precede it;
3. only the elements sharing a cell with a probe need an exact comparison: they are few (none
   in most rows), and are sorted by (cell, distance, column).

Any monotone cell map is exact: an element in a lower cell has a distance no larger than the
probe's (equal distances always share a cell), so the affine map only decides the speed.
"""
import math
import threading

import torch


_SCRATCH = threading.local()


def _scratch(name: str, shape: tuple, dtype: torch.dtype) -> torch.Tensor:
    """A per-thread reusable buffer: a fresh multi-MiB allocation per call costs more in page
    faults than the pass that fills it."""
    numel = math.prod(shape)
    buf = getattr(_SCRATCH, name, None)
    if buf is None or buf.dtype != dtype or buf.numel() < numel:
        buf = torch.empty(numel, dtype=dtype)
        setattr(_SCRATCH, name, buf)
    return buf[:numel].view(shape)


def _ones(numel: int) -> torch.Tensor:
    return torch.ones(1, dtype=torch.int32).expand(numel)


def sorted_positions(dist: torch.Tensor, cols: torch.Tensor, mask: torch.Tensor,
                     num_cells: int = 1024) -> torch.Tensor:
    """Position of ``dist[r, cols[r, j]]`` in row ``r`` sorted by (distance, column index).

    Args:
        dist: (R, G) float distances, no NaN; the probes' distances must be finite.
        cols: (R, P) long column indices (the probes); entries where ``mask`` is False are ignored
            but must be valid indices.
        mask: (R, P) bool, which probes are real.
        num_cells: cells between the smallest and largest probe of a row (more cells, fewer
            elements to compare exactly, larger histogram).

    Returns:
        (R, P) long: the number of columns ``k`` with ``(dist[r, k], k) < (dist[r, c], c)``
        for ``c = cols[r, j]``; -1 where ``mask`` is False.
    """
    num_rows, num_cols = dist.shape
    if num_cells < 2:
        raise ValueError(f'num_cells must be at least 2, got {num_cells}')
    width = num_cells + 2
    if num_rows * width >= 2 ** 24:
        raise ValueError(f'rows x cells = {num_rows} x {width} is too many for exact fp32 cell '
                         'ids; pass fewer rows per call')
    if not bool(mask.any()):
        return torch.full_like(cols, -1)
    dist = dist.contiguous()
    probe_d = dist.gather(1, cols)
    has_probe = mask.any(1)
    inf = torch.tensor(float('inf'))
    lo = torch.where(has_probe, torch.where(mask, probe_d, inf).amin(1), 0.0)
    hi = torch.where(has_probe, torch.where(mask, probe_d, -inf).amax(1), 0.0)
    # any positive width keeps the map monotone; a tiny one keeps single probes' cells narrow
    span = torch.maximum(hi - lo, (lo.abs() + hi.abs()) * 1e-6 + 1e-30)
    scale = (num_cells - 1) / span

    # 1. monotone map of row r to the flat cell ids r * width + (0 .. num_cells + 1):
    #    x = d * scale + (1 - lo * scale + r * width), clamped to the row's ids (fp32 rounding
    #    keeps it monotone, which is all exactness needs; ids < 2^24 are exact in fp32).
    #    Written column-major, (G, R): neighbouring entries belong to different rows, so the
    #    histogram's increments do not queue on one counter when most of a row falls into one
    #    cell (beyond its farthest probe), and the per-row bounds vectorise.
    first = torch.arange(num_rows, dtype=torch.float32) * width
    x = _scratch('x', (num_cols, num_rows), torch.float32)
    torch.addcmul((first + 1 - lo * scale)[None, :], dist.t(), scale[None, :], out=x)
    x.clamp_(first[None, :], (first + (width - 1))[None, :])
    cells_t = _scratch('cells', (num_cols, num_rows), torch.int32).copy_(x)  # (G, R), truncated
    cells = cells_t.t()  # (R, G) view

    # 2. elements in lower cells of the same row
    if math.isnan(float(x.sum())):  # NaN clamps to NaN and has no cell (bounded values otherwise)
        raise ValueError(f'distances contain NaN (rows of this block: {num_rows})')
    hist = _scratch('hist', (num_rows * width,), torch.int32).zero_()
    hist.index_add_(0, cells_t.view(-1), _ones(cells_t.numel()))
    below = torch.cumsum(hist.view(num_rows, width), 1,
                         out=_scratch('below', (num_rows, width), torch.int32)).view(-1).sub_(hist)
    probe_cells = cells.gather(1, cols).long()
    result = below[probe_cells]

    # 3. exact order inside cells that hold a probe and something else (rows that have one)
    crowded = mask & (hist[probe_cells] > 1)
    rows = crowded.any(1).nonzero().squeeze(1)
    if len(rows):
        flagged = torch.zeros(num_rows * width, dtype=torch.bool)
        flagged[probe_cells[crowded]] = True
        local = flagged.index_select(0, cells[rows].reshape(-1)).nonzero().squeeze(1)
        elem_row, elem_col = rows[local // num_cols], local % num_cols
        elems = elem_row * num_cols + elem_col  # ascending: row, column
        elem_d = dist[elem_row, elem_col]
        elem_cell = cells[elem_row, elem_col]
        order = torch.sort(elem_d, stable=True).indices
        order = order[torch.sort(elem_cell[order], stable=True).indices]  # (cell, d, column)
        position = torch.empty_like(order)
        position[order] = torch.arange(order.numel())
        within = position - torch.searchsorted(elem_cell[order], elem_cell)
        probe_elem = (torch.arange(num_rows)[:, None] * num_cols + cols)[crowded]
        result[crowded] += within[torch.searchsorted(elems, probe_elem)]
    return torch.where(mask, result, -1)
