"""B+SD baseline: the block self-distillation term against a direct formula on a tiny ViT."""
import math

import pytest
import torch

import plugins.pat  # noqa: F401
from reidengine.registry import MODELS
from reidengine.structures import ReIDDataSample
from reidengine.utils import register_all_modules


def _model(blocks):
    register_all_modules()
    torch.manual_seed(0)
    return MODELS.build(dict(
        type='BlockSelfDistillationModel', blocks=blocks,
        data_preprocessor=dict(type='ReIDDataPreprocessor', mean=[127.5] * 3, std=[127.5] * 3),
        backbone=dict(type='ViTReID', arch=dict(embed_dim=16, depth=3, num_heads=2),
                      img_size=(16, 8), patch_size=4, stride_size=4, drop_path_rate=0.0),
        neck=dict(type='TokenSelect', index=0),
        head=dict(type='SelfDistillationHead', in_channels=16, num_classes=3, loss_triplet=None,
                  classifier=dict(type='LinearClassifier', init_std=0.5),
                  temperature=2.0, distill_weight=0.5)))


def test_distillation_term_against_direct_formula():
    model = _model(blocks=[1]).train()
    x = torch.randn(6, 3, 16, 8)
    samples = [ReIDDataSample(metainfo=dict(pid=p, camid=0)) for p in (0, 0, 1, 1, 2, 2)]
    losses = model.loss(x, samples)
    vit, head = model.backbone, model.head
    with torch.no_grad():
        tokens = vit.embed(x)
        outs = []
        for block in vit.blocks:
            tokens = block(tokens)
            outs.append(vit.norm(tokens)[:, 0])
        z = head.logits(outs[-1])
        zb = head.logits(outs[1])
    t, total = 2.0, 0.0
    for row, row_b in zip(z.tolist(), zb.tolist()):
        lz = math.log(sum(math.exp(v / t) for v in row))
        lb = math.log(sum(math.exp(v / t) for v in row_b))
        for v, vb in zip(row, row_b):
            total += math.exp(v / t - lz) * ((v / t - lz) - (vb / t - lb))
    expected = 0.5 * t * t * total / z.numel()
    assert losses['loss_sd'].item() == pytest.approx(expected, rel=1e-4)
    assert losses['loss_sd'].item() > 1e-3 and 'loss_cls' in losses
    # drawing the last block makes the two logits equal: no distillation signal
    last = _model(blocks=[2]).train()
    assert last.loss(x, samples)['loss_sd'].item() == pytest.approx(0.0, abs=1e-7)


def test_test_path_is_the_baseline_and_bad_blocks_are_named():
    model = _model(blocks=None).eval()
    out = model(torch.randn(2, 3, 16, 8), mode='tensor')
    assert out.shape == (2, 16)
    with pytest.raises(ValueError, match='blocks must be indices'):
        _model(blocks=[3])
