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

These are the torch implementations. Where a C compiler is present the evaluator ranks with the
native kernel instead (``native/``: ``bounded_positions`` in one read of each distance, same
results, several times faster); these remain its fallback and its reference in the tests.
"""
import math

import torch

from .parallel import thread_scratch as _scratch


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

    # 3. exact order inside cells that hold a probe and something else: their elements, found in
    #    the column-major cell ids (ascending column within a row), sorted by (cell, distance)
    crowded = mask & (hist[probe_cells] > 1)
    if bool(crowded.any()):
        flagged = torch.zeros(num_rows * width, dtype=torch.bool)
        flagged[probe_cells[crowded]] = True
        numel = num_rows * num_cols
        hit = _scratch('hit', (-(-numel // 8) * 8,), torch.bool)
        torch.index_select(flagged, 0, cells_t.view(-1), out=hit[:numel])
        hit[numel:] = False
        elems = true_indices(hit)  # flat column-major: column * R + row, ascending
        elem_cell = cells_t.view(-1)[elems].long()
        elem_d = dist[elems % num_rows, elems // num_rows]
        order = torch.argsort((elem_cell << 32) + _order_key(elem_d), stable=True)
        position = torch.empty_like(order)
        position[order] = torch.arange(order.numel())
        within = position - torch.searchsorted(elem_cell[order], elem_cell)
        probe_elem = (cols * num_rows + torch.arange(num_rows)[:, None])[crowded]
        result[crowded] += within[torch.searchsorted(elems, probe_elem)]
    return torch.where(mask, result, -1)


def true_indices(flags: torch.Tensor) -> torch.Tensor:
    """Ascending indices of the True entries of a 1-D bool tensor whose length is a multiple of
    8: the flags are read 8 at a time (int64 words), so only the words holding one are expanded
    (``nonzero`` of a bool tensor costs about 6 ns per entry, of the words 8x less)."""
    words = (flags.view(torch.int64) != 0).nonzero().squeeze(1)
    word, byte = flags.view(-1, 8).index_select(0, words).nonzero(as_tuple=True)
    return words[word] * 8 + byte


def _order_key(values: torch.Tensor) -> torch.Tensor:
    """int64 keys in [0, 2^32) ordered as the float32 ``values`` (no NaN): the IEEE bits with
    the magnitude bits of negatives flipped, -0.0 first turned into +0.0 (they compare equal)."""
    bits = (values + 0.0).view(torch.int32)
    return (bits ^ ((bits >> 31) & 0x7FFFFFFF)).long() + 2 ** 31


def bounded_positions(dist: torch.Tensor, cols: torch.Tensor, mask: torch.Tensor,
                      bound: torch.Tensor, num_cells: int = 1024,
                      dense_fraction: float = 0.75,
                      dense_step_elements: int = 2 ** 19) -> torch.Tensor:
    """``sorted_positions`` of the probes with ``dist <= bound[r]``, reading few elements.

    Only elements with ``dist <= bound`` can precede such a probe. For a ranking metric the bound
    is the farthest positive, and for a useful model few gallery items are closer than it:

    1. one pass marks the candidates, ``not (dist > bound)`` (a NaN is a candidate, so it is
       found and reported); the marks are read 8 bytes at a time to find the words holding one;
    2. rows with more candidate words than ``dense_fraction`` of the row use ``sorted_positions``
       (the cell histogram, O(G) per row whatever the bound);
    3. the other rows' candidates are sorted by one int64 key (row, distance) with a stable sort
       (ties stay in column order): a probe's position is its index inside its row's run.

    Args:
        dist, cols, mask, num_cells: as in ``sorted_positions``.
        bound: (R,) float; a row whose bound is -inf (no probe wanted) reads no candidate.
        dense_fraction: candidate words per row (as a fraction of the row's words) above which
            the row takes the histogram route.
        dense_step_elements: those rows are histogrammed in slices of about this many entries.

    Returns:
        (R, P) long positions where ``mask`` and ``dist[r, cols] <= bound[r]``, else -1.
    """
    num_rows, num_cols = dist.shape
    dist = dist.contiguous()
    wanted = mask & (dist.gather(1, cols) <= bound[:, None])
    result = torch.full_like(cols, -1)
    numel = num_rows * num_cols
    if numel == 0:
        return result

    # 1. candidate marks, flat (row-major), padded to whole 8-byte words
    marks = _scratch('marks', (-(-numel // 8) * 8,), torch.bool)
    torch.gt(dist, bound[:, None], out=marks[:numel].view(num_rows, num_cols)).logical_not_()
    marks[numel:] = False
    marked = marks.view(torch.int64) != 0  # (words,)

    # 2. rows with many candidate words (a word spanning two rows counts for the first):
    #    the histogram route
    row_words = torch.arange(num_rows + 1) * num_cols // 8  # first word of each row
    marked_before = torch.cat([torch.zeros(1, dtype=torch.int32),
                               marked.cumsum(0, dtype=torch.int32)])  # (int64: 10x slower)
    dense = (marked_before[row_words[1:]] - marked_before[row_words[:-1]]
             > dense_fraction * num_cols / 8)
    any_dense = bool(dense.any())
    if any_dense:
        rows = dense.nonzero().squeeze(1)
        idle = rows[~wanted[rows].any(1)]  # no probe to place: sorted_positions reads nothing
        if len(idle) and bool(dist.index_select(0, idle).isnan().any()):
            raise ValueError(f'distances contain NaN (rows of this block: {num_rows})')
        step = max(1, dense_step_elements // num_cols)  # the histogram's cache-sized slices
        for s in range(0, len(rows), step):
            r = rows[s:s + step]
            first, last = int(r[0]), int(r[-1])  # consecutive rows: a view, not a copy
            rows_d = dist[first:last + 1] if last - first + 1 == len(r) else dist[r]
            result[r] = sorted_positions(rows_d, cols[r], wanted[r], num_cells).long()
        if bool(dense.all()):
            return result
        # words wholly inside a dense row, [ceil(r G / 8), floor((r + 1) G / 8)), are not expanded
        for first, end in zip(((rows * num_cols + 7) // 8).tolist(),
                              ((rows + 1) * num_cols // 8).tolist()):
            marked[first:end] = False
    words = marked.nonzero().squeeze(1)

    # 3. the sparse rows' candidates, ascending flat index (row, column)
    word, byte = marks.view(-1, 8).index_select(0, words).nonzero(as_tuple=True)
    elems = words[word] * 8 + byte
    elem_row = elems // num_cols
    if any_dense:  # from words shared with a dense row
        elems, elem_row = elems[~dense[elem_row]], elem_row[~dense[elem_row]]
    elem_d = dist.view(-1)[elems]
    if bool(elem_d.isnan().any()):
        raise ValueError(f'distances contain NaN (rows of this block: {num_rows})')
    order = torch.argsort((elem_row << 32) + _order_key(elem_d), stable=True)
    position = torch.empty_like(order)
    position[order] = torch.arange(order.numel())
    count = torch.bincount(elem_row, minlength=num_rows)
    within = position - (count.cumsum(0) - count)[elem_row]
    sparse = wanted & ~dense[:, None]
    probe_elem = (torch.arange(num_rows)[:, None] * num_cols + cols)[sparse]
    result[sparse] = within[torch.searchsorted(elems, probe_elem)]
    return result
