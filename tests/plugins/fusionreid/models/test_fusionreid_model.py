"""FusionReID model on tiny backbones: every intermediate's shape in both LRU modes, the six-feature
loss (eq. 12) against a direct computation, the test feature, batch size 1, attention maps, bf16
autocast, and the full-size parameter count against Table V (built on the meta device)."""
import os.path as osp

import pytest
import torch
import torch.nn.functional as F
from mmengine import Config

import plugins.fusionreid  # noqa: F401
from plugins.fusionreid.models import FEATURES
from reidengine.registry import MODELS
from reidengine.structures import ReIDDataSample
from reidengine.utils import register_all_modules

CONFIG_DIR = osp.join(osp.dirname(__file__), '..', '..', '..', '..', 'configs', 'fusionreid')
IMG = (64, 32)
# half-width... tiny: ResNet-18 at width 4 (32 channels, 4 x 2 map), ViT 16-d with 8x8 patches at
# stride 6 (a 10 x 5 grid), fusion width 16
CNN_C, CNN_GRID, VIT_C, VIT_GRID, DIM = 32, (4, 2), 16, (10, 5), 16


def tiny_cfg(lru_mode='resize', num_classes=5, **htm):
    features = dict(cnn=dict(in_channels=CNN_C), vit=dict(in_channels=VIT_C),
                    **{name: dict(in_channels=DIM) for name in FEATURES[2:]})
    return dict(
        type='FusionReIDModel',
        data_preprocessor=dict(type='ReIDDataPreprocessor', mean=(0, 0, 0), std=(1, 1, 1)),
        backbones=dict(
            cnn=dict(backbone=dict(type='ResNetReID', depth=18, base_channels=4, last_stride=1),
                     mean=(123.675, 116.28, 103.53), std=(58.395, 57.12, 57.375)),
            vit=dict(backbone=dict(type='ViTReID', arch=dict(embed_dim=VIT_C, depth=1, num_heads=2),
                                   img_size=IMG, patch_size=8, stride_size=6, sie_num_cams=3),
                     mean=(127.5,) * 3, std=(127.5,) * 3)),
        neck=dict(type='DualAttentionMutualFusion', cnn_channels=CNN_C, cnn_grid=CNN_GRID,
                  vit_channels=VIT_C, vit_grid=VIT_GRID, dim=DIM, lru_mode=lru_mode,
                  htm=dict(num_layers=2, num_heads=2, **htm)),
        head=dict(type='MultiFeatureHead', num_classes=num_classes, features=features,
                  defaults=dict(loss_triplet=dict(type='TripletLoss', margin=None)),
                  test_feat='before_bn', normalize_test=True))


def build(cfg=None, seed=0):
    register_all_modules()
    torch.manual_seed(seed)
    return MODELS.build(cfg or tiny_cfg())


def batch(n=6, seed=0, num_ids=3):
    g = torch.Generator().manual_seed(seed)
    inputs = torch.randint(0, 256, (n, 3, *IMG), generator=g).float()
    samples = [ReIDDataSample(metainfo=dict(pid=i % num_ids, camid=i % 3)) for i in range(n)]
    return inputs, samples


@pytest.mark.parametrize('lru_mode,lru_vit_grid', [('resize', CNN_GRID), ('no_resize', VIT_GRID)])
def test_shapes_of_every_intermediate(lru_mode, lru_vit_grid):
    model = build(tiny_cfg(lru_mode)).eval()
    inputs, samples = batch(2)
    outputs = model.backbone_outputs(inputs, samples)
    assert outputs['cnn'].shape == (2, CNN_C, *CNN_GRID)
    assert outputs['vit'].shape == (2, 1 + VIT_GRID[0] * VIT_GRID[1], VIT_C)
    inter = model.neck.forward_intermediates(outputs)
    n_cnn, n_vit = CNN_GRID[0] * CNN_GRID[1], lru_vit_grid[0] * lru_vit_grid[1]
    expected = dict(cnn_map=(2, CNN_C, *CNN_GRID), vit_map=(2, VIT_C, *VIT_GRID),
                    lru_cnn_map=(2, DIM, *CNN_GRID), lru_vit_map=(2, DIM, *lru_vit_grid),
                    lru_cnn_tokens=(2, n_cnn, DIM), lru_vit_tokens=(2, n_vit, DIM),
                    cnn=(2, CNN_C), vit=(2, VIT_C), lru_cnn=(2, DIM), lru_vit=(2, DIM),
                    htm_cnn=(2, DIM), htm_vit=(2, DIM))
    assert {k: tuple(v.shape) for k, v in inter.items()} == expected
    assert model.neck.lru_vit.kernel_size == ((7, 4) if lru_mode == 'resize' else (1, 1))
    # the ViT map is the patch tokens in row-major order; the cls token is f_t^hat
    torch.testing.assert_close(inter['vit_map'].flatten(2).transpose(1, 2), outputs['vit'][:, 1:])
    torch.testing.assert_close(inter['vit'], outputs['vit'][:, 0])
    assert model(inputs, samples, mode='tensor').shape == (2, CNN_C + 5 * DIM)


