"""DRFormerModel: one image, two encoders at their own resolution and normalisation (Sec. 4.1), N
learnable tokens with the camera embedding on the first (eq. 8-9), eq. 1-2 without [cls], attention
maps, the N = 1 path, gradient checkpointing and a bf16 autocast step."""
import pytest
import torch
import torch.nn.functional as F

import plugins.drformer  # noqa: F401
from reidengine.registry import MODELS
from reidengine.structures import ReIDDataSample
from reidengine.utils import register_all_modules

DINO_NORM = dict(mean=(123.675, 116.28, 103.53), std=(58.395, 57.12, 57.375))
CLIP_NORM = dict(mean=(122.77, 116.75, 104.09), std=(68.5, 66.63, 70.32))
DIM, CLASSES = 32, 4


def build(num_tokens=2, cls_token='masked', sizes=((126, 62), (128, 64)), sie_cams=3, depth=1,
          grad_checkpointing=False, seed=0):
    register_all_modules()
    torch.manual_seed(seed)
    (dino_size, clip_size) = sizes
    common = dict(arch=dict(embed_dim=DIM, depth=depth, num_heads=2), num_extra_tokens=num_tokens,
                  extra_token_init='random', sie_num_cams=sie_cams, sie_coef=1.0,
                  sie_target='first_extra_token', drop_path_rate=0.0, grad_checkpointing=grad_checkpointing)
    return MODELS.build(dict(
        type='DRFormerModel', cls_token=cls_token,
        data_preprocessor=dict(type='ReIDDataPreprocessor', mean=(0, 0, 0), std=(1, 1, 1)),
        backbones=dict(
            dino=dict(backbone=dict(type='DINOv2ReID', img_size=dino_size, **common), img_size=dino_size,
                      **DINO_NORM),
            clip=dict(backbone=dict(type='CLIPViTReID', img_size=clip_size, use_proj=False, **common),
                      img_size=clip_size, **CLIP_NORM)),
        neck=dict(type='DRFormerFusion', encoders=('dino', 'clip'), num_tokens=num_tokens,
                  dims=dict(dino=DIM, clip=DIM), num_heads=2, num_self_layers=1),
        head=dict(type='DRFormerHead', num_classes=CLASSES, in_channels=2 * DIM)))


def batch(size=(128, 64), n=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 3, *size, generator=g) * 255
    data = [ReIDDataSample(metainfo=dict(pid=i % CLASSES, camid=i % 3)) for i in range(n)]
    return x, data


def capture(model):
    """Each backbone's input and output of the next forward."""
    seen = {}
    for name, backbone in model.backbones.items():
        backbone.register_forward_hook(
            lambda m, args, out, name=name: seen.__setitem__(name, (args[0].detach(), out.detach())))
    return seen


def test_token_counts_and_shapes_at_the_paper_resolutions():
    model = build(sizes=((252, 126), (256, 128))).eval()
    seen = capture(model)
    x, data = batch(size=(256, 128), n=2)
    feats = model.extract_feat(x, data)
    assert model.backbones['dino'].grid_size == (18, 9) and model.backbones['clip'].grid_size == (16, 8)
    dino_in, dino_out = seen['dino']
    clip_in, clip_out = seen['clip']
    assert dino_in.shape == (2, 3, 252, 126) and clip_in.shape == (2, 3, 256, 128)
    assert dino_out.shape == (2, 1 + 2 + 18 * 9, DIM)  # [cls, T_1, T_2, 162 patches]
    assert clip_out.shape == (2, 1 + 2 + 16 * 8, DIM)  # [cls, T_1, T_2, 128 patches], 768-d in ViT-B
    assert feats['tokens_dino'].shape == feats['tokens_clip'].shape == (2, 2, DIM)
    assert feats['dino_to_clip'].shape == feats['clip_to_dino'].shape == (2, DIM)
    assert model(x, data, mode='tensor').shape == (2, 2 * DIM)


def test_each_encoder_receives_its_own_normalisation():
    model = build().eval()
    seen = capture(model)
    x, data = batch()
    model.extract_feat(x, data)
    view = lambda v: torch.tensor(v).view(1, 3, 1, 1)  # noqa: E731
    dino = F.interpolate(x, size=(126, 62), mode='bilinear', align_corners=False, antialias=False)
    assert torch.allclose(seen['dino'][0], (dino - view(DINO_NORM['mean'])) / view(DINO_NORM['std']), atol=1e-5)
    assert torch.allclose(seen['clip'][0], (x - view(CLIP_NORM['mean'])) / view(CLIP_NORM['std']), atol=1e-5)


@pytest.mark.parametrize('name', ['dino', 'clip'])
def test_camera_embedding_reaches_only_the_first_learnable_token(name):
    model = build()
    backbone = model.backbones[name]
    x = torch.randn(2, 3, *backbone.img_size)
    diff = (backbone.embed(x, camids=torch.tensor([0, 0])) - backbone.embed(x, camids=torch.tensor([1, 2])))
    changed = diff.abs().amax(dim=(0, 2)) > 0
    assert changed.nonzero().flatten().tolist() == [1]  # [cls, T_1 (+ SIE), T_2, patches]


