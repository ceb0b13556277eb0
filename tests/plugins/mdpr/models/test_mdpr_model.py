"""MDPRModel: shared stem and per-branch copies, feature sizes (Table I), switches, attention
guidance, the stop-gradient of eq. 8, attention maps, a bf16 training step."""
import copy

import pytest
import torch
from torch import nn

from reidengine.models.backbones import ResNetReID

IMG = (64, 32)


def params(module):
    return dict(module.named_parameters())


def test_shared_stem_is_one_module_and_branches_own_equal_copies(tmp_path, build_mdpr):
    torch.manual_seed(3)
    ref = ResNetReID(depth=18, base_channels=8, ibn='a', last_stride=1)
    path = tmp_path / 'tiny_r18_ibn.pth'
    torch.save(ref.state_dict(), path)
    model = build_mdpr(backbone=dict(type='ResNetReID', depth=18, base_channels=8, ibn='a', last_stride=1,
                                pretrained=str(path)))
    stems = [name for name, m in model.named_modules() if name.endswith('stem')]
    assert stems == ['backbone.stem']
    assert isinstance(model.backbone.layer3, nn.Identity) and isinstance(model.backbone.layer4, nn.Identity)
    for stage in ('layer3', 'layer4'):
        hard, soft = getattr(model.hard, stage), getattr(model.soft, stage)
        assert hard is not soft
        for name, value in getattr(ref, stage).state_dict().items():
            assert torch.equal(hard.state_dict()[name], value) and torch.equal(soft.state_dict()[name], value)
        for (_, p_h), (_, p_s) in zip(hard.named_parameters(), soft.named_parameters()):
            assert p_h.data_ptr() != p_s.data_ptr()
    with torch.no_grad():
        model.hard.layer3[0].conv1.weight.add_(1.0)
    assert not torch.equal(model.hard.layer3[0].conv1.weight, model.soft.layer3[0].conv1.weight)


def test_inference_feature_is_4608_d_for_m_512(build_mdpr):
    model = build_mdpr(embed_dim=512).eval()
    x = torch.randn(2, 3, *IMG)
    with torch.no_grad():
        out = model(x, mode='tensor')
        feats = model.extract_feat(x)
        expected = torch.cat([model.head.bn_feature(n, feats[n]) for n in
                              ('hard_global', 'hard_part1', 'hard_part2', 'soft_global5', 'soft_global4',
                               'fusion')], dim=1)
    assert out.shape == (2, 512 * 5 + 2048) == (2, 4608)
    torch.testing.assert_close(out, expected)
    assert 'bap5' not in feats  # BAP is not computed at inference


@pytest.mark.parametrize('kwargs,dim', [
    (dict(), 16 * 5 + 64),
    (dict(num_parts=3), 16 * 6 + 64),
    (dict(fusion=False), 16 * 5),
    (dict(branches=('hard',), fusion=False, distillation=False), 16 * 3),
    (dict(branches=('soft',), fusion=False, distillation=False), 16 * 2),
])
def test_test_feature_size_follows_the_switches(kwargs, dim, build_mdpr):
    model = build_mdpr(**kwargs).eval()
    with torch.no_grad():
        assert model(torch.randn(2, 3, *IMG), mode='tensor').shape == (2, dim)


def test_single_branch_refuses_fusion_and_distillation(build_mdpr):
    with pytest.raises(ValueError, match=r"fusion=True needs both branches.*set fusion=False"):
        build_mdpr(branches=('hard',), distillation=False)
    with pytest.raises(ValueError, match=r"distillation=True needs both branches"):
        build_mdpr(branches=('soft',), fusion=False)
    with pytest.raises(ValueError, match=r"branches=\('hard', 'top'\)"):
        build_mdpr(branches=('hard', 'top'))


def test_attention_guidance_changes_a4_and_not_a5(build_mdpr):
    model = build_mdpr().eval()
    x = torch.randn(2, 3, *IMG)
    before = model.attention_maps(x)
    with torch.no_grad():
        model.soft.guide[0].weight.mul_(-3.0).add_(0.5)
    after = model.attention_maps(x)
    torch.testing.assert_close(after['A5'], before['A5'])
    assert (after['A4'] - before['A4']).abs().max() > 1e-4
    unguided = build_mdpr(attention_guidance=False)
    assert not hasattr(unguided.soft, 'guide')
    assert unguided.soft.attn4.conv1.in_channels == model.soft.attn4.conv1.in_channels - 3


def test_attention_maps_shapes_and_content(build_mdpr):
    model = build_mdpr(num_attention=3).eval()
    maps = model.attention_maps(torch.randn(2, 3, *IMG))
    assert set(maps) == {'A5', 'A4'}
    for m in maps.values():
        assert m.shape == (2, 3, 4, 2)  # K maps on the 4 x 2 grid of layer3/layer4
        assert (m >= 0).all() and (m.sum(dim=1) <= 1 + 1e-6).all()  # < 1 up to fp32 rounding
        assert m.flatten(2).std(dim=2).max() > 0  # not a constant map
    with pytest.raises(ValueError, match='no soft branch'):
        build_mdpr(branches=('hard',), fusion=False, distillation=False).attention_maps(torch.randn(1, 3, *IMG))


