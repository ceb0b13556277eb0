"""AAformerModel on a tiny ViT: auto-alignment in every block with the checkpoint keys unchanged, the losses
of eq. 6-7 through MultiFeatureHead, the test feature, assignment records, attention maps, the Table IV
baselines and a bf16 autocast training step."""
import copy

import pytest
import torch

import plugins.aaformer  # noqa: F401
from plugins.aaformer.models import AutoAlignmentAttention
from reidengine.registry import MODELS
from reidengine.structures import ReIDDataSample
from reidengine.utils import register_all_modules

IMG = (64, 32)  # 8x8 patches: an 8 x 4 grid
DIM, NUM_CLASSES = 32, 4
TRIPLET = dict(type='TripletLoss', margin=0.3, hard_mining=True, loss_weight=1.0)


def model_cfg(attn_layer='ot', test_feat='after_bn', depth=2):
    attn = dict(type='AutoAlignmentAttention', granularities=[2, 3], assignment='optimal_transport',
                score='cosine', sinkhorn_eps=0.05, sinkhorn_iterations=3)
    if attn_layer == 'stripes':
        attn.update(assignment='stripes', grid_size=(8, 4))
    return dict(
        type='AAformerModel',
        data_preprocessor=dict(type='ReIDDataPreprocessor', mean=[127.5] * 3, std=[127.5] * 3, bgr_to_rgb=True),
        backbone=dict(type='ViTReID', arch=dict(embed_dim=DIM, depth=depth, num_heads=2), img_size=IMG,
                      patch_size=8, stride_size=8, num_extra_tokens=5, extra_token_init='random',
                      drop_path_rate=0.0, attn_layer=None if attn_layer is None else attn),
        neck=dict(type='PartTokenSplit', num_parts=5),
        head=dict(
            type='MultiFeatureHead', num_classes=NUM_CLASSES, reduction='mean',
            defaults=dict(classifier=dict(type='LinearClassifier', init_std=0.01),
                          loss_cls=dict(type='CrossEntropyLabelSmooth', epsilon=0.1), loss_triplet=None),
            features=dict(cls=dict(in_channels=DIM, loss_triplet=TRIPLET),
                          **{f'part_{i}': dict(in_channels=DIM) for i in range(1, 6)},
                          parts=dict(in_channels=5 * DIM, bnneck=False, classifier=None, loss_cls=None,
                                     loss_triplet=TRIPLET)),
            test_features=['cls'] + [f'part_{i}' for i in range(1, 6)], test_feat=test_feat),
        vis_layer=-1)


def build(**kwargs):
    register_all_modules()
    torch.manual_seed(0)
    return MODELS.build(model_cfg(**kwargs))


def batch(pids=(0, 0, 1, 1, 2, 2, 3, 3), seed=1):
    gen = torch.Generator().manual_seed(seed)
    inputs = torch.randn(len(pids), 3, *IMG, generator=gen)
    samples = [ReIDDataSample(metainfo=dict(pid=p, camid=0)) for p in pids]
    return inputs, samples


def test_every_block_auto_aligns_and_checkpoint_keys_are_the_plain_vits():
    model = build()
    assert all(isinstance(b.attn, AutoAlignmentAttention) for b in model.backbone.blocks)
    plain = build(attn_layer=None)
    assert model.backbone.state_dict().keys() == plain.backbone.state_dict().keys()
    model.backbone.load_state_dict(plain.backbone.state_dict())  # strict


def test_losses_are_eq6_and_eq7():
    model = build().train()
    inputs, samples = batch()
    losses = model.loss(inputs, samples)
    cls_keys = sorted(k for k in losses if k.endswith('_loss_cls'))
    tri_keys = sorted(k for k in losses if k.endswith('_loss_triplet'))
    assert cls_keys == sorted(['cls_loss_cls'] + [f'part_{i}_loss_cls' for i in range(1, 6)])
    assert tri_keys == ['cls_loss_triplet', 'parts_loss_triplet']
    # direct re-statement on the same features
    feats = model.extract_feat(inputs, samples)
    labels = torch.tensor([s.pid for s in samples])
    head = model.head
    ce = [head.branches[n].loss_cls(head.logits(n, feats[n], labels), labels) for n in ['cls'] + model.neck.names]
    torch.testing.assert_close(sum(losses[k] for k in cls_keys), sum(ce) / 6)
    tri = head.branches['cls'].loss_triplet(feats['cls'], labels) + \
        head.branches['parts'].loss_triplet(feats['parts'], labels)
    torch.testing.assert_close(sum(losses[k] for k in tri_keys), tri / 2)
    torch.testing.assert_close(feats['parts'], torch.cat([feats[n] for n in model.neck.names], 1))


