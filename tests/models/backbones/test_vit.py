"""ViTReID behaviour: overlapping patches, extra tokens, SIE, masked attention (reidengine/models/backbones/vit.py)."""
import math

import pytest
import timm
import torch
import torch.nn.functional as F

from reidengine.models.backbones import ViTReID
from reidengine.registry import MODELS
from reidengine.utils import register_all_modules

TINY = dict(embed_dim=32, depth=2, num_heads=2)


def tiny_vit(**kwargs):
    kwargs.setdefault('arch', TINY)
    kwargs.setdefault('img_size', (64, 32))
    kwargs.setdefault('drop_path_rate', 0.0)
    return ViTReID(**kwargs).eval()


def test_build_from_registry_and_attributes():
    register_all_modules()
    model = MODELS.build(dict(type='ViTReID', arch=TINY, img_size=(64, 32), num_extra_tokens=3, sie_num_cams=2))
    assert isinstance(model, ViTReID)
    assert model.grid_size == (4, 2) and model.num_prefix_tokens == 4 and model.embed_dim == 32
    assert model.uses_camera and not tiny_vit().uses_camera
    out = model(torch.randn(2, 3, 64, 32), camids=torch.tensor([0, 1]))
    assert out.shape == (2, 4 + 4 * 2, 32)


def test_vit_base_holds_every_timm_part():
    """Default arch: ViT-B/16 at 256x128 (16x8 grid); the same parameters as timm's model except the
    position embedding, which has 1 + 16*8 instead of 1 + 14*14 rows."""
    torch.manual_seed(0)
    model = ViTReID()
    reference = timm.create_model('vit_base_patch16_224', pretrained=False, num_classes=0)
    count = sum(p.numel() for p in model.parameters())
    ref_count = sum(p.numel() for p in reference.parameters())
    assert model.grid_size == (16, 8) and model.embed_dim == 768 and len(model.blocks) == 12
    assert count == ref_count - (1 + 14 * 14) * 768 + (1 + 16 * 8) * 768