def test_training_losses_of_equation_9(batch, build_mdpr):
    model = build_mdpr().train()
    inputs, data_samples = batch
    losses = model.loss(inputs, data_samples)
    main = ['hard_global', 'hard_part1', 'hard_part2', 'soft_global5', 'soft_global4', 'fusion']
    expected = {f'{n}_loss_{t}' for n in main for t in ('cls', 'triplet')}
    expected |= {'bap5_loss_cls', 'bap4_loss_cls', 'attn5_loss_diversity', 'attn4_loss_diversity',
                 'distill_loss'}
    assert expected == {k for k in losses if 'loss' in k}
    total = sum(v for k, v in losses.items() if 'loss' in k)
    assert torch.isfinite(total)
    total.backward()
    no_grad = [n for n, p in model.named_parameters() if p.requires_grad and p.grad is None]
    assert no_grad == []  # nothing unused (DDP without find_unused_parameters)


def test_pairwise_circle_form_has_no_classifier(batch, build_mdpr):
    model = build_mdpr(head=dict(circle_form='pairwise')).train()
    losses = model.loss(*batch)
    assert 'hard_global_loss_circle' in losses and 'bap4_loss_circle' in losses
    assert not any(k.endswith('loss_cls') for k in losses)
    assert 'bap4_loss_triplet' not in losses and 'fusion_loss_triplet' in losses


def test_switches_remove_their_losses(batch, build_mdpr):
    losses = build_mdpr(distillation=False, head=dict(diversity=None)).train().loss(*batch)
    assert 'distill_loss' not in losses and not any('diversity' in k for k in losses)
    losses = build_mdpr(fusion=False).train().loss(*batch)
    assert not any(k.startswith('fusion') for k in losses)


def test_stop_gradient_between_the_branches(batch, build_mdpr):
    """D(p_h, sg(z_s)) alone trains the hard branch only, D(p_s, sg(z_h)) the soft one only."""
    model = build_mdpr().train()
    inputs, _ = batch
    head = model.head
    for term, trained, untouched in ((0, model.hard, model.soft), (1, model.soft, model.hard)):
        model.zero_grad(set_to_none=True)
        feats = model.extract_feat(inputs)
        z_h = head.after_bn('hard_global', feats['hard_global'])
        z_s = head.after_bn('soft_global5', feats['soft_global5'])
        head.distillation.terms(z_h, z_s)[term].backward()
        grads = [p.grad for p in untouched.parameters()]
        assert all(g is None or g.abs().sum() == 0 for g in grads)
        assert sum(p.grad.abs().sum() for p in trained.parameters() if p.grad is not None) > 0
        predictor = head.distillation.predict_soft if term == 0 else head.distillation.predict_hard
        other = head.distillation.predict_hard if term == 0 else head.distillation.predict_soft
        assert all(p.grad is not None for p in predictor.parameters())
        assert all(p.grad is None for p in other.parameters())


def test_bf16_autocast_training_step_close_to_fp32(batch, build_mdpr):
    """Tolerance: the total within 3 %, each term within 15 % + 0.05 (bf16 keeps ~3 significant
    digits through the network; the s = 64 circle logits amplify feature differences; measured:
    total 1 %, worst term 12 %)."""
    model = build_mdpr().train()
    twin = copy.deepcopy(model)
    inputs, data_samples = batch
    fp32 = model.loss(inputs, data_samples)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        bf16 = twin.loss(inputs, data_samples)
    keys = [k for k in fp32 if 'loss' in k]
    for key in keys:
        assert bf16[key].dtype == torch.float32 and torch.isfinite(bf16[key]), key
        assert abs(bf16[key].item() - fp32[key].item()) <= 0.15 * abs(fp32[key].item()) + 0.05, key
    total32, total16 = sum(fp32[k] for k in keys), sum(bf16[k] for k in keys)
    assert abs(total16.item() - total32.item()) <= 0.03 * total32.item()
    total16.backward()
    assert all(torch.isfinite(p.grad).all() for p in twin.parameters() if p.grad is not None)


@pytest.mark.filterwarnings('ignore::torch.jit.TracerWarning', 'ignore::FutureWarning')
def test_tensor_mode_traces_with_a_dynamic_batch(build_mdpr):
    """No Python control flow on tensor values nor loops over the batch: a trace made at batch 2
    gives the eager result at batch 3 (what ONNX export needs)."""
    class TensorMode(nn.Module):
        def __init__(self, model):
            super().__init__()
            self.model = model

        def forward(self, x):
            return self.model(x, mode='tensor')

    model = build_mdpr().eval()
    with torch.no_grad():
        traced = torch.jit.trace(TensorMode(model), torch.randn(2, 3, *IMG), check_trace=False)
        x = torch.randn(3, 3, *IMG)
        torch.testing.assert_close(traced(x), model(x, mode='tensor'))
