"""MDPR blocks: K + 1 maps softmaxed over the map axis with the first K kept; BAP (eq. 3);
attention generator (eq. 2); fusion block layouts."""
import pytest
import torch
import torch.nn.functional as F

from plugins.mdpr.models.blocks import (AttentionGenerator, BilinearAttentionPooling, FusionBlock,
                                        keep_foreground_maps)


def test_softmax_over_k_plus_one_maps_keeps_the_first_k():
    torch.manual_seed(0)
    raw = torch.randn(2, 4, 5, 3) * 3
    kept = keep_foreground_maps(raw, 3)
    expected = torch.exp(raw[:, :3]) / torch.exp(raw).sum(dim=1, keepdim=True)
    torch.testing.assert_close(kept, expected)
    total = kept.sum(dim=1)
    assert (total < 1).all() and (total > 0).all()
    torch.testing.assert_close(total, 1 - torch.softmax(raw, 1)[:, 3])
    with pytest.raises(ValueError, match=r'expected \(B, 3, H, W\) raw maps, got \(2, 4, 5, 3\)'):
        keep_foreground_maps(raw, 2)


def test_attention_generator_sums_the_two_convolutions():
    torch.manual_seed(0)
    gen = AttentionGenerator(6, 3).eval()
    with torch.no_grad():
        gen.bn.running_mean.normal_()
        gen.bn.running_var.uniform_(0.5, 2)
        gen.bn.bias.normal_()
    x = torch.randn(2, 6, 4, 3)
    z = F.conv2d(x, gen.conv1.weight) + F.conv2d(x, gen.conv3.weight, padding=1)
    z = (z - gen.bn.running_mean.view(1, -1, 1, 1)) / torch.sqrt(gen.bn.running_var.view(1, -1, 1, 1) + gen.bn.eps)
    expected = torch.relu(z * gen.bn.weight.view(1, -1, 1, 1) + gen.bn.bias.view(1, -1, 1, 1))
    torch.testing.assert_close(gen(x), expected)


@pytest.mark.parametrize('shared_gem', [True, False])
def test_bap_embeds_and_pools_each_weighted_map(shared_gem):
    torch.manual_seed(0)
    bap = BilinearAttentionPooling(6, 5, num_maps=2, shared_gem=shared_gem).eval()
    assert len(bap.pools) == (1 if shared_gem else 2)
    with torch.no_grad():
        for i, pool in enumerate(bap.pools):
            pool.p.fill_(2.0 + i)
    maps, feats = torch.rand(3, 2, 4, 2), torch.rand(3, 6, 4, 2)
    out = bap(maps, feats)
    assert out.shape == (3, 2, 5)
    for i in range(2):
        p = 2.0 if shared_gem else 2.0 + i
        e = bap.embeds[i](feats * maps[:, i:i + 1]).clamp(min=1e-6)
        torch.testing.assert_close(out[:, i], e.pow(p).mean(dim=(2, 3)).pow(1 / p))
    with pytest.raises(ValueError, match='maps on the feature grid'):
        bap(maps[:, :1], feats)


def test_fusion_block_conv_layouts():
    torch.manual_seed(0)
    x = torch.randn(2, 4, 3, 2)
    seq, summed = FusionBlock(4, 'sequential').eval(), FusionBlock(4, 'summed').eval()
    summed.load_state_dict(seq.state_dict())
    y = F.conv2d(F.conv2d(x, seq.conv1.weight), seq.conv3.weight, padding=1)
    torch.testing.assert_close(seq(x), torch.relu(seq.bn(y)))
    y = F.conv2d(x, seq.conv1.weight) + F.conv2d(x, seq.conv3.weight, padding=1)
    torch.testing.assert_close(summed(x), torch.relu(seq.bn(y)))
    with pytest.raises(ValueError, match="convs='parallel'"):
        FusionBlock(4, 'parallel')
