"""Multi-head auto-alignment attention (eq. 1-2): masking isolation with an injected assignment, the
plain-ViT path for cls and patches, direct re-statement of eq. 2, empty parts, gradients, fp32 safety."""
import pytest
import torch
from timm.layers import Attention

from plugins.aaformer.models import AutoAlignmentAttention

DIM, HEADS, PARTS, PATCHES = 32, 4, 5, 24
TOKENS = 1 + PARTS + PATCHES


def make_layer(**kwargs):
    torch.manual_seed(0)
    layer = AutoAlignmentAttention(DIM, num_heads=HEADS, qkv_bias=True, **kwargs).eval()
    with torch.no_grad():
        for param in layer.parameters():
            param.normal_(0, 0.3)
    return layer


def random_assignment(seed=0, batch=2):
    """A hard assignment: a partition per group, drawn at random."""
    gen = torch.Generator().manual_seed(seed)
    first = torch.randint(0, 2, (batch, HEADS, PATCHES), generator=gen)
    second = torch.randint(0, 3, (batch, HEADS, PATCHES), generator=gen)
    return torch.cat([torch.nn.functional.one_hot(first, 2), torch.nn.functional.one_hot(second, 3)],
                     -1).transpose(-1, -2).bool()


def qkv(seed=1, batch=2):
    gen = torch.Generator().manual_seed(seed)
    return [torch.randn(batch, HEADS, TOKENS, DIM // HEADS, generator=gen) for _ in range(3)]


def test_masking_isolates_parts_with_an_injected_assignment():
    layer = make_layer()
    assignment = random_assignment()
    layer.assign = lambda part_q, patch_k: assignment
    q, k, v = qkv()
    out = layer.attend(q, k, v)
    for b, h, p in [(0, 0, 0), (1, 2, 3), (0, 3, 4), (1, 1, 1)]:
        inside = assignment[b, h, p].nonzero().flatten()
        outside = (~assignment[b, h, p]).nonzero().flatten()
        assert len(inside) and len(outside)
        k2, v2 = k.clone(), v.clone()
        k2[b, h, 1 + PARTS + outside] += 5.0  # every patch outside Phi_p of this head
        v2[b, h, 1 + PARTS + outside] -= 3.0
        k2[b, (h + 1) % HEADS] += 1.0  # and everything of another head
        out2 = layer.attend(q, k2, v2)
        assert torch.equal(out2[b, h, 1 + p], out[b, h, 1 + p])  # bit-identical
        k3 = k.clone()
        k3[b, h, 1 + PARTS + inside[0]] += 1.0  # one key inside
        assert not torch.allclose(layer.attend(q, k3, v)[b, h, 1 + p], out[b, h, 1 + p])
        v3 = v.clone()
        v3[b, h, 1 + PARTS + inside[-1]] += 1.0  # one value inside
        assert not torch.allclose(layer.attend(q, k, v3)[b, h, 1 + p], out[b, h, 1 + p])


def test_part_output_is_eq2_over_its_patches():
    layer = make_layer()
    assignment = random_assignment(seed=3)
    layer.assign = lambda part_q, patch_k: assignment
    q, k, v = qkv(seed=4)
    out = layer.attend(q, k, v)
    scale = (DIM // HEADS) ** -0.5
    for b, h, p in [(0, 1, 0), (1, 3, 2)]:
        phi = 1 + PARTS + assignment[b, h, p].nonzero().flatten()
        weights = torch.softmax(q[b, h, 1 + p] @ k[b, h, phi].T * scale, dim=-1)
        torch.testing.assert_close(out[b, h, 1 + p], weights @ v[b, h, phi])
    # part_sees_itself adds the part's own key / value to Phi_p
    layer.part_sees_itself = True
    out = layer.attend(q, k, v)
    b, h, p = 1, 0, 4
    keys = torch.cat([torch.tensor([1 + p]), 1 + PARTS + assignment[b, h, p].nonzero().flatten()])
    weights = torch.softmax(q[b, h, 1 + p] @ k[b, h, keys].T * scale, dim=-1)
    torch.testing.assert_close(out[b, h, 1 + p], weights @ v[b, h, keys])


def test_cls_and_patches_equal_the_plain_vit_without_parts():
    layer = make_layer()
    plain = Attention(DIM, num_heads=HEADS, qkv_bias=True).eval()
    plain.load_state_dict(layer.state_dict())  # same parameter names: checkpoint keys unchanged
    x = torch.randn(3, TOKENS, DIM)
    without_parts = torch.cat([x[:, :1], x[:, 1 + PARTS:]], dim=1)
    out = layer(x)
    torch.testing.assert_close(torch.cat([out[:, :1], out[:, 1 + PARTS:]], dim=1), plain(without_parts),
                               rtol=1e-6, atol=1e-6)
    # and they do not depend on the part tokens
    x2 = x.clone()
    x2[:, 1:1 + PARTS] += 10.0
    out2 = layer(x2)
    assert torch.equal(out2[:, :1], out[:, :1]) and torch.equal(out2[:, 1 + PARTS:], out[:, 1 + PARTS:])


@pytest.mark.parametrize('assignment', ['optimal_transport', 'nearest_neighbour', 'stripes'])
def test_assignment_is_a_partition_per_group_and_recorded(assignment):
    layer = make_layer(assignment=assignment, grid_size=(6, 4))
    out = layer(torch.randn(2, TOKENS, DIM))
    assert out.shape == (2, TOKENS, DIM)
    rec = layer.last_assignment
    assert rec.shape == (2, HEADS, PARTS, PATCHES) and rec.dtype == torch.bool
    assert (rec[:, :, :2].sum(2) == 1).all() and (rec[:, :, 2:].sum(2) == 1).all()
    attn = layer.last_part_attention
    assert attn.shape == (2, HEADS, PARTS, PATCHES)
    assert (attn[~rec] == 0).all()


def test_sinkhorn_settings_change_the_layer_assignment():
    x = torch.randn(4, TOKENS, DIM)
    records = {}
    for key, kwargs in dict(base={}, eps=dict(sinkhorn_eps=5.0), iters=dict(sinkhorn_iterations=0),
                            nn=dict(assignment='nearest_neighbour')).items():
        layer = make_layer(**kwargs)
        layer(x)
        records[key] = layer.last_assignment
    assert not torch.equal(records['base'], records['eps'])
    assert not torch.equal(records['base'], records['iters'])
    assert torch.equal(records['iters'], records['nn'])  # 0 iterations = nearest neighbour


def test_empty_part_stays_finite_and_gradients_reach_the_parts():
    layer = make_layer().train()
    assignment = random_assignment(seed=5)
    assignment[:, :, 1] |= assignment[:, :, 0]
    assignment[:, :, 0] = False  # part 0 takes no patch anywhere
    layer.assign = lambda part_q, patch_k: assignment
    x = torch.randn(2, TOKENS, DIM, requires_grad=True)
    out = layer(x)
    assert torch.isfinite(out).all()
    # empty part: zero attention output, so the layer gives the projection bias only
    torch.testing.assert_close(out[:, 1], layer.proj.bias.expand(2, DIM))
    out[:, 1:1 + PARTS].pow(2).sum().backward()
    assert torch.isfinite(x.grad).all()
    assert x.grad[:, 2:1 + PARTS].abs().sum() > 0  # parts' own queries
    assert x.grad[:, 1 + PARTS:].abs().sum() > 0  # patches through keys / values
    assert layer.qkv.weight.grad.abs().sum() > 0


def test_fp32_finite_for_large_scores_with_raw_dot_products():
    layer = make_layer(score='dot')
    x = torch.randn(2, TOKENS, DIM) * 300  # q . k ~ 1e5, / eps = 2e6
    out = layer(x)
    assert torch.isfinite(out).all()
    rec = layer.last_assignment
    assert (rec[:, :, 2:].sum(2) == 1).all()


def test_bad_arguments():
    with pytest.raises(ValueError, match='assignment'):
        make_layer(assignment='kmeans')
    with pytest.raises(ValueError, match='grid_size'):
        make_layer(assignment='stripes')
    with pytest.raises(ValueError, match='attn_mask'):
        make_layer()(torch.randn(1, TOKENS, DIM), attn_mask=torch.ones(TOKENS, TOKENS, dtype=torch.bool))
    with pytest.raises(ValueError, match='num_extra_tokens'):
        make_layer()(torch.randn(1, 1 + PARTS, DIM))
