"""ResNetReID architecture: IBN-a normalisation, last stride, stages, freezing (no pretrained files here)."""
import pytest
import torch
from torch import nn

from reidengine.models.backbones.resnet import IBN, ResNetReID
from reidengine.registry import MODELS


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def _randomise_norms(model):
    """Non-trivial affine parameters and running statistics, so that misplaced norms show."""
    for m in model.modules():
        if isinstance(m, (nn.BatchNorm2d, nn.InstanceNorm2d)):
            with torch.no_grad():
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_(0, 0.2)
                if m.running_mean is not None:
                    m.running_mean.normal_(0, 0.2)
                    m.running_var.uniform_(0.5, 1.5)


def test_ibn_splits_instance_and_batch_norm_by_hand():
    ibn = IBN(6, ratio=1 / 3)  # 2 IN channels, 4 BN channels (the official torch.split(x, half) breaks here)
    _randomise_norms(ibn)
    ibn.train()
    x = torch.randn(3, 6, 5, 4) * 2 + 1
    out = ibn(x)

    a = x[:, :2]
    a_hat = (a - a.mean((2, 3), keepdim=True)) / torch.sqrt(a.var((2, 3), unbiased=False, keepdim=True) + 1e-5)
    expected_in = a_hat * ibn.IN.weight.view(1, -1, 1, 1) + ibn.IN.bias.view(1, -1, 1, 1)
    b = x[:, 2:]
    b_hat = (b - b.mean((0, 2, 3), keepdim=True)) / torch.sqrt(
        b.var((0, 2, 3), unbiased=False, keepdim=True) + 1e-5)
    expected_bn = b_hat * ibn.BN.weight.view(1, -1, 1, 1) + ibn.BN.bias.view(1, -1, 1, 1)

    torch.testing.assert_close(out[:, :2], expected_in, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(out[:, 2:], expected_bn, atol=1e-5, rtol=1e-5)


def test_ibn_rejects_a_ratio_leaving_an_empty_half():
    with pytest.raises(ValueError, match='ratio=1.0'):
        IBN(8, ratio=1.0)


@pytest.mark.parametrize('depth,num_ibn', [(18, 2 + 2 + 2), (50, 3 + 4 + 6)])
def test_ibn_a_replaces_first_norm_of_layer1_to_3_only(depth, num_ibn):
    model = ResNetReID(depth=depth, ibn='a')
    ibn_names = sorted(n for n, m in model.named_modules() if isinstance(m, IBN))
    assert len(ibn_names) == num_ibn
    assert all(n.split('.')[0] in ('layer1', 'layer2', 'layer3') and n.endswith('.bn1') for n in ibn_names)
    for blk in model.layer4:
        assert type(blk.bn1) is nn.BatchNorm2d
    # half of the channels of each first norm are instance-normalised
    assert model.layer3[0].bn1.IN.num_features == model.layer3[0].conv1.out_channels // 2


def test_resnet101_ibn_a_shapes_with_random_init():
    model = ResNetReID(depth=101, ibn='a', last_stride=1).eval()
    assert len(model.layer3) == 23
    assert sum(isinstance(m, IBN) for m in model.modules()) == 3 + 4 + 23
    with torch.no_grad():
        out = model(torch.randn(1, 3, 64, 32))
    assert out.shape == (1, 2048, 4, 2)
    assert model.out_channels == [2048]


def test_last_stride_one_doubles_the_final_map_and_skips_only_the_subsampling():
    s2 = ResNetReID(depth=50, last_stride=2).eval()
    s1 = ResNetReID(depth=50, last_stride=1).eval()
    _randomise_norms(s2)
    s1.load_state_dict(s2.state_dict())
    x = torch.randn(2, 3, 64, 32)
    with torch.no_grad():
        assert s2(x).shape == (2, 2048, 2, 1)
        assert s1(x).shape == (2, 2048, 4, 2)
        # a stride-2 conv (3x3, padding 1, or 1x1) samples the stride-1 output at even positions, and the
        # rest of a bottleneck is pointwise: the first layer4 block agrees on the even grid (float64: the
        # maps reach ~1e3 with randomised norms)
        s1.double(), s2.double()
        feat = s1.layer3(s1.layer2(s1.layer1(s1.stem(x.double()))))
        torch.testing.assert_close(s1.layer4[0](feat)[..., ::2, ::2], s2.layer4[0](feat), atol=1e-9, rtol=1e-9)


def test_reid_resolution_gives_16x8_maps():
    model = MODELS.build(dict(type='ResNetReID', depth=18, last_stride=1)).eval()
    with torch.no_grad():
        assert model(torch.randn(1, 3, 256, 128)).shape == (1, 512, 16, 8)


def test_out_indices_return_the_stages_in_order():
    model = ResNetReID(depth=50, out_indices=(0, 1, 2, 3)).eval()
    assert model.out_channels == [256, 512, 1024, 2048]
    x = torch.randn(2, 3, 64, 32)
    with torch.no_grad():
        outs = model(x)
        assert isinstance(outs, tuple) and len(outs) == 4
        assert [o.shape[1:] for o in outs] == [(256, 16, 8), (512, 8, 4), (1024, 4, 2), (2048, 4, 2)]
        # stage by stage through the exposed modules
        y = model.stem(x)
        for layer, out in zip((model.layer1, model.layer2, model.layer3, model.layer4), outs):
            y = layer(y)
            torch.testing.assert_close(out, y)
        two = ResNetReID(depth=50, out_indices=(2, 3)).eval()
        two.load_state_dict(model.state_dict())
        l3, l4 = two(x)
        torch.testing.assert_close(l3, outs[2])
        torch.testing.assert_close(l4, outs[3])
        assert two.out_channels == [1024, 2048]
        one = ResNetReID(depth=50, out_indices=(1,)).eval()
        one.load_state_dict(model.state_dict())
        torch.testing.assert_close(one(x), outs[1])


@pytest.mark.parametrize('kwargs,match', [
    (dict(depth=42), 'depth=42'),
    (dict(ibn='b'), "ibn='b'"),
    (dict(last_stride=3), 'last_stride=3'),
    (dict(out_indices=(3, 2)), 'out_indices'),
    (dict(out_indices=(4,)), 'out_indices'),
    (dict(frozen_stages=4), 'frozen_stages=4'),
    (dict(weights_format='timm'), "weights_format='timm'"),
])
def test_bad_arguments_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ResNetReID(**kwargs)


def _bn_stats(module):
    return {n: b.clone() for n, b in module.named_buffers() if 'running' in n}


def test_frozen_stages_get_no_gradients_and_keep_their_statistics():
    model = ResNetReID(depth=18, frozen_stages=1)
    model.train()
    frozen, trainable = [model.stem, model.layer1], [model.layer2, model.layer3, model.layer4]
    assert all(not p.requires_grad for m in frozen for p in m.parameters())
    assert all(p.requires_grad for m in trainable for p in m.parameters())
    assert not model.stem.bn1.training and not model.layer1[0].bn1.training
    assert model.layer2[0].bn1.training
    before = {'stem': _bn_stats(model.stem), 'layer1': _bn_stats(model.layer1), 'layer2': _bn_stats(model.layer2)}
    model(torch.randn(4, 3, 64, 32)).sum().backward()
    assert all(p.grad is None for m in frozen for p in m.parameters())
    assert all(p.grad is not None for m in trainable for p in m.parameters())
    for name, module in (('stem', model.stem), ('layer1', model.layer1)):
        for key, value in _bn_stats(module).items():
            torch.testing.assert_close(value, before[name][key], rtol=0, atol=0)
    assert not torch.equal(model.layer2[0].bn1.running_mean, before['layer2']['0.bn1.running_mean'])


def test_frozen_stage_zero_freezes_only_the_stem():
    model = ResNetReID(depth=18, frozen_stages=0)
    assert not any(p.requires_grad for p in model.stem.parameters())
    assert all(p.requires_grad for p in model.layer1.parameters())


def test_norm_eval_keeps_every_batch_norm_fixed_in_train_mode():
    model = ResNetReID(depth=18, ibn='a', norm_eval=True).train()
    before = _bn_stats(model)
    model(torch.randn(4, 3, 64, 32))
    after = _bn_stats(model)
    assert before.keys() == after.keys()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert model.layer1[0].bn1.IN.training  # InstanceNorm has no statistics to freeze


@pytest.mark.parametrize('depth', [18, 50])
def test_narrow_variant_keeps_the_layout_and_scales_every_width(depth):
    wide = ResNetReID(depth=depth, last_stride=1, out_indices=(0, 1, 2, 3))
    narrow = ResNetReID(depth=depth, last_stride=1, out_indices=(0, 1, 2, 3), base_channels=16)
    wide_sd, narrow_sd = wide.state_dict(), narrow.state_dict()
    assert list(wide_sd) == list(narrow_sd)  # same module names: checkpoints map the same way
    for key, w in wide_sd.items():
        n = narrow_sd[key]
        assert n.dim() == w.dim()
        if w.dim() == 4:  # conv weights: every width scaled by 16/64, the input image channels kept
            assert n.shape[0] * 4 == w.shape[0]
            assert n.shape[1] == (3 if key == 'stem.conv1.weight' else w.shape[1] // 4)
    assert narrow.out_channels == [c // 4 for c in wide.out_channels]
    outs = narrow(torch.randn(2, 3, 64, 32))
    assert [o.shape[1] for o in outs] == narrow.out_channels
    assert outs[-1].shape[-2:] == (4, 2)  # last stride 1: 1/16 of the input


def test_base_channels_must_be_a_usable_width():
    with pytest.raises(ValueError, match='base_channels=3'):
        ResNetReID(depth=18, base_channels=3)


def test_forward_stages_compose_to_the_full_forward():
    """Stage 0 = stem, 1..4 = layer1..4; a shared trunk + a branch equals the whole network."""
    torch.manual_seed(0)
    model = ResNetReID(depth=18, base_channels=8, out_indices=(2, 3)).eval()
    x = torch.randn(2, 3, 64, 32)
    layer3, layer4 = model(x)
    trunk = model.forward_stages(x, 0, 2)
    torch.testing.assert_close(model.forward_stages(trunk, 3, 3), layer3)
    torch.testing.assert_close(model.forward_stages(trunk, 3, 4), layer4)
    assert model.stage(0) is model.stem and model.stage(4) is model.layer4
    assert [model.out_channels_of(i) for i in range(5)] == [8, 8, 16, 32, 64]
    with pytest.raises(ValueError, match='first <= last'):
        model.forward_stages(x, 3, 1)
