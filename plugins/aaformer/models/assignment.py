"""Patch-to-part assignment of AAformer (Zhu et al., "AAformer: Auto-Aligned Transformer for Person
Re-Identification", IEEE TNNLS 2023, Sec. III-B, eq. 3-5; Table IV stripes; Table V nearest neighbour).

Parts are split into groups by granularity (``{2, 3}``: parts 0-1 form group 0, parts 2-4 group 1);
each group partitions all N patches on its own. For one image, head and group with P_g parts and
scores S (P_g, N) (part queries . patch keys), eq. 3-4 ask for

    Y* = argmax_{Y in U} Tr(Y^T S) + eps H(Y),   U = {Y >= 0 : Y 1_N = 1/P_g 1,  Y^T 1_{P_g} = 1/N 1}

whose solution is Y* = Diag(u) exp(S / eps) Diag(v) (eq. 5), found by Sinkhorn-Knopp: alternately
rescale the rows to sum 1/P_g and the columns to sum 1/N. One iteration = one row step then one
column step (the column marginal is exact after any number of iterations, the row marginal in the
limit). It runs in the log domain,

    L <- S / eps;   L <- L - logsumexp_n(L) - log P_g;   L <- L - logsumexp_{p in g}(L) - log N,

so exp(S / eps) is never formed and no score overflows fp32 (S / eps reaches 1e3 and more for raw
dot products). The groups are laid out as the rows of a (G, max P_g) grid padded with -inf, so that
both steps are plain reductions along one dimension for all images, heads and groups at once. Rounding: each patch goes to the part of its group with the largest transport value
(a partition of the patches per group). Nearest neighbour (Table V): the same rounding on S itself
(no transport constraint). Stripes (Table IV, PCB / MGN partitions on [PART]s): group g cuts the
grid rows into g equal horizontal bands.
"""
import math
from typing import Sequence, Tuple

import torch


def check_granularities(granularities: Sequence[int], owner: str = 'granularities') -> Tuple[int, ...]:
    """The granularities as a tuple of positive ints (clear error otherwise)."""
    try:
        values = tuple(int(g) for g in granularities)
    except TypeError as err:
        raise ValueError(f'{owner} must be a list of positive ints such as [2, 3], '
                         f'got {granularities!r}') from err
    if not values or any(g < 1 or g != raw for g, raw in zip(values, granularities)):
        raise ValueError(f'{owner} must be a non-empty list of positive ints such as [2, 3], '
                         f'got {granularities!r}')
    return values


def group_membership(granularities: Sequence[int]) -> torch.Tensor:
    """(G, P) bool: part p belongs to group g; ``[2, 3]`` -> parts 0-1 in group 0, parts 2-4 in group 1."""
    sizes = check_granularities(granularities)
    groups = torch.repeat_interleave(torch.arange(len(sizes)), torch.tensor(sizes))
    return torch.arange(len(sizes))[:, None] == groups[None, :]


def _group_of_part(member: torch.Tensor) -> torch.Tensor:
    """(G, P) bool -> (P,) long group of each part (a tensor op: no host synchronisation)."""
    return member.to(torch.uint8).argmax(dim=0)


def _padded_layout(member: torch.Tensor):
    """Groups as rows of a (G, S) grid, S = the largest group: ``slot`` (P,) the grid cell of each
    part (row = its group, column = its rank inside the group) and ``pad`` (G, S, 1) the empty cells.
    Every group is then reduced along one tensor dimension, batched, with no loop over groups."""
    groups, parts = member.shape
    width = int(member.sum(1).max())
    group = _group_of_part(member)
    rank = (member.long().cumsum(1) - 1).gather(0, group[None, :]).squeeze(0)
    slot = group * width + rank
    pad = torch.ones(groups * width, dtype=torch.bool, device=member.device)
    pad[slot] = False
    return slot, pad.view(groups, width, 1), width


def _to_padded(x: torch.Tensor, slot: torch.Tensor, groups: int, width: int,
               fill: float = float('-inf')) -> torch.Tensor:
    """(..., P, N) -> (..., G, S, N), empty cells ``fill``."""
    out = x.new_full(x.shape[:-2] + (groups * width, x.shape[-1]), fill)
    return out.index_copy_(-2, slot, x).unflatten(-2, (groups, width))


def _logsumexp(x: torch.Tensor, dim: int) -> torch.Tensor:
    """``torch.logsumexp(x, dim, keepdim=True)`` in 5 kernels instead of about 9 (these tensors are
    small: the kernel count is the cost); for finite ``x``."""
    top = x.amax(dim=dim, keepdim=True)
    return (x - top).exp_().sum(dim=dim, keepdim=True).log_().add_(top)


