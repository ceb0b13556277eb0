import pytest
import torch

from reidengine.evaluation.functional import average_query_expansion


def direct_aqe(q, g, k, alpha):
    feats = torch.cat([q, g]).double()
    unit = feats / feats.norm(dim=1, keepdim=True)
    out = []
    for i in range(len(feats)):
        sims = [(float(unit[i] @ unit[j]), j) for j in range(len(feats))]
        top = sorted(sims, reverse=True)[:k]
        out.append(sum(feats[j] * s ** alpha for s, j in top) / k)
    out = torch.stack(out)
    return out[:len(q)], out[len(q):]


@pytest.mark.parametrize('k,alpha,chunk', [(5, 3.0, 4), (1, 1.0, 100), (3, 0.0, 7)])
def test_equals_direct_weighted_mean(k, alpha, chunk):
    g = torch.Generator().manual_seed(k)
    q, gal = torch.randn(6, 5, generator=g), torch.randn(17, 5, generator=g)
    out_q, out_g = average_query_expansion(q, gal, k=k, alpha=alpha, chunk_size=chunk)
    exp_q, exp_g = direct_aqe(q, gal, k, alpha)
    assert torch.allclose(out_q.double(), exp_q, atol=1e-5)
    assert torch.allclose(out_g.double(), exp_g, atol=1e-5)
    if k == 1:  # only itself (cos = 1): unchanged
        assert torch.allclose(out_q, q, atol=1e-6)


def test_bad_k():
    with pytest.raises(ValueError, match='aqe k'):
        average_query_expansion(torch.randn(2, 3), torch.randn(3, 3), k=6)
