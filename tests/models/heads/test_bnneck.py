"""BNNeck: BN with weight 1, bias 0 and frozen."""
import pytest
import torch

from reidengine.models.heads import BNNeck


def test_init_and_frozen_bias():
    neck = BNNeck(4)
    assert torch.equal(neck.weight.detach(), torch.ones(4))
    assert torch.equal(neck.bias.detach(), torch.zeros(4))
    assert neck.weight.requires_grad and not neck.bias.requires_grad
    assert BNNeck(4, freeze_bias=False).bias.requires_grad


def test_training_step_moves_weight_not_bias():
    torch.manual_seed(0)
    neck = BNNeck(4)
    opt = torch.optim.SGD([p for p in neck.parameters() if p.requires_grad], lr=0.1)
    x = torch.randn(8, 4)
    (neck(x) * torch.randn(8, 4)).sum().backward()
    opt.step()
    assert torch.equal(neck.bias.detach(), torch.zeros(4))
    assert not torch.equal(neck.weight.detach(), torch.ones(4))


def test_train_mode_normalises_with_batch_statistics():
    torch.manual_seed(0)
    x = torch.randn(6, 3)
    out = BNNeck(3)(x)
    for c in range(3):
        col = x[:, c].tolist()
        mean = sum(col) / 6
        var = sum((v - mean) ** 2 for v in col) / 6
        expected = torch.tensor([(v - mean) / (var + 1e-5) ** 0.5 for v in col])
        assert torch.allclose(out[:, c], expected, atol=1e-5)


def test_bad_shape_raises():
    with pytest.raises(ValueError, match=r'\(B, 3\)'):
        BNNeck(3)(torch.zeros(2, 4))
