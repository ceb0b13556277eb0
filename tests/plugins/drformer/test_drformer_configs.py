"""Every DRFormer config builds (with tiny encoders) and holds the paper's settings, plus the
CLIP-ReID second-stage recipe for what the paper leaves open; one config trains end to end on a tiny
Market-1501 tree and evaluates."""
import glob
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from mmengine import Config

import plugins.drformer  # noqa: F401
from reidengine.engine.runner.reid_runner import ReIDRunner
from reidengine.registry import MODELS
from reidengine.utils import register_all_modules

CONFIG_DIR = osp.join(osp.dirname(__file__), '..', '..', '..', 'configs', 'drformer')
CONFIGS = sorted(osp.basename(p) for p in glob.glob(osp.join(CONFIG_DIR, '*.py')))
TINY = dict(embed_dim=32, depth=1, num_heads=2)
# dataset config -> (train type, classes, SIE cameras)
SUPERVISED = {
    'drformer_market1501.py': ('Market1501', 751, 6),
    'drformer_msmt17.py': ('MSMT17', 1041, 15),
    'drformer_dukemtmc.py': ('DukeMTMCreID', 702, 8),
    'drformer_cuhk03np_labeled.py': ('CUHK03NP', 767, 2),
    'drformer_occluded_duke.py': ('OccludedDuke', 702, 8),
    'drformer_market2duke.py': ('Market1501', 751, 0),
}


def load(name):
    return Config.fromfile(osp.join(CONFIG_DIR, name))


def shrink(model_cfg):
    """Tiny encoders (same sizes, patches and tokens) so that every config builds in a moment."""
    if model_cfg.type == 'DRFormerModel':
        for enc in model_cfg.backbones.values():
            enc.backbone.arch = dict(TINY, init_values=None) if enc.backbone.type == 'DINOv2ReID' else dict(TINY)
            enc.backbone.pretrained = None
        model_cfg.neck.update(dims=dict(dino=32, clip=32), num_heads=2)
        model_cfg.head.in_channels = 64
    else:
        model_cfg.backbone.update(arch=dict(TINY), pretrained=None)
        model_cfg.head.in_channels = 32
    return model_cfg


@pytest.mark.parametrize('name', CONFIGS)
def test_every_config_builds(name):
    register_all_modules()
    cfg = load(name)
    model = MODELS.build(shrink(cfg.model))
    assert sum(p.numel() for p in model.parameters()) > 0
    assert cfg.train_dataloader.dataset.pipeline and cfg.test_dataloader


def by_type(pipeline, name):
    return [t for t in pipeline if t['type'] == name]


@pytest.mark.parametrize('name', sorted(SUPERVISED))
def test_paper_settings(name):
    cfg = load(name)
    train_type, classes, cams = SUPERVISED[name]
    model = cfg.model
    assert model.type == 'DRFormerModel' and model.cls_token == 'masked'
    assert model.data_preprocessor.mean == (0, 0, 0) and model.data_preprocessor.std == (1, 1, 1)
    dino, clip = model.backbones.dino, model.backbones.clip
    assert dino.img_size == dino.backbone.img_size == (252, 126) and dino.backbone.patch_size == 14
    assert clip.img_size == clip.backbone.img_size == (256, 128) and clip.backbone.patch_size == 16
    assert dino.backbone.arch == 'vit_base_patch14_dinov2' and clip.backbone.arch == 'ViT-B-16'
    assert dino.mean == (123.675, 116.28, 103.53) and clip.mean[0] == pytest.approx(122.770938)
    assert clip.backbone.use_proj is False  # 768-d tokens before CLIP's projection
    for enc in (dino, clip):
        b = enc.backbone
        assert b.num_extra_tokens == 2 and b.extra_token_init == 'random'
        assert b.sie_num_cams == cams and b.sie_target == 'first_extra_token' and b.sie_coef == 1.0
        assert b.drop_path_rate == 0.0 and b.grad_checkpointing is False
    neck = model.neck
    assert (neck.fusion, neck.num_self_layers, neck.num_tokens) == ('transformer', 2, 2)
    assert neck.share_weights is False and neck.token_reduction == 'mean'
    head = model.head
    assert head.num_classes == classes and head.in_channels == 1536
    assert head.loss_inter.loss_weight == 0.5 and head.loss_intra.loss_weight == 5.0  # lambda_1, lambda_2
    assert head.fused.loss_cls.epsilon == 0.1 and head.fused.loss_triplet.margin == 0.3
    assert head.fused.triplet_feat == 'before_bn'
    assert head.test_feat == 'before_bn' and head.normalize_test
    optimizer = cfg.optim_wrapper.optimizer
    assert (optimizer.type, optimizer.lr, optimizer.weight_decay) == ('Adam', 5e-6, 1e-4)
    assert cfg.optim_wrapper.paramwise_cfg.bias_lr_mult == 2.0
    warmup, steps = cfg.param_scheduler
    assert (warmup.type, warmup.start_factor, warmup.end) == ('LinearLR', 0.1, 10)
    assert (steps.type, steps.milestones, steps.gamma) == ('MultiStepLR', [30, 50], 0.1)
    assert cfg.train_cfg.max_epochs == 70
    loader = cfg.train_dataloader
    assert loader.batch_size == 64 and loader.sampler.num_instances == 4  # 16 ids x 4
    assert loader.dataset.type == train_type
    if train_type == 'CUHK03NP':
        assert loader.dataset.subset == 'labeled' and cfg.test_dataloader[0].dataset.subset == 'labeled'
    pipeline = loader.dataset.pipeline
    assert by_type(pipeline, 'ReIDResize')[0]['size'] == (256, 128)
    assert by_type(pipeline, 'RandomFlip')[0]['prob'] == 0.5
    assert by_type(pipeline, 'PadRandomCrop')[0]['padding'] == 10
    assert by_type(pipeline, 'RandomErasing')[0]['prob'] == 0.5
    test_types = [d.dataset.type for d in cfg.test_dataloader]
    assert test_types == (['DukeMTMCreID'] if name == 'drformer_market2duke.py' else [train_type])