@pytest.mark.parametrize('name', ['dino', 'clip'])
def test_masked_cls_is_the_sequence_without_cls(name):
    """eq. 1-2: with the mask, every output equals that of the same encoder run without [cls]."""
    model = build(depth=2).eval()
    backbone = model.backbones[name]
    with torch.no_grad():  # DINOv2's layer scale (1e-5) would hide every attention effect
        for key, param in backbone.named_parameters():
            if key.endswith('.gamma'):
                param.fill_(1.0)
    x, data = batch()
    inputs = model.encoder_images(x)[name]
    camids = torch.tensor([d.camid for d in data])
    masked = backbone(inputs, **model.backbone_kwargs(name, inputs, data))
    tokens = backbone.embed(inputs, camids)[:, 1:]
    for block in backbone.blocks:
        tokens = block(tokens)
    assert torch.allclose(masked[:, 1:], backbone.output(tokens), atol=1e-5)
    kept = build(depth=2, cls_token='kept').eval().backbones[name]
    kept.load_state_dict(backbone.state_dict())
    assert not torch.allclose(kept(inputs, camids=camids)[:, 1:], masked[:, 1:], atol=1e-4)


def test_attention_maps_of_the_learnable_tokens():
    model = build().eval()
    x, data = batch()
    maps = model.attention_maps(x, data)
    assert maps['dino_tokens'].shape == (8, 2, 9, 4) and maps['clip_tokens'].shape == (8, 2, 8, 4)
    for m in maps.values():
        assert (m >= 0).all()
        sums = m.sum(dim=(2, 3))  # the rest goes to [cls] (masked: none) and the learnable tokens
        assert ((sums > 0) & (sums <= 1 + 1e-5)).all()
        assert m.flatten(2).std(dim=2).min() > 0  # not uniform
    assert maps['dino_tokens'][0].shape == model.attention_maps(x)['dino_tokens'][0].shape  # no samples


def test_one_token_trains_without_the_intra_term():
    model = build(num_tokens=1).train()
    x, data = batch()
    losses = model(x, data, mode='loss')
    assert not any('intra' in k for k in losses)
    total = sum(v for k, v in losses.items() if 'loss' in k)
    total.backward()
    assert torch.isfinite(total)
    assert model.backbones['dino'].extra_tokens.grad.abs().sum() > 0


def test_gradient_checkpointing_gives_the_same_loss_and_gradients():
    results = []
    for ckpt in (False, True):
        model = build(depth=2, grad_checkpointing=ckpt).train()
        x, data = batch()
        losses = model(x, data, mode='loss')
        total = sum(v for k, v in losses.items() if 'loss' in k)
        total.backward()
        results.append((total.detach(), model.backbones['clip'].blocks[0].attn.qkv.weight.grad.clone()))
    assert torch.allclose(results[0][0], results[1][0], atol=1e-6)
    assert torch.allclose(results[0][1], results[1][1], atol=1e-6)


def test_mismatched_token_counts_are_refused():
    with pytest.raises(ValueError, match='num_extra_tokens=2 but neck.num_tokens=3'):
        register_all_modules()
        model = build()
        MODELS.build(dict(type='DRFormerModel', backbones=dict(
            dino=dict(backbone=dict(type='DINOv2ReID', arch=dict(embed_dim=DIM, depth=1, num_heads=2),
                                    img_size=(126, 62), num_extra_tokens=2), **DINO_NORM),
            clip=dict(backbone=dict(type='CLIPViTReID', arch=dict(embed_dim=DIM, depth=1, num_heads=2),
                                    img_size=(128, 64), num_extra_tokens=2, use_proj=False), **CLIP_NORM)),
            neck=dict(type='DRFormerFusion', num_tokens=3, dims=dict(dino=DIM, clip=DIM), num_heads=2),
            head=dict(type='DRFormerHead', num_classes=CLASSES, in_channels=2 * DIM)))
        del model


def _cpu_has_fast_bf16() -> bool:
    try:
        with open('/proc/cpuinfo') as f:
            flags = f.read()
    except OSError:
        return False
    return 'amx_bf16' in flags or 'avx512_bf16' in flags


@pytest.mark.skipif(not _cpu_has_fast_bf16(), reason='bf16 is emulated (very slow) without AVX512-BF16 / AMX')
def test_bf16_autocast_training_step_is_close_to_fp32():
    model = build(depth=2).train()
    x, data = batch()
    x = model.data_preprocessor(dict(inputs=list(x.to(torch.uint8)), data_samples=data), True)['inputs']
    torch.manual_seed(3)
    fp32 = model(x, data, mode='loss')
    with torch.autocast('cpu', dtype=torch.bfloat16):
        torch.manual_seed(3)
        bf16 = model(x, data, mode='loss')
    for key, value in fp32.items():
        if 'loss' not in key:
            continue
        assert torch.isfinite(bf16[key]) and bf16[key].dtype == torch.float32, key
        # bf16 keeps 8 bits of mantissa: 5% of the loss (plus 0.02 for terms near 0)
        assert abs(float(bf16[key].detach()) - float(value.detach())) <= 0.05 * abs(float(value.detach())) + 0.02, key
    total = sum(v for k, v in bf16.items() if 'loss' in k)
    total.backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)
