"""Sinkhorn-Knopp (eq. 3-5), rounding, nearest neighbour and stripes of AAformer against direct
re-statements in float64."""
import math

import pytest
import torch

from plugins.aaformer.models.assignment import (group_membership, round_assignment, sinkhorn_log,
                                                stripe_assignment, transport_assignment)

GRANULARITIES = [2, 3]


def sinkhorn_reference(scores, granularities, eps, iterations):
    """Plain-domain Sinkhorn-Knopp in float64, one group at a time: Q = exp(S / eps); repeat
    {rows sum to 1/P_g; columns sum to 1/N}."""
    plans, start = [], 0
    num_patches = scores.shape[-1]
    for size in granularities:
        q = torch.exp(scores[..., start:start + size, :].double() / eps)
        for _ in range(iterations):
            q = q / q.sum(dim=-1, keepdim=True) / size
            q = q / q.sum(dim=-2, keepdim=True) / num_patches
        plans.append(q)
        start += size
    return torch.cat(plans, dim=-2)


def test_group_membership():
    assert group_membership([2, 3]).int().tolist() == [[1, 1, 0, 0, 0], [0, 0, 1, 1, 1]]
    assert group_membership([4]).int().tolist() == [[1, 1, 1, 1]]
    with pytest.raises(ValueError, match='granularities'):
        group_membership([2, 0])


@pytest.mark.parametrize('iterations', [1, 3, 5])
def test_sinkhorn_matches_float64_reference_at_the_configured_iterations(iterations):
    torch.manual_seed(0)
    scores = torch.rand(2, 3, 5, 40) * 2 - 1  # cosine-like scores: exp(S / 0.05) fits float64
    plan = sinkhorn_log(scores, group_membership(GRANULARITIES), eps=0.05, iterations=iterations).exp()
    ref = sinkhorn_reference(scores, GRANULARITIES, 0.05, iterations)
    torch.testing.assert_close(plan.double(), ref, rtol=1e-4, atol=1e-9)
    # a different number of iterations gives a different plan
    other = sinkhorn_reference(scores, GRANULARITIES, 0.05, iterations + 1)
    assert not torch.allclose(plan.double(), other, rtol=1e-3, atol=1e-6)


def test_sinkhorn_marginals():
    torch.manual_seed(1)
    scores = torch.rand(4, 5, 64) * 2 - 1
    groups = group_membership(GRANULARITIES)
    for iterations in (1, 3):  # columns (normalised last) are exact after any number
        plan = sinkhorn_log(scores, groups, 0.05, iterations).exp()
        for sl in (slice(0, 2), slice(2, 5)):
            torch.testing.assert_close(plan[:, sl].sum(-2), torch.full((4, 64), 1 / 64), rtol=1e-5, atol=0)
    plan = sinkhorn_log(scores, groups, 0.05, 100).exp()  # rows in the limit: 1/P_g
    torch.testing.assert_close(plan[:, :2].sum(-1), torch.full((4, 2), 1 / 2), rtol=1e-3, atol=0)
    torch.testing.assert_close(plan[:, 2:].sum(-1), torch.full((4, 3), 1 / 3), rtol=1e-3, atol=0)


def test_eps_and_iterations_take_effect():
    torch.manual_seed(2)
    scores = torch.rand(3, 5, 30) * 2 - 1
    groups = group_membership(GRANULARITIES)
    base = sinkhorn_log(scores, groups, 0.05, 3).exp()
    assert not torch.allclose(base, sinkhorn_log(scores, groups, 0.5, 3).exp(), atol=1e-4)
    assert not torch.allclose(base, sinkhorn_log(scores, groups, 0.05, 1).exp(), atol=1e-4)
    torch.testing.assert_close(sinkhorn_log(scores, groups, 0.05, 0), scores / 0.05)
    # with eps the rounded assignment changes too (softer plan -> closer to balanced)
    hard_sharp = round_assignment(sinkhorn_log(scores, groups, 0.01, 3), groups)
    hard_soft = round_assignment(sinkhorn_log(scores, groups, 5.0, 3), groups)
    assert not torch.equal(hard_sharp, hard_soft)