def direct_losses(head, feats, labels, squared=False):
    """Eq. 12 restated: sum over the six features of label-smoothed CE (eps 0.1) on the classifier
    logits of the BN feature (batch statistics) and the soft-margin batch-hard triplet on f."""
    total = 0
    for name in FEATURES:
        f, branch = feats[name], head.branches[name]
        bn = branch.bnneck
        z = (f - f.mean(0)) / (f.var(0, unbiased=False) + bn.eps).sqrt() * bn.weight + bn.bias
        logp = F.log_softmax(z @ branch.classifier.weight.t(), dim=1)
        c = logp.shape[1]
        q = 0.9 * F.one_hot(labels, c) + 0.1 / c
        ce = -(q * logp).sum(1).mean()
        d = ((f[:, None] - f[None]) ** 2).sum(-1)
        d = d if squared else d.clamp(min=1e-12).sqrt()
        same = labels[:, None] == labels[None]
        d_ap = torch.where(same, d, torch.full_like(d, -1e9)).max(1).values
        d_an = torch.where(~same, d, torch.full_like(d, 1e9)).min(1).values
        tri = torch.log1p(torch.exp(d_ap - d_an)).mean()  # eq. 11 (soft margin)
        total = total + ce + tri
    return total


@pytest.mark.parametrize('squared', [False, True])
def test_six_feature_loss_is_eq_12(squared):
    cfg = tiny_cfg()
    cfg['head']['defaults']['loss_triplet']['squared'] = squared
    model = build(cfg).train()
    g = torch.Generator().manual_seed(1)
    for branch in model.head.branches.values():  # non-trivial BN affines and classifiers
        branch.bnneck.weight.data.uniform_(0.5, 1.5, generator=g)
        branch.classifier.weight.data.normal_(0, 0.3, generator=g)
    inputs, samples = batch(6)
    feats = model.extract_feat(inputs, samples)
    losses = model.head.loss(feats, samples)
    names = sorted(k for k in losses if 'loss' in k)
    assert names == sorted(f'{n}_loss_{t}' for n in FEATURES for t in ('cls', 'triplet'))
    labels = torch.tensor([s.pid for s in samples])
    torch.testing.assert_close(sum(losses[k] for k in names),
                               direct_losses(model.head, feats, labels, squared), rtol=1e-4, atol=1e-4)


def test_test_feature_is_the_six_pre_bn_features_l2_normalised():
    model = build().eval()
    inputs, samples = batch(3)
    feats = model.extract_feat(inputs, samples)
    expected = F.normalize(torch.cat([feats[n] for n in FEATURES], dim=1), dim=1)
    torch.testing.assert_close(model(inputs, samples, mode='tensor'), expected)
    out = model(inputs, samples, mode='predict')
    torch.testing.assert_close(torch.stack([s.pred_feature for s in out]), expected)


