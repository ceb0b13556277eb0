"""Bidirectional fusion (eq. 3-5): learnable tokens only, which encoder queries which, reduction,
weight sharing, Table 3's concatenation and Table 6's number of self-attention layers."""
import pytest
import torch
from timm.models.vision_transformer import Block

from plugins.drformer.models import DRFormerFusion, FusionTransformer
from reidengine.models.layers import CrossAttentionBlock

D, N = 16, 3


def outputs(batch=2, dino_patches=6, clip_patches=4):
    torch.manual_seed(0)
    return dict(dino=torch.randn(batch, 1 + N + dino_patches, D), clip=torch.randn(batch, 1 + N + clip_patches, D))


def fusion(**kwargs):
    torch.manual_seed(1)
    args = dict(encoders=('dino', 'clip'), num_tokens=N, dims=dict(dino=D, clip=D), num_heads=2)
    return DRFormerFusion(**{**args, **kwargs}).eval()


def test_only_the_learnable_tokens_go_to_the_fusion():
    out = outputs()
    feats = fusion()(out)
    assert torch.equal(feats['tokens_dino'], out['dino'][:, 1:1 + N])
    assert torch.equal(feats['tokens_clip'], out['clip'][:, 1:1 + N])
    # changing the cls output or any image token changes nothing
    changed = {k: v.clone() for k, v in out.items()}
    for v in changed.values():
        v[:, 0] += 5
        v[:, 1 + N:] += 5
    again = fusion()(changed)
    for key in ('fused', 'dino_to_clip', 'clip_to_dino'):
        assert torch.equal(feats[key], again[key])
    assert feats['fused'].shape == (2, 2 * D)
    assert torch.equal(feats['fused'], torch.cat([feats['dino_to_clip'], feats['clip_to_dino']], 1))


def test_cross_attention_direction():
    """H_{D->C}: queries from DINOv2's tokens, keys / values from CLIP's (eq. 3), and the reverse (eq. 4)."""
    module = fusion(num_self_layers=0, final_norm=False, token_reduction='mean')
    out = outputs()
    feats = module(out)
    dino, clip = out['dino'][:, 1:1 + N], out['clip'][:, 1:1 + N]
    d2c = module.transformers['dino_to_clip'].cross
    c2d = module.transformers['clip_to_dino'].cross
    assert torch.allclose(feats['dino_to_clip'], d2c(dino, clip).mean(1), atol=1e-6)
    assert torch.allclose(feats['clip_to_dino'], c2d(clip, dino).mean(1), atol=1e-6)
    # swapping query and context gives something else
    assert not torch.allclose(feats['dino_to_clip'], d2c(clip, dino).mean(1), atol=1e-3)
    # CLIP's tokens reach H_{D->C} through the keys / values
    perturbed = dict(out, clip=out['clip'].clone())
    perturbed['clip'][:, 1:1 + N] += torch.randn(2, N, D)
    assert not torch.allclose(module(perturbed)['dino_to_clip'], feats['dino_to_clip'])


def test_attention_of_each_direction_is_over_the_other_encoders_tokens():
    block = FusionTransformer(D, 2, num_self_layers=1, mlp_ratio=2.0, qkv_bias=True, final_norm=True)
    q, ctx = torch.randn(2, N, D), torch.randn(2, 5, D)
    out, attn = block(q, ctx, return_attention=True)
    assert out.shape == (2, N, D) and attn.shape == (2, 2, N, 5)
    assert torch.allclose(attn.sum(-1), torch.ones(2, 2, N))


@pytest.mark.parametrize('reduction', ['mean', 'first'])
def test_token_reduction(reduction):
    module = fusion(token_reduction=reduction)
    out = outputs()
    a2b = module.transformers['dino_to_clip'](out['dino'][:, 1:1 + N], out['clip'][:, 1:1 + N])
    expected = a2b.mean(1) if reduction == 'mean' else a2b[:, 0]
    assert torch.allclose(module(out)['dino_to_clip'], expected, atol=1e-6)


def test_separate_weights_by_default_shared_by_switch():
    separate = fusion()
    assert separate.transformers['dino_to_clip'] is not separate.transformers['clip_to_dino']
    shared = fusion(share_weights=True)
    assert shared.transformers['dino_to_clip'] is shared.transformers['clip_to_dino']
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert count(separate) == 2 * count(shared)


@pytest.mark.parametrize('num_self_layers', [0, 1, 2])
def test_table6_layers(num_self_layers):
    module = fusion(num_self_layers=num_self_layers)
    for t in module.transformers.values():
        assert isinstance(t.cross, CrossAttentionBlock)
        assert len(t.self_layers) == num_self_layers and all(isinstance(b, Block) for b in t.self_layers)


def test_concat_is_the_reduced_tokens_without_parameters():
    module = fusion(fusion='concat', dims=dict(dino=D, clip=D))
    out = outputs()
    feats = module(out)
    assert sum(p.numel() for p in module.parameters()) == 0
    assert torch.allclose(feats['fused'], torch.cat([out['dino'][:, 1:1 + N].mean(1),
                                                     out['clip'][:, 1:1 + N].mean(1)], 1))


def test_bad_configs_name_the_problem():
    with pytest.raises(ValueError, match='equal token widths'):
        fusion(dims=dict(dino=D, clip=2 * D))
    with pytest.raises(ValueError, match='fusion must be one of'):
        fusion(fusion='sum')
    with pytest.raises(ValueError, match='num_tokens'):
        fusion(num_tokens=0)
    with pytest.raises(ValueError, match='expected encoder outputs'):
        fusion()(dict(dino=torch.zeros(1, 5, D)))
    with pytest.raises(ValueError, match=r"encoder 'clip' output must be"):
        fusion()(dict(dino=torch.zeros(1, 8, D), clip=torch.zeros(1, 2, D)))
