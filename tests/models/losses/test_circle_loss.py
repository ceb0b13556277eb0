"""PairwiseCircleLoss against the paper's per-anchor formula written with explicit loops."""
import math

import pytest
import torch

from reidengine.models.losses import PairwiseCircleLoss


def _cos(a, b):
    dot = sum(x * y for x, y in zip(a, b))
    return dot / math.sqrt(sum(x * x for x in a) * sum(y * y for y in b))


def _direct(feats, labels, m, gamma):
    total = 0.0
    for a in range(len(feats)):
        sum_n, sum_p = 0.0, 0.0
        for j in range(len(feats)):
            s = _cos(feats[a], feats[j])
            if labels[j] != labels[a]:
                sum_n += math.exp(gamma * max(s + m, 0) * (s - m))
            elif j != a:
                sum_p += math.exp(-gamma * max(1 + m - s, 0) * (s - (1 - m)))
        total += math.log(1 + sum_n * sum_p)
    return total / len(feats)


@pytest.mark.parametrize('margin,gamma', [(0.25, 1.0), (0.25, 16.0), (0.4, 32.0)])
def test_matches_formula(margin, gamma):
    torch.manual_seed(0)
    feats = torch.randn(6, 4, dtype=torch.float64)
    labels = torch.tensor([0, 0, 1, 1, 2, 2])
    loss = PairwiseCircleLoss(margin=margin, gamma=gamma)(feats, labels)
    assert loss.item() == pytest.approx(_direct(feats.tolist(), labels.tolist(), margin, gamma),
                                        rel=1e-8)


def test_anchor_without_positive_contributes_zero_and_grad_finite():
    torch.manual_seed(1)
    feats = torch.randn(5, 3, dtype=torch.float64, requires_grad=True)
    labels = torch.tensor([0, 0, 1, 1, 2])  # id 2 alone
    loss = PairwiseCircleLoss(margin=0.25, gamma=8.0, loss_weight=2.0)(feats, labels)
    assert loss.item() == pytest.approx(
        2.0 * _direct(feats.tolist(), labels.tolist(), 0.25, 8.0), rel=1e-8)
    loss.backward()
    assert torch.isfinite(feats.grad).all()
    assert feats.grad.abs().sum() > 0
