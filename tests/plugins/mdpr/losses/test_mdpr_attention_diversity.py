"""Attention diversity loss (eq. 7) against a direct re-statement, paper and released forms."""
import pytest
import torch

from plugins.mdpr.losses import AttentionDiversityLoss


def direct(bap, maps, beta, twice, l1_on_maps):
    total = 0.0
    B, K, _ = bap.shape
    for b in range(B):
        s = 0.0
        for i in range(K):
            for j in range(K):
                if i != j and (twice or i < j):
                    s += float(bap[b, i] @ bap[b, j] / (bap[b, i].norm() * bap[b, j].norm()))
        l1 = float(maps[b].sum()) if l1_on_maps else float(sum(bap[b, i].abs().sum() for i in range(K)))
        total += s + beta * l1
    return total / B


@pytest.mark.parametrize('count_pairs', ['twice', 'once'])
@pytest.mark.parametrize('l1_on', ['bap_features', 'attention_maps'])
def test_matches_equation_7_and_the_released_form(count_pairs, l1_on):
    torch.manual_seed(0)
    bap, maps = torch.rand(4, 3, 6) + 0.1, torch.rand(4, 3, 5, 2)
    loss = AttentionDiversityLoss(beta=0.01, count_pairs=count_pairs, l1_on=l1_on)(bap, maps)
    expected = direct(bap, maps, 0.01, count_pairs == 'twice', l1_on == 'attention_maps')
    assert loss.item() == pytest.approx(expected, rel=1e-5)


def test_paper_form_counts_each_pair_twice():
    torch.manual_seed(0)
    bap, maps = torch.rand(2, 2, 4) + 0.1, torch.rand(2, 2, 3, 2)
    twice = AttentionDiversityLoss(beta=0.0, count_pairs='twice')(bap, maps)
    once = AttentionDiversityLoss(beta=0.0, count_pairs='once')(bap, maps)
    torch.testing.assert_close(twice, 2 * once)


def test_bad_switch_and_shapes():
    with pytest.raises(ValueError, match="l1_on='maps'"):
        AttentionDiversityLoss(l1_on='maps')
    with pytest.raises(ValueError, match='same B and K'):
        AttentionDiversityLoss()(torch.rand(2, 3, 4), torch.rand(2, 2, 3, 3))
