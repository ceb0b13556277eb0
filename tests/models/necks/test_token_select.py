"""TokenSelect picks one token of a (B, T, D) sequence."""
import pytest
import torch

from reidengine.models.necks import TokenSelect


def test_selects_cls_and_other_tokens():
    x = torch.arange(2 * 4 * 3, dtype=torch.float32).view(2, 4, 3)
    assert torch.equal(TokenSelect()(x), torch.tensor([[0.0, 1.0, 2.0], [12.0, 13.0, 14.0]]))
    assert torch.equal(TokenSelect(index=-1)(x), torch.tensor([[9.0, 10.0, 11.0],
                                                               [21.0, 22.0, 23.0]]))


def test_bad_input_raises():
    with pytest.raises(ValueError, match=r'\(B, T, D\)'):
        TokenSelect()(torch.zeros(2, 3))
    with pytest.raises(IndexError, match='index 4'):
        TokenSelect(index=4)(torch.zeros(2, 4, 3))
