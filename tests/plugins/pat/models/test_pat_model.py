"""PATModel on a tiny ViTReID: part-aware mask in the network, one training iteration, bank state."""
import pytest
import torch

import plugins.pat  # noqa: F401
from reidengine.registry import MODELS
from reidengine.utils import register_all_modules
from reidengine.structures import ReIDDataSample

IMG = (64, 32)  # with 4x4 patches: a 16 x 8 grid, bands rows 0-7, 4-11, 8-15


def build_model(depth=2, visibility='paper', random_subregions=False, num_classes=4, psd=True):
    register_all_modules()
    id_loss = dict(type='PartGuidedSelfDistillation', alpha=0.5, lam=0.5, epsilon=0.1) if psd \
        else dict(type='CrossEntropyLabelSmooth', epsilon=0.1)
    torch.manual_seed(0)
    return MODELS.build(dict(
        type='PATModel',
        data_preprocessor=dict(type='ReIDDataPreprocessor', mean=[127.5] * 3, std=[127.5] * 3,
                               bgr_to_rgb=True),
        backbone=dict(type='ViTReID', arch=dict(embed_dim=64, depth=depth, num_heads=2),
                      img_size=IMG, patch_size=4, stride_size=4,
                      extra_token_init='cls', drop_path_rate=0.1, frozen_patch_embed=True),
        part_attention=dict(visibility=visibility, random_subregions=random_subregions),
        head=dict(type='PATHead', in_channels=64, num_classes=num_classes,
                  memory_momentum=0.1, loss_cls=id_loss,
                  csl_loss=dict(type='CrossIDSimilarityLoss', k=3, scale=0.02))))


def patch_pixels(row, col):
    """Pixel slice of the 4x4 patch at grid (row, col)."""
    return slice(4 * row, 4 * row + 4), slice(4 * col, 4 * col + 4)


def test_part_token_only_sees_its_band_in_one_layer():
    """With one layer, a part token's output depends only on the image tokens of its band."""
    for visibility in ('paper', 'official'):
        model = build_model(depth=1, visibility=visibility).eval()
        x = torch.randn(1, 3, *IMG)
        base = model.extract_feat(x)
        for row, inside in ((12, (False, False, True)), (2, (True, False, False)),
                            (6, (True, True, False)), (9, (False, True, True))):
            y = x.clone()
            rs, cs = patch_pixels(row, 5)
            y[..., rs, cs] += 3.0
            out = model.extract_feat(y)
            for part in range(3):
                changed = not torch.allclose(out[0, 1 + part], base[0, 1 + part], atol=1e-6)
                assert changed == inside[part], (visibility, row, part)


@pytest.mark.parametrize('visibility,cls_sees_parts', [('paper', False), ('official', True)])
def test_cls_sees_part_tokens_only_in_official_mode(visibility, cls_sees_parts):
    model = build_model(depth=2, visibility=visibility).eval()
    x = torch.randn(2, 3, *IMG)
    base = model.extract_feat(x)
    with torch.no_grad():
        model.backbone.extra_tokens.add_(torch.randn_like(model.backbone.extra_tokens))
    out = model.extract_feat(x)
    assert (not torch.allclose(out[:, 0], base[:, 0], atol=1e-6)) == cls_sees_parts
    # image tokens see part tokens only in official mode too
    assert (not torch.allclose(out[:, 4:], base[:, 4:], atol=1e-6)) == cls_sees_parts


def test_random_subregions_only_in_training():
    model = build_model(random_subregions=True)
    fixed = build_model().attention_mask()
    model.eval()
    assert torch.equal(model.attention_mask(), fixed)
    model.train()
    torch.manual_seed(3)
    assert any(not torch.equal(model.attention_mask(), fixed) for _ in range(5))


def make_batch(pids, sample_idx):
    gen = torch.Generator().manual_seed(1)
    return dict(inputs=[torch.randint(0, 256, (3, *IMG), dtype=torch.uint8, generator=gen)
                        for _ in pids],
                data_samples=[ReIDDataSample(metainfo=dict(pid=p, camid=0, sample_idx=i))
                              for p, i in zip(pids, sample_idx)])


def fill_bank(model, num_samples=20):
    """Fill the bank directly (what PATMemoryBankHook does), pids i % 4."""
    gen = torch.Generator().manual_seed(2)
    model.memory_bank.resize(num_samples)
    model.memory_bank.fill(torch.randn(num_samples, 3, 64, generator=gen),
                           torch.arange(num_samples), torch.arange(num_samples) % 4)
    model.memory_bank.mark_initialized()


