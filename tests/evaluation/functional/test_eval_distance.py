import pytest
import torch

from reidengine.evaluation.functional import (paired_distance, pairwise_distance,
                                              prepare_features)
from reidengine.evaluation.functional.distance import check_features


def test_squared_euclidean_and_cosine_against_direct_formulas():
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(5, 7, generator=g), torch.randn(9, 7, generator=g)
    direct = ((x[:, None, :] - y[None, :, :]) ** 2).sum(-1)
    assert torch.allclose(pairwise_distance(x, y, 'euclidean'), direct, atol=1e-5)
    xn, yn = prepare_features(x, 'cosine'), prepare_features(y, 'cosine')
    cos = torch.nn.functional.cosine_similarity(x[:, None, :], y[None, :, :], dim=2)
    assert torch.allclose(pairwise_distance(xn, yn, 'cosine'), 1 - cos, atol=1e-6)
    assert torch.allclose(prepare_features(x, 'euclidean', normalize=True).norm(dim=1),
                          torch.ones(5))
    assert torch.equal(prepare_features(x, 'euclidean'), x)
    for metric in ('euclidean', 'cosine'):
        full = pairwise_distance(xn, yn[:5], metric)
        assert torch.allclose(paired_distance(xn, yn[:5], metric), full.diagonal(), atol=1e-5)


def test_check_features_rejects_bad_input():
    with pytest.raises(ValueError, match='gallery must be a 2-D tensor'):
        check_features(torch.zeros(3), 'gallery')
    with pytest.raises(ValueError, match=r'query has NaN or infinite values \(rows \[1\]'):
        check_features(torch.tensor([[0.0], [float('inf')]]), 'query')
    assert check_features(torch.zeros(2, 2, dtype=torch.float64), 'q').dtype == torch.float32


def test_row_sqnorm_is_bit_identical_to_the_plain_formula():
    from reidengine.evaluation.functional.distance import row_sqnorm
    g = torch.Generator().manual_seed(0)
    x = torch.randn(1300, 37, generator=g) * 3
    for block in (1, 7, 512, 4096):
        assert torch.equal(row_sqnorm(x, block), x.pow(2).sum(1))
    assert row_sqnorm(x[:0]).shape == (0,)
