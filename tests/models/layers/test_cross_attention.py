"""CrossAttentionBlock: queries from one token set, keys/values from the other, against a direct
re-statement of multi-head attention; pre- and post-norm; returned attention."""
import pytest
import torch

from reidengine.models.layers import CrossAttentionBlock


def _attention(block, q_in, c_in):
    """softmax(Q K^T / sqrt(d)) V per head, then the output projection, written out."""
    heads, d = block.num_heads, block.head_dim
    q = q_in @ block.q.weight.t() + block.q.bias
    kv = c_in @ block.kv.weight.t() + block.kv.bias
    k, v = kv[..., :heads * d], kv[..., heads * d:]
    outs = []
    for h in range(heads):
        sl = slice(h * d, (h + 1) * d)
        w = torch.softmax(q[..., sl] @ k[..., sl].transpose(-1, -2) / d ** 0.5, dim=-1)
        outs.append(w @ v[..., sl])
    return torch.cat(outs, dim=-1) @ block.proj.weight.t() + block.proj.bias


@pytest.fixture
def tokens():
    torch.manual_seed(0)
    return torch.randn(2, 3, 8), torch.randn(2, 5, 8)


@pytest.mark.parametrize('norm', ['pre', 'post'])
def test_matches_direct_formula(tokens, norm):
    query, context = tokens
    block = CrossAttentionBlock(8, num_heads=2, norm=norm).eval()
    for ln in (block.norm_q, block.norm_c, block.norm1, block.norm2):  # non-trivial LayerNorms
        if isinstance(ln, torch.nn.LayerNorm):
            torch.nn.init.normal_(ln.weight, 1.0, 0.3)
            torch.nn.init.normal_(ln.bias, 0.0, 0.3)
    if norm == 'pre':
        x = query + _attention(block, block.norm_q(query), block.norm_c(context))
        expected = x + block.ffn(block.norm2(x))
    else:
        x = block.norm1(query + _attention(block, query, context))
        expected = block.norm2(x + block.ffn(x))
    torch.testing.assert_close(block(query, context), expected, rtol=1e-5, atol=1e-5)


def test_direction_keys_values_come_from_the_context(tokens):
    query, context = tokens
    block = CrossAttentionBlock(8, num_heads=2, ffn=False).eval()
    out = block(query, context)
    assert out.shape == query.shape
    changed = context.clone()
    changed[:, 2] += torch.randn(8)  # not a constant shift: LayerNorm would remove that
    assert not torch.allclose(block(query, changed), out)  # the context is attended to
    # queries are independent of each other: changing query 0 leaves query 1's output unchanged
    q2 = query.clone()
    q2[:, 0] += torch.randn(8)
    torch.testing.assert_close(block(q2, context)[:, 1:], out[:, 1:])


def test_returned_attention_and_mask(tokens):
    query, context = tokens
    block = CrossAttentionBlock(8, num_heads=2).eval()
    mask = torch.ones(3, 5, dtype=torch.bool)
    mask[:, 4] = False
    out, weights = block(query, context, attn_mask=mask, return_attention=True)
    assert weights.shape == (2, 2, 3, 5)
    torch.testing.assert_close(weights.sum(-1), torch.ones(2, 2, 3))
    assert torch.all(weights[..., 4] == 0)
    torch.testing.assert_close(out, block(query, context, attn_mask=mask), rtol=1e-5, atol=1e-5)


def test_bad_shapes_are_named():
    block = CrossAttentionBlock(8, num_heads=2)
    with pytest.raises(ValueError, match='same B and D'):
        block(torch.randn(2, 3, 8), torch.randn(3, 5, 8))
    with pytest.raises(ValueError, match='divisible'):
        CrossAttentionBlock(8, num_heads=3)
