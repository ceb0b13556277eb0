"""Heterogenous Transmission Module: the MFU against eq. 6-9 (and the released form), SEU sharing,
the data flow between layers, the MFU-only gradient pattern and the parameter counts of Table III."""
import pytest
import torch
import torch.nn.functional as F

from plugins.fusionreid.models import (HeterogenousTransmissionModule, HTMLayer, MutualFusionUnit,
                                       SharedEncodingUnit)

D, HEADS = 16, 2


def tokens(seed=0, batch=3, n_cnn=8, n_vit=10, grad=False):
    g = torch.Generator().manual_seed(seed)
    out = dict(g_cnn=torch.randn(batch, 1, D, generator=g), g_vit=torch.randn(batch, 1, D, generator=g),
               l_cnn=torch.randn(batch, n_cnn, D, generator=g), l_vit=torch.randn(batch, n_vit, D, generator=g))
    return {k: v.requires_grad_(grad) for k, v in out.items()}


def htm(**kwargs):
    torch.manual_seed(0)
    args = dict(dim=D, num_heads=HEADS, num_layers=2)
    return HeterogenousTransmissionModule(**{**args, **kwargs})


def run(module, t, attention=None):
    return module(dict(cnn=t['g_cnn'], vit=t['g_vit']), dict(cnn=t['l_cnn'], vit=t['l_vit']), attention)


def attend(q_in, k_in, v_in, block):
    """Multi-head attention restated: per head softmax(Q K^T / sqrt(d)) V, heads concatenated, W^o."""
    w_q, (w_k, w_v) = block.q.weight, block.kv.weight.chunk(2)
    b, d = q_in.shape[0], D // HEADS

    def heads(x):
        return x.reshape(b, -1, HEADS, d).transpose(1, 2)

    q, k, v = heads(q_in @ w_q.t()), heads(k_in @ w_k.t()), heads(v_in @ w_v.t())
    out = ((q @ k.transpose(-2, -1)) / d ** 0.5).softmax(dim=-1) @ v
    return block.proj(out.transpose(1, 2).reshape(b, -1, D))


def ffn(block, x):
    return block.ffn.fc2(F.gelu(block.ffn.fc1(x)))


def test_mfu_is_eq_6_to_9_by_default():
    torch.manual_seed(0)
    mfu = MutualFusionUnit(D, HEADS, 4.0, qkv_bias=False, norm_eps=1e-5)
    t = tokens()
    m = attend(t['g_cnn'], t['l_vit'], t['l_vit'], mfu.block)  # eq. 6: no LayerNorm, no query residual
    torch.testing.assert_close(mfu(t['g_cnn'], t['l_vit']), ffn(mfu.block, m) + m)  # eq. 8


def test_mfu_released_layer_norms():
    """q + MHCA(LN(q), K = LN(c), V = c), then a pre-norm FFN (the released code)."""
    torch.manual_seed(0)
    mfu = MutualFusionUnit(D, HEADS, 4.0, qkv_bias=False, norm_eps=1e-5, released_layer_norms=True)
    for p in mfu.parameters():  # non-trivial LayerNorm affines
        p.data.add_(0.1 * torch.randn_like(p))
    blk, t = mfu.block, tokens()
    q, c = t['g_cnn'], t['l_vit']
    x = q + attend(blk.norm_q(q), blk.norm_c(c), c, blk)
    torch.testing.assert_close(mfu(q, c), x + ffn(blk, blk.norm2(x)))


def test_seu_is_one_pre_norm_vit_block_and_released_adds_a_final_norm():
    torch.manual_seed(0)
    seu = SharedEncodingUnit(D, HEADS, 4.0, qkv_bias=False, norm_eps=1e-5)
    x = tokens()['l_cnn']
    blk = seu.block
    s_hat = blk.attn(blk.norm1(x)) + x  # eq. 3
    torch.testing.assert_close(seu(x), blk.mlp(blk.norm2(s_hat)) + s_hat)  # eq. 4
    released = SharedEncodingUnit(D, HEADS, 4.0, qkv_bias=False, norm_eps=1e-5, final_norm=True)
    released.block.load_state_dict(blk.state_dict())
    torch.testing.assert_close(released(x), F.layer_norm(seu(x), (D,), eps=1e-5))


@pytest.mark.parametrize('share', [True, False])
def test_shared_seu_is_one_module_with_gradients_from_both_branches(share):
    module = htm(num_layers=1, order='seu_only', share_seu=share)
    layer = module.layers[0]
    assert list(layer.seu) == (['cnn'] if share else ['cnn', 'vit'])
    calls = {name: 0 for name in layer.seu}
    for name, unit in layer.seu.items():
        unit.register_forward_hook(lambda *a, name=name: calls.__setitem__(name, calls[name] + 1))
    t = tokens(grad=True)
    out_cnn, out_vit = run(module, t)
    grads = {}
    for branch, out in (('cnn', out_cnn), ('vit', out_vit)):
        params = [p for unit in layer.seu.values() for p in unit.parameters()]
        grads[branch] = torch.autograd.grad(out.pow(2).sum(), params, allow_unused=True, retain_graph=True)
    n = len(list(layer.seu['cnn'].parameters()))
    if share:  # the one SEU learns from both branches
        assert calls == dict(cnn=2)
        assert all(g is not None and g.abs().sum() > 0 for g in grads['cnn'] + grads['vit'])
    else:  # each branch's SEU learns from its own branch only
        assert calls == dict(cnn=1, vit=1)
        assert all(g.abs().sum() > 0 for g in grads['cnn'][:n]) and all(g is None for g in grads['cnn'][n:])
        assert all(g is None for g in grads['vit'][:n]) and all(g.abs().sum() > 0 for g in grads['vit'][n:])