@pytest.mark.parametrize('psd', [True, False])
def test_one_training_iteration(psd):
    model = build_model(psd=psd)
    fill_bank(model)
    # a PK batch: 4 ids x 2 images (pid = sample_idx % 4, as in the bank)
    sample_idx = [0, 4, 1, 5, 2, 6, 3, 7]
    data = model.data_preprocessor(make_batch([i % 4 for i in sample_idx], sample_idx), True)
    before = model.memory_bank.features.clone()
    captured = {}

    def keep_tokens(module, args, out):  # returns None: the output is left as it is
        captured['tokens'] = out.detach()

    handle = model.backbone.register_forward_hook(keep_tokens)
    model.train()
    losses = model(**data, mode='loss')
    handle.remove()
    assert set(losses) == {'loss_id', 'loss_triplet', 'loss_csl', 'acc_id'}
    assert all(torch.isfinite(v) for v in losses.values())
    sum(v for k, v in losses.items() if k.startswith('loss')).backward()

    grad = model.backbone.extra_tokens.grad
    assert grad is not None and (grad.abs().sum(-1) > 0).all()  # each of the 3 part tokens
    assert not model.backbone.patch_embed.proj.weight.requires_grad
    assert model.backbone.patch_embed.proj.weight.grad is None

    # eq. 5 on exactly the part tokens of this forward pass
    parts = captured['tokens'][:, 1:4].transpose(0, 1)  # (P, B, D)
    expected = before.clone()
    expected[:, sample_idx] = 0.9 * before[:, sample_idx] + 0.1 * parts
    assert torch.allclose(model.memory_bank.features, expected, atol=1e-6)
    untouched = [i for i in range(20) if i not in sample_idx]
    assert torch.equal(model.memory_bank.features[:, untouched], before[:, untouched])


def test_loss_without_filled_bank_or_sample_idx_raises():
    model = build_model()
    data = model.data_preprocessor(make_batch([0, 0, 1, 1], [0, 1, 2, 3]), True)
    with pytest.raises(RuntimeError, match='PATMemoryBankHook'):
        model(**data, mode='loss')
    fill_bank(model)
    for s in data['data_samples']:
        del s.sample_idx
    with pytest.raises(KeyError, match='sample_idx'):
        model(**data, mode='loss')


def test_predict_returns_pre_bn_cls_and_flip():
    model = build_model().eval()
    data = model.data_preprocessor(make_batch([0, 1], [0, 1]), False)
    out = model(**data, mode='predict')
    expected = model.backbone(data['inputs'], attn_mask=model.attention_mask())[:, 0]
    assert torch.allclose(torch.stack([s.pred_feature for s in out]), expected, atol=1e-6)
    model.test_cfg = dict(flip=True)
    flipped = model.backbone(data['inputs'].flip(-1), attn_mask=model.attention_mask())[:, 0]
    out = model(**data, mode='predict')
    assert torch.allclose(torch.stack([s.pred_feature for s in out]), (expected + flipped) / 2,
                          atol=1e-6)


def test_bank_in_state_dict_round_trip_and_ignored_by_ddp():
    model = build_model()
    fill_bank(model)
    state = model.state_dict()
    assert set(model._ddp_params_and_buffers_to_ignore) == {
        'head.memory_bank.features', 'head.memory_bank.pids', 'head.memory_bank.initialized'}
    assert set(model._ddp_params_and_buffers_to_ignore) <= set(state)
    fresh = build_model()
    assert fresh.memory_bank.num_samples == 0
    fresh.load_state_dict(state)
    assert fresh.memory_bank.is_initialized
    assert torch.equal(fresh.memory_bank.features, model.memory_bank.features)
    assert torch.equal(fresh.memory_bank.pids, model.memory_bank.pids)


def test_part_count_follows_the_bands():
    """P is stated once, by the bands: the backbone's extra tokens and the head's parts follow."""
    register_all_modules()
    model = MODELS.build(dict(
        type='PATModel',
        backbone=dict(type='ViTReID', arch=dict(embed_dim=16, depth=1, num_heads=2),
                      img_size=IMG, patch_size=4, stride_size=4),
        part_attention=dict(bands=[(0.0, 0.6), (0.4, 1.0)]),
        head=dict(type='PATHead', in_channels=16, num_classes=2)))
    assert model.backbone.num_extra_tokens == 2 and model.head.num_parts == 2
    assert model.attention_mask().shape[0] == 1 + 2 + model.backbone.grid_size[0] * model.backbone.grid_size[1]


def test_contradicting_part_count_raises():
    register_all_modules()
    with pytest.raises(ValueError, match='backbone.num_extra_tokens=2 but part_attention.bands gives 3'):
        MODELS.build(dict(
            type='PATModel',
            backbone=dict(type='ViTReID', arch=dict(embed_dim=16, depth=1, num_heads=2),
                          img_size=IMG, patch_size=4, stride_size=4, num_extra_tokens=2),
            head=dict(type='PATHead', in_channels=16, num_classes=2)))
