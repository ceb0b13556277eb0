"""ViTReID extension points: the attention replacement (keys kept, custom attention used per
layer), gradient checkpointing (same gradients), and the backbone contract check."""
import pytest
import torch
import torch.nn.functional as F
from timm.models.vision_transformer import Attention

from reidengine.models.backbones import ViTReID, check_backbone
from reidengine.registry import MODELS

TINY = dict(embed_dim=32, depth=3, num_heads=2)


class _ScaledValueAttention(Attention):
    """Attention whose output is multiplied by ``factor``; records the layers that ran."""
    calls = []

    def __init__(self, *args, layer_index=0, factor=1.0, **kwargs):
        super().__init__(*args, **kwargs)
        self.layer_index, self.factor = layer_index, factor

    def forward(self, x, attn_mask=None, **kwargs):
        type(self).calls.append(self.layer_index)
        return self.factor * super().forward(x, attn_mask=attn_mask)


class _NotAttention(torch.nn.Module):
    def __init__(self, **kwargs):
        super().__init__()


MODELS.register_module('_TestScaledValueAttention', module=_ScaledValueAttention, force=True)
MODELS.register_module('_TestNotAttention', module=_NotAttention, force=True)


def _vit(**kwargs):
    torch.manual_seed(0)
    return ViTReID(arch=TINY, img_size=(32, 16), patch_size=8, stride_size=8,
                   drop_path_rate=0.0, **kwargs).eval()


def test_attention_replacement_keeps_weights_keys_and_runs_per_layer():
    plain = _vit()
    identity = _vit(attn_layer=dict(type='_TestScaledValueAttention', factor=1.0))
    assert list(identity.state_dict()) == list(plain.state_dict())  # checkpoint keys unchanged
    for key, value in plain.state_dict().items():
        assert torch.equal(identity.state_dict()[key], value)  # init carried over
    x = torch.randn(2, 3, 32, 16)
    _ScaledValueAttention.calls.clear()
    torch.testing.assert_close(identity(x), plain(x))
    assert _ScaledValueAttention.calls == [0, 1, 2]

    only_second = _vit(attn_layer=dict(type='_TestScaledValueAttention', factor=0.0),
                       attn_layer_indices=[1])
    assert [type(b.attn) is _ScaledValueAttention for b in only_second.blocks] == [False, True, False]
    # layer 1 without its attention: x + 0 + MLP, written out
    blocks = plain.blocks
    h = plain.embed(x)
    h = blocks[0](h)
    h = h + blocks[1].mlp(blocks[1].norm2(h))
    h = blocks[2](h)
    torch.testing.assert_close(only_second(x), plain.norm(h))


def test_attention_replacement_errors_name_the_problem():
    with pytest.raises(TypeError, match="subclass of timm's Attention"):
        _vit(attn_layer=dict(type='_TestNotAttention'))
    with pytest.raises(ValueError, match='attn_layer_indices'):
        _vit(attn_layer=dict(type='_TestScaledValueAttention'), attn_layer_indices=[3])


def test_gradient_checkpointing_gives_the_same_gradients():
    x = torch.randn(2, 3, 32, 16)
    grads = []
    for checkpointing in (False, True):
        model = _vit(grad_checkpointing=checkpointing).train()
        mask = torch.ones(model.num_prefix_tokens + 8, model.num_prefix_tokens + 8, dtype=torch.bool)
        mask[0, -1] = False
        model(x, attn_mask=mask).square().sum().backward()
        grads.append({k: p.grad.clone() for k, p in model.named_parameters() if p.grad is not None})
    assert grads[0].keys() == grads[1].keys() and len(grads[0]) > 10
    for key in grads[0]:
        torch.testing.assert_close(grads[1][key], grads[0][key], rtol=1e-5, atol=1e-6)
    model = _vit()
    model.set_grad_checkpointing()
    assert model.grad_checkpointing


def test_check_backbone_names_the_missing_attributes():
    check_backbone(_vit(), owner='test')
    with pytest.raises(TypeError, match=r"lacks \['grid_size', 'num_prefix_tokens'\]"):
        check_backbone(torch.nn.Linear(2, 2), owner='PATModel')
