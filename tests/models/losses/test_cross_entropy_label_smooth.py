"""CrossEntropyLabelSmooth against the definition -sum_c q_c log p_c, q = (1-eps) onehot + eps/C."""
import math

import pytest
import torch
import torch.nn.functional as F

from reidengine.models.losses import CrossEntropyLabelSmooth


def _direct(logits, labels, eps):
    num_classes = len(logits[0])
    total = 0.0
    for row, y in zip(logits, labels):
        log_z = math.log(sum(math.exp(v) for v in row))
        for c, v in enumerate(row):
            q = (1 - eps) * (c == y) + eps / num_classes
            total -= q * (v - log_z)
    return total / len(logits)


def test_matches_definition():
    torch.manual_seed(0)
    logits = torch.randn(4, 5, dtype=torch.float64)
    labels = torch.tensor([0, 3, 4, 3])
    loss = CrossEntropyLabelSmooth(epsilon=0.1)(logits, labels)
    assert loss.item() == pytest.approx(_direct(logits.tolist(), labels.tolist(), 0.1), rel=1e-10)


def test_hand_computed_uniform_logits():
    # Equal logits: p_c = 1/C whatever the target, so the loss is log C.
    loss = CrossEntropyLabelSmooth(epsilon=0.3)(torch.zeros(2, 4), torch.tensor([1, 2]))
    assert loss.item() == pytest.approx(math.log(4), rel=1e-6)


def test_zero_epsilon_is_cross_entropy_and_weight_scales():
    torch.manual_seed(1)
    logits, labels = torch.randn(6, 3), torch.tensor([0, 1, 2, 2, 1, 0])
    expected = F.cross_entropy(logits, labels)
    assert torch.allclose(CrossEntropyLabelSmooth(epsilon=0.0)(logits, labels), expected)
    assert torch.allclose(CrossEntropyLabelSmooth(epsilon=0.0, loss_weight=2.5)(logits, labels),
                          2.5 * expected)


def test_soft_targets_used_as_given():
    torch.manual_seed(2)
    logits = torch.randn(3, 4, dtype=torch.float64)
    target = torch.tensor([[0.5, 0.5, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0], [0.25] * 4],
                          dtype=torch.float64)
    expected = 0.0
    for row, t in zip(logits.tolist(), target.tolist()):
        log_z = math.log(sum(math.exp(v) for v in row))
        expected -= sum(tc * (v - log_z) for tc, v in zip(t, row))
    loss = CrossEntropyLabelSmooth(epsilon=0.1)(logits, target)
    assert loss.item() == pytest.approx(expected / 3, rel=1e-10)


def test_bad_inputs_raise():
    loss = CrossEntropyLabelSmooth()
    with pytest.raises(ValueError, match=r'\[0, 3\)'):
        loss(torch.zeros(2, 3), torch.tensor([0, 3]))
    with pytest.raises(ValueError, match='target'):
        loss(torch.zeros(2, 3), torch.zeros(2, 4))
    with pytest.raises(ValueError, match='epsilon'):
        CrossEntropyLabelSmooth(epsilon=1.0)