def test_mfu_only_fuses_the_other_branch_only():
    """MFU-only: branch A's fused token depends on B's local tokens, not on A's own."""
    module = htm(order='mfu_only')
    t = tokens(grad=True)
    out_cnn, out_vit = run(module, t)
    own, other = torch.autograd.grad(out_cnn.sum(), [t['l_cnn'], t['l_vit']], allow_unused=True,
                                     retain_graph=True)
    assert (own is None or own.abs().max() == 0) and other.abs().min() > 0
    own, other = torch.autograd.grad(out_vit.sum(), [t['l_vit'], t['l_cnn']], allow_unused=True)
    assert (own is None or own.abs().max() == 0) and other.abs().min() > 0


def record_inputs(unit, store):
    return unit.register_forward_hook(lambda m, args, out: store.append([a.detach() for a in args]))


def test_layer_two_starts_again_from_the_lru_tokens():
    """Only the global tokens carry over: at layer 2 the SEU reads [g'; LRU tokens] and the MFUs the
    other branch's SEU-encoded LRU tokens."""
    module, t = htm(order='seu_mfu'), tokens()
    seen, fused = [], []
    record_inputs(module.layers[1].seu['cnn'], seen)
    record_inputs(module.layers[1].mfu['cnn'], fused)
    first = module.layers[0](dict(cnn=t['g_cnn'], vit=t['g_vit']), dict(cnn=t['l_cnn'], vit=t['l_vit']))
    run(module, t)
    (x_cnn,), (x_vit,) = seen  # shared SEU: called for the CNN then the ViT branch
    torch.testing.assert_close(x_cnn[:, 1:], t['l_cnn'])
    torch.testing.assert_close(x_vit[:, 1:], t['l_vit'])
    torch.testing.assert_close(x_cnn[:, :1], first['cnn'])
    encoded_vit = module.layers[1].seu['cnn'](x_vit)
    torch.testing.assert_close(fused[0][1], encoded_vit[:, 1:])  # keys/values of the CNN MFU


def test_mfu_only_layer_two_keys_values_are_the_lru_tokens():
    module, t = htm(order='mfu_only'), tokens()
    ctx = []
    record_inputs(module.layers[1].mfu['cnn'], ctx)
    record_inputs(module.layers[1].mfu['vit'], ctx)
    run(module, t)
    torch.testing.assert_close(ctx[0][1], t['l_vit'])
    torch.testing.assert_close(ctx[1][1], t['l_cnn'])


@pytest.mark.parametrize('order', ['seu_mfu', 'seu_only', 'mfu_seu', 'mfu_only'])
def test_every_order_gives_global_tokens_and_attention(order):
    module, t = htm(order=order), tokens(n_cnn=8, n_vit=10)
    attention = []
    out_cnn, out_vit = run(module, t, attention)
    assert out_cnn.shape == out_vit.shape == (3, D)
    assert len(attention) == 2
    kinds = {'seu_mfu': {'seu_cnn', 'seu_vit', 'mfu_cnn', 'mfu_vit'}, 'seu_only': {'seu_cnn', 'seu_vit'},
             'mfu_seu': {'seu_cnn', 'seu_vit', 'mfu_cnn', 'mfu_vit'}, 'mfu_only': {'mfu_cnn', 'mfu_vit'}}
    assert set(attention[0]) == kinds[order]
    sizes = dict(seu_cnn=8, seu_vit=10, mfu_cnn=10, mfu_vit=8)
    for kind, weights in attention[0].items():
        assert weights.shape == (3, HEADS, sizes[kind])
    # the fused outputs do not depend on whether the attention was recorded
    torch.testing.assert_close(run(module, t)[0], out_cnn)


def test_separate_seus_and_shared_mfu_change_the_module_count():
    layer = htm(num_layers=1, share_seu=False, share_mfu=True).layers[0]
    assert list(layer.seu) == ['cnn', 'vit'] and list(layer.mfu) == ['cnn']
    t = tokens()
    a, b = run(htm(num_layers=1, share_mfu=True), t)
    assert a.shape == b.shape == (3, D)


# Table III: parameters of one HTM layer at D = 768, 12 heads (SEU = MFU = 7.09 M, no q/k/v bias)
@pytest.mark.parametrize('order,share_seu,table_m', [('seu_mfu', True, 21.3), ('seu_only', True, 7.1),
                                                     ('mfu_seu', True, 21.3), ('mfu_only', True, 14.2)])
@pytest.mark.parametrize('released', [False, True])
def test_parameters_per_htm_layer_match_table_iii(order, share_seu, table_m, released):
    with torch.device('meta'):
        layer = HTMLayer(768, 12, 4.0, qkv_bias=False, norm_eps=1e-5, order=order, share_seu=share_seu,
                         share_mfu=False, released_layer_norms=released)
    count = sum(p.numel() for p in layer.parameters())
    assert round(count / 1e6, 1) == table_m
    # eq. 8-9 have no LayerNorm: 3 x 1,536 fewer parameters per MFU than the released MFU
    seu = 7_085_568 + (1536 if released else 0)
    mfu = 7_082_496 + (3 * 1536 if released else 0)
    expected = dict(seu_mfu=seu + 2 * mfu, seu_only=seu, mfu_seu=seu + 2 * mfu, mfu_only=2 * mfu)[order]
    assert count == expected


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match='order must be one of'):
        HeterogenousTransmissionModule(dim=D, num_heads=HEADS, order='mfu_first')
    with pytest.raises(ValueError, match='not divisible'):
        HeterogenousTransmissionModule(dim=10, num_heads=4)