def test_batch_size_one_in_training_and_testing():
    model = build().train()
    inputs, samples = batch(1)
    losses = model(inputs, samples, mode='loss')
    total = sum(v for k, v in losses.items() if 'loss' in k)
    assert torch.isfinite(total)
    total.backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad and p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)
    model.eval()
    inputs, samples = batch(3)
    together = model(inputs, samples, mode='tensor')
    alone = torch.cat([model(inputs[i:i + 1], samples[i:i + 1], mode='tensor') for i in range(3)])
    torch.testing.assert_close(alone, together, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize('order,kinds', [('seu_mfu', {'seu', 'mfu'}), ('mfu_only', {'mfu'})])
def test_attention_maps(order, kinds):
    model = build(tiny_cfg(order=order)).eval()
    inputs, samples = batch(2)
    maps = model.attention_maps(inputs, samples)
    grids = dict(seu_cnn=CNN_GRID, seu_vit=CNN_GRID, mfu_cnn=CNN_GRID, mfu_vit=CNN_GRID)
    assert set(maps) == {f'{k}{layer}_{b}' for k in kinds for layer in (1, 2) for b in ('cnn', 'vit')}
    for name, m in maps.items():
        assert m.shape == (2, 1, *grids[name[:3] + name[4:]])
        assert (m >= 0).all()
        total = m.sum(dim=(2, 3))
        if name.startswith('mfu'):  # a softmax over the other branch's local tokens
            torch.testing.assert_close(total, torch.ones(2, 1))
        else:  # the SEU global token also attends to itself, left out of the map
            assert (total < 1).all() and (total > 0.5).all()
        assert m.amax() - m.amin() > 1e-3  # not uniform
    per_head = model.attention_maps(inputs, samples, per_head=True)
    assert per_head['mfu2_cnn'].shape == (2, 2, *CNN_GRID)
    torch.testing.assert_close(per_head['mfu2_cnn'].mean(1, keepdim=True), maps['mfu2_cnn'])


def test_attention_maps_on_the_vit_grid_without_resizing():
    model = build(tiny_cfg('no_resize')).eval()
    maps = model.attention_maps(*batch(2))
    assert maps['seu1_vit'].shape == maps['mfu1_cnn'].shape == (2, 1, *VIT_GRID)
    assert maps['seu1_cnn'].shape == maps['mfu1_vit'].shape == (2, 1, *CNN_GRID)


def has_fast_bf16() -> bool:
    try:
        with open('/proc/cpuinfo') as f:
            flags = f.read()
    except OSError:
        return False
    return 'avx512_bf16' in flags or 'amx_bf16' in flags


@pytest.mark.skipif(not has_fast_bf16(), reason='no AVX512-BF16 / AMX: bf16 would be emulated (slow)')
def test_bf16_autocast_training_step_is_close_to_fp32():
    """Losses under torch.autocast('cpu', bf16) on the same batch and weights: finite and within
    5% (relative) of fp32 for each of the 12 terms."""
    model = build().train()
    inputs, samples = batch(6)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    fp32 = model(inputs, samples, mode='loss')
    model.load_state_dict(state)  # same BN statistics
    with torch.autocast('cpu', dtype=torch.bfloat16):
        bf16 = model(inputs, samples, mode='loss')
    total = sum(v for k, v in bf16.items() if 'loss' in k)
    assert torch.isfinite(total)
    total.backward()
    for key in (k for k in fp32 if 'loss' in k):
        assert bf16[key].dtype == torch.float32
        torch.testing.assert_close(bf16[key], fp32[key], rtol=0.05, atol=0.02, msg=key)


def test_neck_shapes_are_checked_against_the_backbones():
    cfg = tiny_cfg()
    cfg['neck']['vit_grid'] = (8, 4)
    with pytest.raises(ValueError, match='vit_grid'):
        build(cfg)
    cfg = tiny_cfg()
    cfg['neck']['cnn_grid'] = (3, 2)
    model = build(cfg).eval()
    with pytest.raises(ValueError, match='cnn_grid'):
        model(*batch(2), mode='tensor')


def count(module) -> int:
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize('name,released', [('fusionreid_msmt17_256_s12.py', False),
                                           ('fusionreid_msmt17_256_s12_released.py', True)])
def test_full_model_parameters_against_table_v(name, released):
    """Table V: 153.8 M for the whole model (MSMT17, 256x128, stride 12). Without the six classifiers
    (whose size depends on the dataset) the paper's model has 154.03 M; the released model (one SEU per
    branch, its LayerNorms, kernel-1 LRUs) 168.22 M."""
    register_all_modules()
    with torch.device('meta'):
        model = MODELS.build(Config.fromfile(osp.join(CONFIG_DIR, name)).model)
    classifiers = sum(count(b.classifier) for b in model.head.branches.values())
    assert classifiers == 1041 * (2048 + 5 * 768)
    total = count(model) - classifiers
    htm = count(model.neck.htm)
    if released:
        assert round(total / 1e6, 2) == 168.22 and htm == 2 * 4 * 7_087_104
    else:
        assert round(total / 1e6, 2) == 154.03 and abs(total / 1e6 - 153.8) < 0.3
        assert htm == 2 * (7_085_568 + 2 * 7_082_496)
        assert count(model.backbones['cnn']) == 23_508_032  # ResNet-50 without fc


def test_any_timm_cnn_as_the_cnn_branch():
    """Table VI swaps the backbones: here a timm MobileNetV3 (288 channels, last stride 1) with the ViT."""
    cfg = tiny_cfg()
    cfg['backbones']['cnn']['backbone'] = dict(type='TimmCNN', arch='mobilenetv3_small_050', last_stride=1)
    cfg['neck']['cnn_channels'] = 288
    cfg['head']['features']['cnn'] = dict(in_channels=288)
    model = build(cfg).eval()
    inputs, samples = batch(2)
    assert model(inputs, samples, mode='tensor').shape == (2, 288 + 5 * DIM)


def test_onnx_export_with_a_dynamic_batch(tmp_path):
    """``forward(mode='tensor')`` exports with a dynamic batch (camera embedding off: camera ids would
    be a second input) and ONNX Runtime gives the same features at other batch sizes."""
    ort = pytest.importorskip('onnxruntime')
    cfg = tiny_cfg()
    cfg['backbones']['vit']['backbone']['sie_num_cams'] = 0
    model = build(cfg).eval()

    class Features(torch.nn.Module):
        def __init__(self, net):
            super().__init__()
            self.net = net

        def forward(self, images):
            return self.net(images, None, mode='tensor')

    path = str(tmp_path / 'fusionreid.onnx')
    torch.onnx.export(Features(model).eval(), (torch.rand(2, 3, *IMG) * 255,), path, input_names=['images'],
                      output_names=['features'], opset_version=17, dynamo=False,
                      dynamic_axes={'images': {0: 'batch'}, 'features': {0: 'batch'}})
    session = ort.InferenceSession(path)
    for n in (1, 3):
        images = torch.rand(n, 3, *IMG) * 255
        out = session.run(None, {'images': images.numpy()})[0]
        torch.testing.assert_close(torch.from_numpy(out), model(images, None, mode='tensor'),
                                   rtol=1e-4, atol=1e-5)