def test_overlapping_patches_grid_and_values():
    model = tiny_vit(stride_size=12)
    assert model.grid_size == ((64 - 16) // 12 + 1, (32 - 16) // 12 + 1) == (5, 2)
    assert tiny_vit(img_size=(256, 128), stride_size=12).grid_size == (21, 10)  # TransReID's 21 x 10

    x = torch.randn(1, 3, 64, 32)
    tokens = model.patch_embed(x)
    weight, bias = model.patch_embed.proj.weight, model.patch_embed.proj.bias
    for i in range(5):
        for j in range(2):
            patch = x[0, :, 12 * i:12 * i + 16, 12 * j:12 * j + 16]
            expected = torch.einsum('dchw,chw->d', weight, patch) + bias
            torch.testing.assert_close(tokens[0, i * 2 + j], expected, atol=1e-5, rtol=1e-5)


def test_input_size_must_match():
    with pytest.raises(ValueError, match=r'img_size=\(64, 32\)'):
        tiny_vit()(torch.randn(1, 3, 32, 32))


def test_sie_adds_coef_times_camera_row_to_every_token():
    model = tiny_vit(sie_num_cams=3, sie_coef=3.0, num_extra_tokens=2)
    table = torch.randn(3, 1, 32)
    x = torch.randn(2, 3, 64, 32)
    camids = torch.tensor([2, 0])
    with torch.no_grad():
        model.sie_embed.copy_(table)
        with_sie = model.embed(x, camids)
        model.sie_embed.zero_()
        without = model.embed(x, camids)
    diff = with_sie - without
    for b, cam in enumerate(camids.tolist()):
        torch.testing.assert_close(diff[b], 3.0 * table[cam].expand(1 + 2 + 8, 32), atol=1e-6, rtol=1e-6)


def test_sie_on_first_extra_token_only():
    model = tiny_vit(sie_num_cams=2, sie_coef=2.0, num_extra_tokens=2, sie_target='first_extra_token')
    x = torch.randn(1, 3, 64, 32)
    with torch.no_grad():
        model.sie_embed.copy_(torch.randn(2, 1, 32))
        diff = model.embed(x, torch.tensor([1])) - (model.embed(x, torch.tensor([0])))
    expected = torch.zeros_like(diff)
    expected[0, 1] = 2.0 * (model.sie_embed[1, 0] - model.sie_embed[0, 0])
    torch.testing.assert_close(diff, expected, atol=1e-6, rtol=1e-6)


def test_camera_ids_are_checked():
    model = tiny_vit(sie_num_cams=3)
    x = torch.randn(2, 3, 64, 32)
    with pytest.raises(ValueError, match='needs camids'):
        model(x)
    with pytest.raises(ValueError, match=r'\[0, 3\).*0\.\.3'):
        model(x, camids=torch.tensor([0, 3]))
    with pytest.raises(ValueError, match='2 images'):
        model(x, camids=torch.tensor([0]))


def test_extra_tokens_start_as_cls():
    model = tiny_vit(num_extra_tokens=3)
    x = torch.randn(2, 3, 64, 32)
    with torch.no_grad():
        tokens = model.embed(x)
        out = model(x)
    for k in (1, 2, 3):  # identical inputs and full attention: identical outputs too
        torch.testing.assert_close(tokens[:, k], tokens[:, 0], atol=0, rtol=0)
        torch.testing.assert_close(out[:, k], out[:, 0], atol=1e-6, rtol=1e-6)

    random = tiny_vit(num_extra_tokens=3, extra_token_init='random')
    assert torch.count_nonzero(random.extra_pos_embed) == 0
    assert not torch.allclose(random.extra_tokens[0, 0], random.cls_token[0, 0])
    assert not torch.allclose(random.extra_tokens[0, 0], random.extra_tokens[0, 1])


def _manual_block(block, x, mask):
    """One pre-norm transformer block written out: masked softmax(q k^T / sqrt(d)) v, then the MLP."""
    batch, tokens, dim = x.shape
    heads = block.attn.num_heads
    h = F.layer_norm(x, (dim,), block.norm1.weight, block.norm1.bias, block.norm1.eps)
    qkv = h @ block.attn.qkv.weight.T + block.attn.qkv.bias
    q, k, v = qkv.reshape(batch, tokens, 3, heads, dim // heads).permute(2, 0, 3, 1, 4)
    scores = q @ k.transpose(-1, -2) / math.sqrt(dim // heads)
    scores = scores.masked_fill(~mask, float('-inf'))
    attended = (scores.softmax(-1) @ v).transpose(1, 2).reshape(batch, tokens, dim)
    x = x + attended @ block.attn.proj.weight.T + block.attn.proj.bias
    h = F.layer_norm(x, (dim,), block.norm2.weight, block.norm2.bias, block.norm2.eps)
    h = F.gelu(h @ block.mlp.fc1.weight.T + block.mlp.fc1.bias)
    return x + h @ block.mlp.fc2.weight.T + block.mlp.fc2.bias


def _part_mask(num_tokens, token, visible):
    mask = torch.ones(num_tokens, num_tokens, dtype=torch.bool)
    mask[token] = False
    mask[token, visible] = True
    return mask


def test_masked_block_matches_direct_formula():
    model = tiny_vit(arch=dict(embed_dim=32, depth=1, num_heads=2), num_extra_tokens=1)
    mask = _part_mask(10, token=1, visible=[1, 2, 3, 6])
    mask[0, 1] = False  # cls does not see the extra token
    x = torch.randn(2, 10, 32)
    with torch.no_grad():
        torch.testing.assert_close(model.forward_blocks(x, mask), _manual_block(model.blocks[0], x, mask),
                                   atol=1e-5, rtol=1e-5)
        full = torch.ones(10, 10, dtype=torch.bool)
        torch.testing.assert_close(model.forward_blocks(x, full), model.forward_blocks(x), atol=1e-6, rtol=1e-6)


def test_masked_token_ignores_pixels_outside_its_set():
    """Token 1 (an extra token) sees itself and patches 0 and 3 (tokens 2 and 5). Changing the pixels
    of another patch leaves its output unchanged after one layer; changing a visible patch does not."""
    model = tiny_vit(arch=dict(embed_dim=32, depth=1, num_heads=2), num_extra_tokens=1)
    mask = _part_mask(10, token=1, visible=[1, 2, 5])
    x = torch.randn(1, 3, 64, 32)
    outside, inside = x.clone(), x.clone()
    outside[..., 32:48, 16:32] += 5.0  # patch (2, 1) = patch index 5 = token 7
    inside[..., 16:32, 16:32] += 5.0  # patch (1, 1) = patch index 3 = token 5
    with torch.no_grad():
        base, out_o, out_i = (model(img, attn_mask=mask) for img in (x, outside, inside))
    torch.testing.assert_close(out_o[:, 1], base[:, 1], atol=1e-6, rtol=0)
    assert (out_i[:, 1] - base[:, 1]).abs().max() > 1e-3
    assert (out_o[:, 0] - base[:, 0]).abs().max() > 1e-3  # cls sees everything

    # the same through gradients: d out_1 / d token_j is zero exactly for j outside {1, 2, 5}
    tokens = torch.randn(1, 10, 32, requires_grad=True)
    model.forward_blocks(tokens, mask)[0, 1].sum().backward()
    seen = tokens.grad[0].abs().sum(-1) > 0
    assert seen.tolist() == [i in (1, 2, 5) for i in range(10)]


def test_attention_goes_through_sdpa_with_the_mask(monkeypatch):
    model = tiny_vit(num_extra_tokens=1)
    mask = _part_mask(10, token=1, visible=[1, 4])
    calls = []
    original = F.scaled_dot_product_attention

    def spy(q, k, v, attn_mask=None, **kwargs):
        calls.append(attn_mask)
        return original(q, k, v, attn_mask=attn_mask, **kwargs)

    monkeypatch.setattr(F, 'scaled_dot_product_attention', spy)
    with torch.no_grad():
        model(torch.randn(1, 3, 64, 32), attn_mask=mask)
    assert len(calls) == 2 and all(torch.equal(m, mask) for m in calls)


def test_attention_mask_is_validated():
    model = tiny_vit(num_extra_tokens=1)
    x = torch.randn(1, 3, 64, 32)
    with pytest.raises(ValueError, match=r'shape \(10, 10\)'):
        model(x, attn_mask=torch.ones(9, 9, dtype=torch.bool))
    with pytest.raises(ValueError, match='torch.bool'):
        model(x, attn_mask=torch.ones(10, 10))
    empty = torch.ones(10, 10, dtype=torch.bool)
    empty[4] = False
    with pytest.raises(ValueError, match=r'rows \[4\]'):
        model(x, attn_mask=empty)


def test_frozen_patch_embed_gets_no_gradient():
    model = tiny_vit(frozen_patch_embed=True).train()
    model(torch.randn(2, 3, 64, 32)).sum().backward()
    assert all(p.grad is None and not p.requires_grad for p in model.patch_embed.parameters())
    assert model.pos_embed.grad is not None and model.blocks[0].attn.qkv.weight.grad is not None


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match='unknown keys'):
        tiny_vit(arch=dict(embed_dim=32, depth=1, num_heads=2, width=3))
    with pytest.raises(ValueError, match='not a timm ViT model name'):
        tiny_vit(arch='vit_nonexistent_patch16')
    with pytest.raises(ValueError, match='not a timm ViT model name'):
        tiny_vit(arch='resnet18')
    with pytest.raises(ValueError, match='without register tokens'):
        tiny_vit(arch='vit_small_patch14_reg4_dinov2', patch_size=14)
    with pytest.raises(ValueError, match='stride_size'):
        tiny_vit(stride_size=20)
    with pytest.raises(ValueError, match='extra_token_init'):
        tiny_vit(extra_token_init='zeros')
    with pytest.raises(ValueError, match='num_extra_tokens >= 1'):
        tiny_vit(sie_num_cams=2, sie_target='first_extra_token')
