"""Every AAformer config parses, holds the paper's settings and builds its model."""
import glob
import os.path as osp

import pytest
import torch
from mmengine import Config

import plugins.aaformer  # noqa: F401
from plugins.aaformer.models import AutoAlignmentAttention
from reidengine.registry import MODELS
from reidengine.utils import register_all_modules

CONFIG_DIR = osp.join(osp.dirname(__file__), '..', '..', '..', 'configs', 'aaformer')
CONFIGS = sorted(osp.basename(p) for p in glob.glob(osp.join(CONFIG_DIR, '*.py')))
SUPERVISED = {  # config -> (train dataset type, CUHK03 subset, test dataset type, training ids)
    'aaformer_market1501.py': ('Market1501', None, 'Market1501', 751),
    'aaformer_dukemtmc.py': ('DukeMTMCreID', None, 'DukeMTMCreID', 702),
    'aaformer_cuhk03_labeled.py': ('CUHK03NP', 'labeled', 'CUHK03NP', 767),
    'aaformer_cuhk03_detected.py': ('CUHK03NP', 'detected', 'CUHK03NP', 767),
    'aaformer_msmt17.py': ('MSMT17', None, 'MSMT17', 1041),
    'aaformer_occluded_duke.py': ('OccludedDuke', None, 'OccludedDuke', 702),
    'aaformer_market2duke.py': ('Market1501', None, 'DukeMTMCreID', 751),
    'aaformer_nn_msmt17.py': ('MSMT17', None, 'MSMT17', 1041),
    'aaformer_stripes_msmt17.py': ('MSMT17', None, 'MSMT17', 1041),
    'vit_6cls_msmt17.py': ('MSMT17', None, 'MSMT17', 1041),
}


def load(name):
    return Config.fromfile(osp.join(CONFIG_DIR, name))


def test_every_config_is_listed():
    assert set(CONFIGS) == set(SUPERVISED) | {'aaformer_synthreid.py', 'vit_baseline_synthreid.py'}


@pytest.mark.parametrize('name', sorted(SUPERVISED))
def test_supervised_configs_hold_the_paper_settings(name):
    cfg = load(name)
    train_type, subset, test_type, num_ids = SUPERVISED[name]
    assert cfg.custom_imports == dict(imports=['plugins.aaformer'], allow_failed_imports=False)
    model = cfg.model
    assert model.type == 'AAformerModel' and model.head.num_classes == num_ids
    backbone = model.backbone
    assert backbone.arch == 'vit_base_patch16_224' and backbone.img_size == (256, 128)
    assert backbone.patch_size == backbone.stride_size == 16 and backbone.sie_num_cams == 0
    assert backbone.num_extra_tokens == 5 and backbone.extra_token_init == 'random'
    attn = backbone.attn_layer
    if name == 'vit_6cls_msmt17.py':
        assert attn is None
    else:
        assert attn.granularities == [2, 3] and attn.sinkhorn_eps == 0.05 and attn.sinkhorn_iterations == 3
        assert attn.assignment == {'aaformer_nn_msmt17.py': 'nearest_neighbour',
                                   'aaformer_stripes_msmt17.py': 'stripes'}.get(name, 'optimal_transport')
    head = model.head
    assert head.type == 'MultiFeatureHead' and head.reduction == 'mean' and head.test_feat == 'after_bn'
    assert head.defaults.loss_cls == dict(type='CrossEntropyLabelSmooth', epsilon=0.1, loss_weight=1.0)
    assert head.features.cls.loss_triplet.margin == 0.3 and head.features.parts.loss_triplet.margin == 0.3
    assert head.features.parts.loss_cls is None and head.features.parts.in_channels == 5 * 768
    assert cfg.test_evaluator.metric == 'euclidean'
    # schedule: SGD 0.9 / 1e-4, warm-up 10 epochs 8e-4 -> 8e-3, cosine, 120 epochs, 16 x 4
    opt = cfg.optim_wrapper.optimizer
    assert (opt.type, opt.lr, opt.momentum, opt.weight_decay) == ('SGD', 8e-3, 0.9, 1e-4)
    warm, cosine = cfg.param_scheduler
    assert warm.type == 'LinearLR' and warm.start_factor == 0.1 and warm.end == 10
    assert cosine.type == 'CosineAnnealingLR' and (cosine.begin, cosine.end) == (10, 120)
    assert cfg.train_cfg.max_epochs == 120
    loader = cfg.train_dataloader
    assert loader.batch_size == 64 and loader.sampler.num_instances == 4
    steps = [t.type for t in loader.dataset.pipeline]
    assert {'RandomFlip', 'PadRandomCrop', 'RandomErasing'} <= set(steps)
    assert [t for t in loader.dataset.pipeline if t.type == 'RandomErasing'][0].prob == 0.5
    assert loader.dataset.type == train_type and cfg.test_dataloader[0].dataset.type == test_type
    if subset:
        assert loader.dataset.subset == subset == cfg.test_dataloader[0].dataset.subset


@pytest.mark.parametrize('name', CONFIGS)
def test_every_config_builds_its_model(name):
    """The real model at a tiny width (same tokens, grid and layers' settings), so the test stays fast."""
    register_all_modules()
    cfg = load(name)
    model_cfg = cfg.model.to_dict()
    backbone = model_cfg['backbone']
    if isinstance(backbone['arch'], str):
        backbone['arch'] = dict(embed_dim=64, depth=3, num_heads=4)
        head = model_cfg['head']
        if head['type'] == 'MultiFeatureHead':
            for feat in head['features'].values():
                feat['in_channels'] = 64 * 5 if feat is head['features']['parts'] else 64
    torch.manual_seed(0)
    model = MODELS.build(model_cfg).eval()
    attn = [b.attn for b in model.backbone.blocks]
    if backbone.get('attn_layer'):
        assert all(isinstance(a, AutoAlignmentAttention) for a in attn)
    x = torch.randn(2, 3, *backbone['img_size'])
    with torch.no_grad():
        out = model(x, mode='tensor')
    assert out.shape[0] == 2 and torch.isfinite(out).all()


@pytest.mark.slow
def test_market_config_builds_vit_b16():
    register_all_modules()
    model = MODELS.build(load('aaformer_market1501.py').model)
    assert model.backbone.grid_size == (16, 8) and len(model.backbone.blocks) == 12
    assert model.backbone.blocks[0].attn.num_heads == 12
    assert model.alignment_layers()[11].granularities == (2, 3)
