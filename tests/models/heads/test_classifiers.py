"""Classifier logits against their formulas, computed element by element."""
import math

import pytest
import torch

from reidengine.models.heads import ArcFace, CircleSoftmax, CosineClassifier, LinearClassifier


def _cosines(feats, weight):
    out = []
    for f in feats.tolist():
        row = []
        for w in weight.tolist():
            dot = sum(a * b for a, b in zip(f, w))
            row.append(dot / math.sqrt(sum(a * a for a in f) * sum(b * b for b in w)))
        out.append(row)
    return out


@pytest.fixture
def feats():
    torch.manual_seed(0)
    return torch.randn(4, 6, dtype=torch.float64)


def test_linear_is_bias_free_matmul(feats):
    clf = LinearClassifier(6, 3).double()
    assert [n for n, _ in clf.named_parameters()] == ['weight']
    assert torch.allclose(clf(feats), feats @ clf.weight.t())
    assert clf.weight.std().item() == pytest.approx(0.001, rel=0.5)


def test_cosine_is_scaled_cosine(feats):
    clf = CosineClassifier(6, 3, scale=16.0).double()
    expected = 16.0 * torch.tensor(_cosines(feats, clf.weight.detach()), dtype=torch.float64)
    assert torch.allclose(clf(feats), expected)


def test_circle_softmax_margins_on_target_only(feats):
    s, m = 64.0, 0.35
    clf = CircleSoftmax(6, 3, scale=s, margin=m).double()
    labels = torch.tensor([0, 2, 1, 2])
    cos = _cosines(feats, clf.weight.detach())
    expected = [[s * max(1 + m - c, 0) * (c - (1 - m)) if j == y else s * max(c + m, 0) * (c - m)
                 for j, c in enumerate(row)] for row, y in zip(cos, labels.tolist())]
    assert torch.allclose(clf(feats, labels), torch.tensor(expected, dtype=torch.float64))
    assert torch.allclose(clf(feats), s * torch.tensor(cos, dtype=torch.float64))


def test_arcface_margin_on_target_only(feats):
    s, m = 30.0, 0.5
    clf = ArcFace(6, 3, scale=s, margin=m).double()
    labels = torch.tensor([1, 1, 0, 2])
    cos = _cosines(feats, clf.weight.detach())
    expected = []
    for row, y in zip(cos, labels.tolist()):
        expected.append([s * (math.cos(math.acos(c) + m) if math.acos(c) + m <= math.pi
                              else c - m * math.sin(m)) if j == y else s * c
                         for j, c in enumerate(row)])
    assert torch.allclose(clf(feats, labels), torch.tensor(expected, dtype=torch.float64))
    assert torch.allclose(clf(feats), s * torch.tensor(cos, dtype=torch.float64))


def test_arcface_past_pi_uses_decreasing_fallback():
    s, m = 1.0, 0.5
    clf = ArcFace(2, 2, scale=s, margin=m).double()
    with torch.no_grad():
        clf.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0]]))
    theta = math.pi - 0.2  # theta + m > pi
    feats = torch.tensor([[math.cos(theta), math.sin(theta)]], dtype=torch.float64)
    out = clf(feats, torch.tensor([0]))
    assert out[0, 0].item() == pytest.approx(math.cos(theta) - m * math.sin(m))
    assert out[0, 1].item() == pytest.approx(math.sin(theta))


def test_gradients_finite_at_aligned_feature():
    clf = ArcFace(2, 2, scale=8.0, margin=0.3)
    feats = clf.weight.detach()[:1].clone().requires_grad_(True)  # cos = 1 with class 0
    clf(feats, torch.tensor([0])).sum().backward()
    assert torch.isfinite(feats.grad).all() and torch.isfinite(clf.weight.grad).all()


@pytest.mark.parametrize('cls', [LinearClassifier, CosineClassifier, CircleSoftmax, ArcFace])
def test_bad_inputs_raise(cls):
    clf = cls(6, 3)
    with pytest.raises(ValueError, match=r'\(B, 6\)'):
        clf(torch.zeros(2, 5))
    with pytest.raises(ValueError, match=r'\[0, 3\)'):
        clf(torch.zeros(2, 6), torch.tensor([0, 3]))
