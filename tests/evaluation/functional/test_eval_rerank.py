import pytest
import torch

from reidengine.evaluation.functional import KReciprocalReranker, prepare_features


def dense_rerank(q, g, metric, k1, k2, lambda_value):
    """Zhong et al. (CVPR 2017) written plainly on the dense (N x N) matrices, in float64."""
    x = torch.cat([q, g]).double()
    num_q, num = len(q), len(q) + len(g)
    if metric == 'euclidean':
        dist = ((x[:, None, :] - x[None, :, :]) ** 2).sum(-1)
    else:
        dist = 1 - x @ x.t()
    original = dist ** 2
    original = (original / original.max(0).values).t()
    initial_rank = torch.argsort(original, dim=1)

    def reciprocal(i, k):
        return [int(j) for j in initial_rank[i, :k + 1] if i in initial_rank[j, :k + 1].tolist()]

    V = torch.zeros(num, num, dtype=torch.float64)
    for i in range(num):
        recip = reciprocal(i, k1)
        expansion = set(recip)
        for cand in recip:
            half = reciprocal(cand, round(k1 / 2))
            if len(set(half) & set(recip)) > 2 / 3 * len(half):
                expansion |= set(half)
        idx = sorted(expansion)
        weight = torch.exp(-original[i, idx])
        V[i, idx] = weight / weight.sum()
    if k2 != 1:
        V = torch.stack([V[initial_rank[i, :k2]].mean(0) for i in range(num)])
    overlap_min = torch.minimum(V[:num_q, None, :], V[None, :, :]).sum(-1)
    overlap_max = torch.maximum(V[:num_q, None, :], V[None, :, :]).sum(-1)
    jaccard = 1 - overlap_min / overlap_max
    final = jaccard * (1 - lambda_value) + original[:num_q] * lambda_value
    return final[:, num_q:]


def clustered_features(seed, num_q, num_g, dim=16, num_ids=8):
    g = torch.Generator().manual_seed(seed)
    centres = torch.randn(num_ids, dim, generator=g)
    ids = torch.randint(0, num_ids, (num_q + num_g,), generator=g)
    feats = centres[ids] + 0.7 * torch.randn(num_q + num_g, dim, generator=g)
    return feats[:num_q], feats[num_q:]


@pytest.mark.parametrize('metric,k1,k2,lam', [('euclidean', 20, 6, 0.3), ('euclidean', 7, 3, 0.5),
                                              ('cosine', 10, 1, 0.3), ('cosine', 5, 6, 0.0)])
def test_equals_dense_original_algorithm(metric, k1, k2, lam):
    q, g = clustered_features(k1 + k2, 13, 61)
    q, g = prepare_features(q, metric), prepare_features(g, metric)
    expected = dense_rerank(q, g, metric, k1, k2, lam)
    for chunk, tile in ((1, 1024), (5, 16), (64, 7)):  # small tiles: off-diagonal tile merges
        rr = KReciprocalReranker(q, g, metric, k1=k1, k2=k2, lambda_value=lam, chunk_size=chunk,
                                 tile=tile, num_workers=2)
        out = torch.cat([block for _, block in rr.blocks()])
        assert out.shape == expected.shape
        error = (out.double() - expected).abs().max()
        assert error < 1e-5, error


def test_jaccard_overlap_in_small_parts_equals_one_part():
    q, g = clustered_features(5, 9, 40)
    rr = KReciprocalReranker(q, g, 'euclidean', k1=6, k2=2)
    assert torch.equal(rr.jaccard_overlap(0, 9, max_pairs=3), rr.jaccard_overlap(0, 9))


def test_bad_parameters():
    q, g = clustered_features(0, 3, 10)
    with pytest.raises(ValueError, match='k2 <= k1 \\+ 1'):
        KReciprocalReranker(q, g, k1=3, k2=5)
    with pytest.raises(ValueError, match='needs more than 20 samples'):
        KReciprocalReranker(q, g, k1=20, k2=6)
    with pytest.raises(ValueError, match='lambda_value'):
        KReciprocalReranker(q, g, k1=3, k2=2, lambda_value=1.5)


def test_expansion_in_row_parts_equals_one_part():
    q, g = clustered_features(7, 9, 40)
    rr = KReciprocalReranker(q, g, 'euclidean', k1=6, k2=3)
    weights = rr._encode()
    whole, parts = rr._expand(weights), rr._expand(weights, rows_per_part=5)
    for name in ('ptr', 'cols', 'vals'):
        assert torch.equal(getattr(whole, name), getattr(parts, name))


def test_cosine_normalises_unnormalised_features():
    q, g = clustered_features(3, 9, 40)
    unit = KReciprocalReranker(torch.nn.functional.normalize(q, dim=1),
                               torch.nn.functional.normalize(g, dim=1), 'cosine', k1=6, k2=2)
    scaled = KReciprocalReranker(3.0 * q, 0.5 * g, 'cosine', k1=6, k2=2)
    assert torch.allclose(scaled.block(0, 9), unit.block(0, 9), atol=1e-6)
    as_numpy = KReciprocalReranker(q.numpy(), g.numpy(), 'cosine', k1=6, k2=2)
    assert torch.allclose(as_numpy.block(0, 9), unit.block(0, 9), atol=1e-6)