def _sinkhorn_padded(scores: torch.Tensor, member: torch.Tensor, eps: float, iterations: int,
                     last_columns: bool = True):
    """Eq. 5 in log domain on the padded (..., G, S, N) layout; returns it and ``slot``.

    ``last_columns=False`` leaves out the column step of the last iteration: it subtracts one value
    per patch from all parts of a group, which cannot change the rounding's winner.
    """
    if eps <= 0:
        raise ValueError(f'sinkhorn eps must be > 0, got {eps}')
    if iterations < 0:
        raise ValueError(f'sinkhorn iterations must be >= 0, got {iterations}')
    member = member.to(scores.device)
    slot, pad, width = _padded_layout(member)
    # log P_g per cell; an empty cell's row is shifted by -1e30 on every row step instead (finite:
    # no NaN, and exp(-1e30) = 0 in the column sums)
    log_part_share = member.sum(1).to(scores.dtype).log()[:, None, None].expand(pad.shape)
    log_part_share = log_part_share.masked_fill(pad, 1e30)
    log_patch_share = math.log(scores.shape[-1])
    logits = _to_padded(scores / eps, slot, member.shape[0], width, fill=-1e30)
    for i in range(iterations):
        # rows: 1/P_g
        logits = logits - _logsumexp(logits, -1).add_(log_part_share)
        if last_columns or i + 1 < iterations:
            # columns: 1/N, over the parts of each group
            logits = logits - _logsumexp(logits, -2).add_(log_patch_share)
    return logits, slot


def sinkhorn_log(scores: torch.Tensor, member: torch.Tensor, eps: float, iterations: int) -> torch.Tensor:
    """Log of the transport plan of eq. 5 after ``iterations`` Sinkhorn-Knopp iterations.

    Args:
        scores: (..., P, N) similarities of the P part queries with the N patch keys (float32 or 64).
        member: (G, P) bool group membership (:func:`group_membership`); each group is its own problem.
        eps: entropy weight (0.05 in the paper).
        iterations: Sinkhorn iterations (3 in the paper); 0 returns ``scores / eps``.

    Returns:
        (..., P, N) log Y; per group, columns sum to 1/N exactly (after >= 1 iteration) and rows
        to 1/P_g as the iterations grow.
    """
    logits, slot = _sinkhorn_padded(scores, member, eps, iterations)
    return logits.flatten(-3, -2).index_select(-2, slot)


def _round_padded(logits: torch.Tensor, slot: torch.Tensor) -> torch.Tensor:
    """(..., G, S, N) padded values -> (..., P, N) bool: each patch to its group's largest cell."""
    # max(...).indices: argmax over a non-last dim is ~30x slower on CPU
    winner = logits.max(dim=-2, keepdim=True).indices  # (..., G, 1, N)
    cells = torch.arange(logits.shape[-2], device=logits.device)[:, None]
    return (winner == cells).flatten(-3, -2).index_select(-2, slot)


def round_assignment(logits: torch.Tensor, member: torch.Tensor) -> torch.Tensor:
    """(..., P, N) -> (..., P, N) bool hard assignment: each patch to the part of largest value in
    each group (one winner per group, so every group's parts partition the patches)."""
    member = member.to(logits.device)
    slot, _, width = _padded_layout(member)
    return _round_padded(_to_padded(logits, slot, member.shape[0], width), slot)


def transport_assignment(scores: torch.Tensor, member: torch.Tensor, eps: float,
                         iterations: int) -> torch.Tensor:
    """``round_assignment(sinkhorn_log(...))`` without leaving the padded layout in between."""
    return _round_padded(*_sinkhorn_padded(scores, member, eps, iterations, last_columns=False))


def stripe_assignment(granularities: Sequence[int], grid_size: Tuple[int, int]) -> torch.Tensor:
    """(P, rows * cols) bool: part k of a group of g parts takes grid rows [k R / g, (k + 1) R / g)
    (floor), whole rows (PCB / MGN stripes as [PART] regions, Table IV)."""
    rows, cols = grid_size
    sizes = check_granularities(granularities)
    if max(sizes) > rows:
        raise ValueError(f'stripes: granularity {max(sizes)} exceeds the {rows} rows of the patch grid')
    row_of_patch = torch.arange(rows * cols) // cols
    masks = []
    for size in sizes:
        band = row_of_patch * size // rows  # stripe of each patch in this group
        masks.append(band[None, :] == torch.arange(size)[:, None])
    return torch.cat(masks, dim=0)
