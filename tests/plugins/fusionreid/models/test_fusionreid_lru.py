"""Local Refinement Unit (eq. 1-2): the depthwise kernel that brings a map to the target grid, and
the output against a direct statement of the equations."""
import pytest
import torch
import torch.nn.functional as F

from plugins.fusionreid.models import LocalRefinementUnit


def set_bn(bn, seed):
    g = torch.Generator().manual_seed(seed)
    n = bn.num_features
    bn.running_mean.copy_(torch.randn(n, generator=g))
    bn.running_var.copy_(torch.rand(n, generator=g) + 0.5)
    bn.weight.data.copy_(torch.rand(n, generator=g) + 0.5)
    bn.bias.data.copy_(torch.randn(n, generator=g))


@pytest.mark.parametrize('in_grid,out_grid,kernel', [((21, 10), (16, 8), (6, 3)),
                                                     ((31, 10), (24, 8), (8, 3)),
                                                     ((16, 8), (16, 8), (1, 1))])
def test_depthwise_kernel_brings_the_map_to_the_target_grid(in_grid, out_grid, kernel):
    lru = LocalRefinementUnit(6, 4, in_grid, out_grid)
    assert lru.kernel_size == kernel
    assert lru(torch.randn(2, 6, *in_grid)).shape == (2, 4, *out_grid)


def test_lru_matches_eq_1_and_2():
    torch.manual_seed(0)
    lru = LocalRefinementUnit(6, 4, (5, 4), (3, 3)).eval()
    set_bn(lru.bn1, 1)
    set_bn(lru.bn2, 2)
    lru.act1.weight.data.fill_(0.1)
    lru.act2.weight.data.fill_(0.3)
    x = torch.randn(2, 6, 5, 4)

    def bn(y, m):
        shape = (1, -1, 1, 1)
        return ((y - m.running_mean.view(shape)) / (m.running_var.view(shape) + m.eps).sqrt()
                * m.weight.view(shape) + m.bias.view(shape))

    def prelu(y, slope):
        return torch.where(y > 0, y, slope * y)

    f = prelu(bn(F.conv2d(x, lru.depthwise.weight, lru.depthwise.bias, groups=6), lru.bn1), 0.1)  # eq. 1
    expected = prelu(bn(F.conv2d(f, lru.pointwise.weight, lru.pointwise.bias), lru.bn2), 0.3)    # eq. 2
    torch.testing.assert_close(lru(x), expected)


def test_lru_refuses_growing_or_wrong_maps():
    with pytest.raises(ValueError, match='larger than in_grid'):
        LocalRefinementUnit(6, 4, (8, 4), (16, 8))
    lru = LocalRefinementUnit(6, 4, (8, 4), (8, 4))
    with pytest.raises(ValueError, match=r'expected a \(B, C, 8, 4\) map'):
        lru(torch.randn(1, 6, 4, 8))
