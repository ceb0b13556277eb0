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
dot products). Rounding: each patch goes to the part of its group with the largest transport value
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


def _group_logsumexp(logits: torch.Tensor, member: torch.Tensor) -> torch.Tensor:
    """(..., P, N) -> (..., P, N): logsumexp over the parts of each part's group, per patch.

    Shifted by each group's own maximum (no underflow of a whole group), summed per group by a (G, P)
    0/1 matrix product.
    """
    groups = _group_of_part(member)
    group_max = torch.where(member[..., None], logits.unsqueeze(-3), float('-inf')).amax(dim=-2)  # (..., G, N)
    shifted = (logits - group_max.index_select(-2, groups)).exp()
    sums = torch.matmul(member.to(logits.dtype), shifted)  # (..., G, N)
    return (sums.log() + group_max).index_select(-2, groups)


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
    if eps <= 0:
        raise ValueError(f'sinkhorn eps must be > 0, got {eps}')
    if iterations < 0:
        raise ValueError(f'sinkhorn iterations must be >= 0, got {iterations}')
    member = member.to(scores.device)
    # log P_g of each part's group, (P, 1)
    log_part_share = (member.to(scores.dtype).sum(1) @ member.to(scores.dtype)).log()[:, None]
    log_patch_share = math.log(scores.shape[-1])
    logits = scores / eps
    for _ in range(iterations):
        logits = logits - logits.logsumexp(dim=-1, keepdim=True) - log_part_share  # rows: 1/P_g
        logits = logits - _group_logsumexp(logits, member) - log_patch_share  # columns: 1/N
    return logits


def round_assignment(logits: torch.Tensor, member: torch.Tensor) -> torch.Tensor:
    """(..., P, N) -> (..., P, N) bool hard assignment: each patch to the part of largest value in
    each group (one winner per group, so every group's parts partition the patches)."""
    member = member.to(logits.device)
    # max(...).indices: argmax over a non-last dim is ~30x slower on CPU
    winner = torch.where(member[..., None], logits.unsqueeze(-3), float('-inf')).max(dim=-2).indices  # (..., G, N)
    parts = torch.arange(member.shape[1], device=logits.device)[:, None]
    return winner.index_select(-2, _group_of_part(member)) == parts


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