def test_ablation_configs():
    concat = load('drformer_market1501_concat.py')
    assert concat.model.neck.fusion == 'concat'
    no_reg = load('drformer_market1501_no_reg.py').model
    assert no_reg.head.loss_inter is None and no_reg.head.loss_intra is None
    assert no_reg.backbones.dino.backbone.sie_num_cams == 0  # "intra off" drops SIE (Table 7)
    no_inter = load('drformer_market1501_no_inter.py').model
    assert no_inter.head.loss_inter is None and no_inter.head.loss_intra is not None
    no_intra = load('drformer_dukemtmc_no_intra.py').model
    assert no_intra.head.loss_intra is None and no_intra.backbones.clip.backbone.sie_num_cams == 0
    sie_only = load('drformer_dukemtmc_sie_only.py').model
    assert sie_only.head.loss_intra is None and sie_only.backbones.clip.backbone.sie_num_cams == 8
    n1 = load('drformer_market1501_n1.py').model
    assert n1.neck.num_tokens == 1 and n1.backbones.dino.backbone.num_extra_tokens == 1


@pytest.mark.parametrize('name', ['clip_baseline_market1501.py', 'dinov2_baseline_market1501.py'])
def test_single_encoder_baselines(name):
    cfg = load(name)
    model = cfg.model
    assert model.type == 'ReIDModel' and model.neck == dict(type='TokenSelect', index=0)
    assert model.head.loss_triplet.margin == 0.3 and model.head.loss_cls.epsilon == 0.1
    size = (256, 128) if name.startswith('clip') else (252, 126)
    assert model.backbone.img_size == size
    assert by_type(cfg.train_dataloader.dataset.pipeline, 'ReIDResize')[0]['size'] == size
    assert cfg.optim_wrapper.optimizer.lr == 5e-6 and cfg.train_cfg.max_epochs == 70


def write_market(root, num_ids=4, per_id=4):
    rng = np.random.default_rng(0)
    for folder, pids in (('bounding_box_train', range(1, num_ids + 1)), ('query', range(10, 13)),
                         ('bounding_box_test', range(10, 13))):
        path = root / 'market1501' / folder
        path.mkdir(parents=True)
        for pid in pids:
            for j in range(per_id if folder == 'bounding_box_train' else 2):
                cam = j % 3 + 1 if folder != 'query' else 1
                cam = cam + 1 if folder == 'bounding_box_test' else cam
                img = rng.integers(0, 256, (40, 20, 3), dtype=np.uint8)
                cv2.imwrite(str(path / f'{pid:04d}_c{cam}s1_{j:06d}_00.jpg'), img)


def test_market_config_trains_and_tests_end_to_end(tmp_path):
    register_all_modules()
    write_market(tmp_path / 'data')
    cfg = load('drformer_market1501.py')
    shrink(cfg.model)
    cfg.model.head.num_classes = 4
    # small images: 4 x 2 patches of 14 for "DINOv2" at 56x28, of 16 for "CLIP" at 64x32
    for enc, size in (('dino', (56, 28)), ('clip', (64, 32))):
        cfg.model.backbones[enc].img_size = cfg.model.backbones[enc].backbone.img_size = size
    for pipeline in (cfg.train_dataloader.dataset.pipeline, cfg.test_dataloader[0].dataset.pipeline):
        by_type(pipeline, 'ReIDResize')[0]['size'] = (64, 32)
    cfg.train_dataloader.dataset.data_root = str(tmp_path / 'data')
    cfg.train_dataloader.update(batch_size=8, num_workers=0, persistent_workers=False)
    cfg.train_dataloader.sampler.batch_size = 8
    cfg.test_dataloader[0].dataset.data_root = str(tmp_path / 'data')
    cfg.test_dataloader[0].update(batch_size=4, num_workers=0, persistent_workers=False)
    cfg.train_cfg.max_epochs = 1
    cfg.default_hooks.logger.interval = 1
    cfg.work_dir = str(tmp_path / 'work')
    runner = ReIDRunner.from_cfg(cfg)
    runner.train()
    metrics = runner.test()
    assert any('mAP' in k for k in metrics)
    assert osp.exists(osp.join(tmp_path, 'work', 'epoch_1.pth'))
    assert runner.model.backbones['dino'].extra_tokens.shape == (1, 2, 32)
    torch.testing.assert_close(runner.model.backbones['dino'].sie_embed.shape, torch.Size([6, 1, 32]))
