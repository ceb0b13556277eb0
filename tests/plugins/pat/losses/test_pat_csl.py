"""Cross-ID Similarity Learning loss (PAT eq. 6) against a direct per-sample, per-part formula."""
import math

import pytest
import torch

from plugins.pat.losses.csl import CrossIDSimilarityLoss


def direct_csl(feats, bank, own, k, form, s):
    """Explicit loops: for every sample and part, sim to every other entry, k best, -log ratio."""
    batch, parts, _ = feats.shape
    total, neighbours = 0.0, torch.zeros(batch, parts, k, dtype=torch.long)
    for b in range(batch):
        for p in range(parts):
            sims = {}
            for n in range(bank.shape[1]):
                if n == int(own[b]):
                    continue
                f, w = feats[b, p].double(), bank[p, n].double()
                if form == 'distance':
                    sims[n] = -s * float(((f - w) ** 2).sum())
                else:
                    sims[n] = float((f * w).sum()) / s
            ranked = sorted(sims, key=lambda n: -sims[n])[:k]
            neighbours[b, p] = torch.tensor(ranked)
            top = sum(math.exp(sims[n]) for n in ranked)
            every = sum(math.exp(v) for v in sims.values())
            total += -math.log(top / every)
    return total / (batch * parts), neighbours


@pytest.mark.parametrize('form,s', [('distance', 0.02), ('distance', 0.5), ('dot', 0.9)])
def test_matches_direct_formula(form, s):
    gen = torch.Generator().manual_seed(0)
    feats = torch.randn(4, 3, 5, generator=gen)
    bank = torch.randn(3, 12, 5, generator=gen)
    own = torch.tensor([3, 0, 11, 7])
    loss_fn = CrossIDSimilarityLoss(k=4, form=form, scale=s, temperature=s)
    loss, neighbours = loss_fn(feats, bank, own)
    expected, expected_nb = direct_csl(feats, bank, own, 4, form, s)
    assert loss.item() == pytest.approx(expected, rel=1e-5)
    assert torch.equal(neighbours, expected_nb)


def test_own_entry_is_excluded_even_when_nearest():
    gen = torch.Generator().manual_seed(1)
    bank = torch.randn(2, 6, 4, generator=gen)
    feats = bank[:, [2, 5]].transpose(0, 1).clone()  # each sample equals its own entry
    loss_fn = CrossIDSimilarityLoss(k=2, scale=0.3)
    loss, neighbours = loss_fn(feats, bank, torch.tensor([2, 5]))
    assert not (neighbours[0] == 2).any() and not (neighbours[1] == 5).any()
    expected, _ = direct_csl(feats, bank, torch.tensor([2, 5]), 2, 'distance', 0.3)
    assert loss.item() == pytest.approx(expected, rel=1e-5)


def test_loss_weight_and_saturated_distances():
    feats = 100 * torch.randn(2, 3, 8)
    bank = 100 * torch.randn(3, 20, 8)
    loss, _ = CrossIDSimilarityLoss(k=3, loss_weight=2.0)(feats, bank, torch.tensor([0, 1]))
    unweighted, _ = CrossIDSimilarityLoss(k=3)(feats, bank, torch.tensor([0, 1]))
    # exp(-s d) underflows for every entry here: the log-sum-exp form stays finite
    assert torch.isfinite(loss) and loss.item() == pytest.approx(2 * unweighted.item())


def test_gradient_reaches_features_only():
    gen = torch.Generator().manual_seed(2)
    feats = torch.randn(3, 2, 4, generator=gen, dtype=torch.double, requires_grad=True)
    bank = torch.randn(2, 9, 4, generator=gen, dtype=torch.double, requires_grad=True)
    loss_fn = CrossIDSimilarityLoss(k=3, scale=0.7)
    assert torch.autograd.gradcheck(lambda f: loss_fn(f, bank, torch.tensor([0, 4, 8]))[0],
                                    (feats,))
    loss_fn(feats, bank, torch.tensor([0, 4, 8]))[0].backward()
    assert bank.grad is None


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match='form'):
        CrossIDSimilarityLoss(form='cosine')
    with pytest.raises(ValueError, match='only 4 filled entries'):
        CrossIDSimilarityLoss(k=4)(torch.zeros(1, 1, 2), torch.zeros(1, 4, 2), torch.tensor([0]))
    with pytest.raises(ValueError, match='do not match'):
        CrossIDSimilarityLoss(k=1)(torch.zeros(1, 2, 2), torch.zeros(1, 4, 2), torch.tensor([0]))
