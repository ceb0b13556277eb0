"""TripletLoss against explicit loops over anchors / triplets on small batches."""
import math

import pytest
import torch

from reidengine.models.losses import TripletLoss


def _dist(a, b, squared=False):
    d2 = sum((x - y) ** 2 for x, y in zip(a, b))
    return d2 if squared else math.sqrt(d2)


def _per_triplet(gap, margin):
    return math.log(1 + math.exp(gap)) if margin is None else max(0.0, gap + margin)


def _batch_hard(feats, labels, margin, squared=False):
    total = 0.0
    for a in range(len(feats)):
        pos = [_dist(feats[a], feats[p], squared) for p in range(len(feats))
               if labels[p] == labels[a] and p != a] or [0.0]
        neg = [_dist(feats[a], feats[n], squared) for n in range(len(feats))
               if labels[n] != labels[a]]
        total += _per_triplet(max(pos) - min(neg), margin)
    return total / len(feats)


def _batch_all(feats, labels, margin):
    losses = []
    for a in range(len(feats)):
        for p in range(len(feats)):
            for n in range(len(feats)):
                if p != a and labels[p] == labels[a] and labels[n] != labels[a]:
                    gap = _dist(feats[a], feats[p]) - _dist(feats[a], feats[n])
                    losses.append(_per_triplet(gap, margin))
    return sum(losses) / len(losses)


@pytest.fixture
def batch():
    torch.manual_seed(0)
    return torch.randn(6, 5, dtype=torch.float64), torch.tensor([0, 0, 1, 1, 2, 2])


@pytest.mark.parametrize('margin', [0.3, 5.0, None])
def test_batch_hard(batch, margin):
    feats, labels = batch
    loss = TripletLoss(margin=margin)(feats, labels)
    assert loss.item() == pytest.approx(_batch_hard(feats.tolist(), labels.tolist(), margin),
                                        rel=1e-6)


def test_squared_and_normalised(batch):
    feats, labels = batch
    loss = TripletLoss(margin=None, squared=True)(feats, labels)
    assert loss.item() == pytest.approx(
        _batch_hard(feats.tolist(), labels.tolist(), None, squared=True), rel=1e-6)
    unit = (feats / feats.norm(dim=1, keepdim=True)).tolist()
    loss = TripletLoss(margin=0.3, norm_feat=True)(feats, labels)
    assert loss.item() == pytest.approx(_batch_hard(unit, labels.tolist(), 0.3), rel=1e-6)


def test_unequal_ids_and_singleton(batch):
    feats, _ = batch
    labels = torch.tensor([0, 0, 0, 1, 2, 2])  # id 1 has no other positive: d(a, p) = 0
    loss = TripletLoss(margin=0.3)(feats, labels)
    assert loss.item() == pytest.approx(_batch_hard(feats.tolist(), labels.tolist(), 0.3),
                                        rel=1e-6)


@pytest.mark.parametrize('margin', [0.3, None])
def test_batch_all(batch, margin):
    feats, labels = batch
    loss = TripletLoss(margin=margin, hard_mining=False)(feats, labels)
    assert loss.item() == pytest.approx(_batch_all(feats.tolist(), labels.tolist(), margin),
                                        rel=1e-6)


def test_hand_computed_1d():
    # 1-D points: ids 0 at {0, 1}, id 1 at {3, 7}. Hardest pos/neg per anchor:
    # 0: ap 1, an 3; 1: ap 1, an 2; 3: ap 4, an 2; 7: ap 4, an 6.
    feats = torch.tensor([[0.0], [1.0], [3.0], [7.0]])
    labels = torch.tensor([0, 0, 1, 1])
    expected = (0.0 + 0.0 + (4 - 2 + 0.5) + 0.0) / 4
    assert TripletLoss(margin=0.5)(feats, labels).item() == pytest.approx(expected)


def test_weight_and_finite_gradient_on_duplicates():
    feats = torch.tensor([[1.0, 2.0], [1.0, 2.0], [0.0, 0.0], [0.5, 0.0]], requires_grad=True)
    labels = torch.tensor([0, 0, 1, 1])
    base = TripletLoss(margin=0.3)(feats, labels)
    weighted = TripletLoss(margin=0.3, loss_weight=0.5)(feats, labels)
    assert weighted.item() == pytest.approx(0.5 * base.item())
    weighted.backward()
    assert torch.isfinite(feats.grad).all()


def test_bad_shapes_raise():
    with pytest.raises(ValueError, match=r'\(B, D\)'):
        TripletLoss()(torch.zeros(4, 2, 2), torch.zeros(4, dtype=torch.long))
    with pytest.raises(ValueError, match='labels'):
        TripletLoss()(torch.zeros(4, 2), torch.zeros(3, dtype=torch.long))