@pytest.mark.parametrize('test_feat', ['after_bn', 'before_bn'])
def test_test_feature_is_cls_and_parts_concatenated(test_feat):
    model = build(test_feat=test_feat).eval()
    with torch.no_grad():  # non-trivial BN statistics
        for branch in model.head.branches.values():
            for m in branch.modules():
                if isinstance(m, torch.nn.BatchNorm1d):
                    m.running_mean.uniform_(-1, 1)
                    m.running_var.uniform_(0.5, 2)
    inputs, samples = batch()
    with torch.no_grad():
        out = model(inputs, samples, mode='tensor')
        feats = model.extract_feat(inputs, samples)
    names = ['cls'] + model.neck.names
    parts = [model.head.bn_feature(n, feats[n]) if test_feat == 'after_bn' else feats[n] for n in names]
    assert out.shape == (8, 6 * DIM)
    torch.testing.assert_close(out, torch.cat(parts, 1))


def test_gradients_reach_the_part_tokens():
    model = build().train()
    inputs, samples = batch()
    losses = model.loss(inputs, samples)
    sum(v for k, v in losses.items() if 'loss' in k).backward()
    grad = model.backbone.extra_tokens.grad
    assert grad is not None and (grad.abs().sum(-1) > 0).all()
    # no position embedding for the parts: it stays zero and frozen
    assert not model.backbone.extra_pos_embed.requires_grad and not model.backbone.extra_pos_embed.any()


def test_assignments_of_the_last_forward_and_attention_maps():
    model = build().eval()
    inputs, samples = batch()
    with torch.no_grad():
        model(inputs, samples, mode='tensor')
    records = model.part_assignments()
    assert sorted(records) == [0, 1]
    rec = records[1]
    assert rec.shape == (8, 2, 5, 8, 4) and rec.dtype == torch.bool
    assert (rec[:, :, :2].sum(2) == 1).all() and (rec[:, :, 2:].sum(2) == 1).all()
    maps = model.attention_maps(inputs)
    assert set(maps) == {'assignment', 'part_attention'}
    for value in maps.values():
        assert value.shape == (8, 5, 8, 4) and (value >= 0).all()
    assert maps['assignment'].std() > 0 and maps['part_attention'].std() > 0
    # the first group's maps of one head sum to 1 per patch; attention sums to 1 per part (mean of heads)
    torch.testing.assert_close(maps['assignment'][:, :2].sum(1), torch.ones(8, 8, 4))
    torch.testing.assert_close(maps['part_attention'].flatten(2).sum(-1), torch.ones(8, 5))


def test_stripes_and_six_cls_baselines():
    stripes = build(attn_layer='stripes').eval()
    inputs, samples = batch()
    with torch.no_grad():
        stripes(inputs, samples, mode='tensor')
    rec = stripes.part_assignments()[0][0, 0]  # (P, rows, cols)
    assert rec[0, :4].all() and not rec[0, 4:].any() and rec[4, 6:].all()
    six_cls = build(attn_layer=None).train()
    losses = six_cls.loss(inputs, samples)
    assert all(torch.isfinite(v) for v in losses.values())
    assert six_cls.part_assignments() == {}
    with pytest.raises(ValueError, match='auto-alignment'):
        six_cls.attention_maps(inputs)


def test_inconsistent_parts_are_refused():
    register_all_modules()
    cfg = model_cfg()
    cfg['neck']['num_parts'] = 4
    with pytest.raises(ValueError, match='PartTokenSplit'):
        MODELS.build(cfg)
    cfg = model_cfg()
    cfg['backbone']['attn_layer']['granularities'] = [2, 2]
    with pytest.raises(ValueError, match='granularities'):
        MODELS.build(cfg)
    cfg = model_cfg()
    del cfg['head']['features']['parts']
    with pytest.raises(ValueError, match='head features'):
        MODELS.build(cfg)


def test_bf16_autocast_training_step_is_finite_and_close_to_fp32():
    model = build().train()
    inputs, samples = batch()
    state = copy.deepcopy(model.state_dict())
    fp32 = model.loss(inputs, samples)
    model.load_state_dict(state)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        bf16 = model.loss(inputs, samples)
    total32 = sum(v for k, v in fp32.items() if 'loss' in k)
    total16 = sum(v for k, v in bf16.items() if 'loss' in k)
    assert all(torch.isfinite(v).all() for v in bf16.values())
    total16.backward()
    assert torch.isfinite(model.backbone.extra_tokens.grad).all()
    # bf16 has 8 mantissa bits; a few patches may change part near ties: 5% of the loss
    total16, total32 = float(total16.detach()), float(total32.detach())
    assert abs(total16 - total32) < 0.05 * total32, (total16, total32)
