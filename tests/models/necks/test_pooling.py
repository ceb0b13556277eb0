"""GeM and average pooling against direct computations."""
import pytest
import torch

from reidengine.models.necks import GeM, GeneralizedMeanPooling, GlobalAvgPool
from reidengine.registry import MODELS


def test_registered_names():
    assert MODELS.get('GeM') is GeneralizedMeanPooling is GeM
    assert MODELS.get('GeneralizedMeanPooling') is GeneralizedMeanPooling


def test_p1_is_average_and_avgpool_is_mean():
    torch.manual_seed(0)
    x = torch.rand(2, 3, 4, 5) + 0.1
    expected = torch.stack([torch.stack([x[b, c].sum() / 20 for c in range(3)])
                            for b in range(2)])
    assert torch.allclose(GeneralizedMeanPooling(p=1.0)(x), expected, atol=1e-6)
    assert torch.allclose(GlobalAvgPool()(x), expected, atol=1e-6)


def test_hand_computed_p2():
    x = torch.tensor([1.0, 2.0, 3.0, 4.0]).view(1, 1, 2, 2)
    expected = ((1 + 4 + 9 + 16) / 4) ** 0.5
    assert GeneralizedMeanPooling(p=2.0)(x).item() == pytest.approx(expected, rel=1e-6)


def test_large_p_approaches_max():
    torch.manual_seed(0)
    x = torch.rand(2, 3, 4, 4, dtype=torch.float64) * 0.5 + 0.5
    out = GeneralizedMeanPooling(p=500.0)(x)
    assert torch.allclose(out, x.amax(dim=(2, 3)), rtol=1e-2)
    assert (out <= x.amax(dim=(2, 3)) + 1e-12).all()


def test_eps_clamps_negative_activations():
    x = torch.tensor([-1.0, 0.0, 4.0, 4.0]).view(1, 1, 2, 2)
    eps = 1e-3
    expected = ((eps ** 3 + eps ** 3 + 64 + 64) / 4) ** (1 / 3)
    assert GeneralizedMeanPooling(p=3.0, eps=eps)(x).item() == pytest.approx(expected, rel=1e-5)


def test_gradient_reaches_p_and_matches_finite_difference():
    torch.manual_seed(0)
    x = torch.rand(2, 3, 4, 4, dtype=torch.float64) + 0.1
    gem = GeneralizedMeanPooling(p=3.0).double()
    gem(x).sum().backward()

    def value(p):
        return ((x ** p).mean(dim=(2, 3)) ** (1 / p)).sum().item()

    h = 1e-6
    assert gem.p.grad.item() == pytest.approx((value(3 + h) - value(3 - h)) / (2 * h), rel=1e-5)


def test_fixed_p_is_not_trained():
    gem = GeneralizedMeanPooling(p=3.0, learnable=False)
    assert not gem.p.requires_grad
    assert gem.p.item() == 3.0


def test_bad_input_raises():
    with pytest.raises(ValueError, match=r'\(B, C, \*spatial\)'):
        GeneralizedMeanPooling()(torch.zeros(2, 3))
    with pytest.raises(ValueError, match=r'\(B, C, \*spatial\)'):
        GlobalAvgPool()(torch.zeros(2, 3))
    with pytest.raises(ValueError, match='p must be'):
        GeneralizedMeanPooling(p=0.0)
