"""Part-guided self-distillation (PAT eq. 7-8) against direct counts and cross entropies."""
import math
from collections import Counter

import pytest
import torch

from plugins.pat.losses.psd import PartGuidedSelfDistillation, psd_soft_labels


def test_soft_labels_are_eq7_counts():
    labels = torch.tensor([0, 2])
    neighbours = torch.tensor([[1, 1, 3, 0, 2, 1],    # P * k = 6
                               [4, 4, 4, 4, 4, 4]])
    soft = psd_soft_labels(labels, neighbours, num_classes=5, alpha=0.4)
    for b in range(2):
        counts = Counter(neighbours[b].tolist())
        for c in range(5):
            expected = (1 - 0.4) * (c == int(labels[b])) + 0.4 * counts[c] / 6
            assert soft[b, c].item() == pytest.approx(expected)
    assert torch.allclose(soft.sum(1), torch.ones(2))


def test_psd_loss_is_eq8():
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(3, 6, generator=gen)
    labels = torch.tensor([0, 5, 2])
    neighbours = torch.tensor([[1, 1, 2], [5, 5, 5], [0, 3, 4]])
    alpha, lam, eps = 0.5, 0.3, 0.1
    loss = PartGuidedSelfDistillation(alpha=alpha, lam=lam, epsilon=eps)(logits, labels, neighbours)
    total = 0.0
    for b in range(3):
        logp = [logits[b, c].item() - math.log(sum(math.exp(v) for v in logits[b].tolist()))
                for c in range(6)]
        counts = Counter(neighbours[b].tolist())
        soft = [(1 - alpha) * (c == int(labels[b])) + alpha * counts[c] / 3 for c in range(6)]
        smooth = [(1 - eps) * (c == int(labels[b])) + eps / 6 for c in range(6)]
        total += -lam * sum(s * l for s, l in zip(soft, logp))
        total += -(1 - lam) * sum(s * l for s, l in zip(smooth, logp))
    assert loss.item() == pytest.approx(total / 3, rel=1e-5)


def test_out_of_range_ids_raise():
    with pytest.raises(ValueError, match='neighbour pids must lie in'):
        psd_soft_labels(torch.tensor([0]), torch.tensor([[-1, 0]]), num_classes=3, alpha=0.5)
    with pytest.raises(ValueError, match='lam'):
        PartGuidedSelfDistillation(lam=1.5)