def test_rounding_is_a_partition_per_group_and_takes_the_largest_value():
    torch.manual_seed(3)
    groups = group_membership(GRANULARITIES)
    logits = sinkhorn_log(torch.randn(2, 4, 5, 50), groups, 0.05, 3)
    hard = round_assignment(logits, groups)
    assert hard.dtype == torch.bool
    assert torch.equal(hard[..., :2, :].sum(-2), torch.ones(2, 4, 50, dtype=torch.long))
    assert torch.equal(hard[..., 2:, :].sum(-2), torch.ones(2, 4, 50, dtype=torch.long))
    # direct statement: each patch to the argmax of its group
    expected = torch.cat([torch.nn.functional.one_hot(logits[..., :2, :].argmax(-2), 2),
                          torch.nn.functional.one_hot(logits[..., 2:, :].argmax(-2), 3)], -1)
    assert torch.equal(hard, expected.transpose(-1, -2).bool())


def test_optimal_transport_is_more_balanced_than_nearest_neighbour():
    torch.manual_seed(4)
    groups = group_membership(GRANULARITIES)
    scores = torch.rand(8, 5, 128) * 0.6 - 0.3
    scores[:, [0, 2]] += 0.3  # one part of each group is closer to every patch
    nn_sizes = round_assignment(scores, groups).sum(-1).float()
    ot_sizes = round_assignment(sinkhorn_log(scores, groups, 0.05, 3), groups).sum(-1).float()
    ideal = torch.tensor([64, 64, 128 / 3, 128 / 3, 128 / 3])
    nn_dev = (nn_sizes - ideal).abs().mean()
    ot_dev = (ot_sizes - ideal).abs().mean()
    assert ot_dev < 0.25 * nn_dev, (ot_dev, nn_dev)
    assert (nn_sizes[:, 0] > 100).all()  # nearest neighbour gives most patches to part 0


def test_float32_stays_finite_for_large_scores():
    groups = group_membership(GRANULARITIES)
    torch.manual_seed(5)
    scores = torch.randn(2, 5, 64) * 1e4  # raw dot products: S / eps ~ 2e5, exp overflows at 89
    assert torch.isinf(torch.exp(scores / 0.05)).any()
    logits = sinkhorn_log(scores, groups, 0.05, 3)
    assert torch.isfinite(logits).all()
    plan = logits.exp()
    torch.testing.assert_close(plan[:, :2].sum(-2), torch.full((2, 64), 1 / 64), rtol=1e-5, atol=0)
    hard = round_assignment(logits, groups)
    assert torch.equal(hard[:, 2:].sum(-2), torch.ones(2, 64, dtype=torch.long))


def test_stripes():
    mask = stripe_assignment([2, 3], (16, 8)).view(5, 16, 8)
    rows = [mask[p, :, 0].nonzero().flatten().tolist() for p in range(5)]
    assert rows == [list(range(0, 8)), list(range(8, 16)), list(range(0, 6)), list(range(6, 11)),
                    list(range(11, 16))]
    assert mask.all(dim=2).eq(mask[:, :, 0]).all()  # whole rows
    with pytest.raises(ValueError, match='rows'):
        stripe_assignment([6], (4, 2))


def test_sinkhorn_rejects_bad_arguments():
    with pytest.raises(ValueError, match='eps'):
        sinkhorn_log(torch.zeros(5, 4), group_membership(GRANULARITIES), 0.0, 3)
    with pytest.raises(ValueError, match='iterations'):
        sinkhorn_log(torch.zeros(5, 4), group_membership(GRANULARITIES), 0.05, -1)
    assert math.isfinite(float(sinkhorn_log(torch.zeros(5, 4), group_membership([5]), 0.05, 3).exp().sum()))


@pytest.mark.parametrize('granularities', [[2, 3], [3, 1, 2], [4]])
def test_transport_assignment_is_the_rounded_plan(granularities):
    """The layer's shortcut (no column step in the last iteration: it shifts all parts of a patch
    alike) gives the rounding of the full plan, for groups of other sizes and raw dot scores too."""
    groups = group_membership(granularities)
    gen = torch.Generator().manual_seed(3)
    for scale in (1.0, 30.0):  # cosine-like scores, raw dot products (S / eps ~ 1e3)
        scores = scale * torch.randn(3, 4, sum(granularities), 40, generator=gen)
        for iterations in (0, 1, 3):
            full = round_assignment(sinkhorn_log(scores, groups, 0.05, iterations), groups)
            assert torch.equal(transport_assignment(scores, groups, 0.05, iterations), full)
