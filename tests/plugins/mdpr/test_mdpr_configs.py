"""Every MDPR config builds (on the meta device: no memory, no time) and holds the paper's settings;
the 16 x 16 PK batches complete identities with fewer than 16 images by duplicates."""
import glob
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine import Config

import plugins.mdpr  # noqa: F401
from reidengine.datasets.samplers import PKSampler
from reidengine.registry import MODELS
from reidengine.utils import register_all_modules

CONFIG_DIR = osp.join(osp.dirname(__file__), '..', '..', '..', 'configs', 'mdpr')
CONFIGS = sorted(osp.basename(p) for p in glob.glob(osp.join(CONFIG_DIR, '*.py')))
FULL = {'mdpr_market1501.py': (751, ['Market1501'], 60, 2000, 40),
        'mdpr_dukemtmc.py': (702, ['DukeMTMCreID'], 60, 2000, 32),
        'mdpr_synergyreid.py': (436, ['SynergyReID'], 40, 200, 7),
        'mdpr_market2duke.py': (751, ['DukeMTMCreID', 'Market1501'], 60, 2000, 40)}
# test-feature size of each config: 512 x 5 + 2048 for the full model (Table I)
TEST_DIM = {'mdpr_synthreid.py': 32 * 5 + 128, 'mdpr_synthreid_hard_single.py': 32 * 3,
            'mdpr_synthreid_soft_single.py': 32 * 2, **{name: 4608 for name in FULL}}


def test_every_config_is_listed():
    assert set(CONFIGS) == set(TEST_DIM)


@pytest.mark.parametrize('name', CONFIGS)
def test_config_builds_and_gives_its_test_feature(name):
    register_all_modules()
    cfg = Config.fromfile(osp.join(CONFIG_DIR, name))
    assert cfg.custom_imports == dict(imports=['plugins.mdpr'], allow_failed_imports=False)
    with torch.device('meta'):
        model = MODELS.build(cfg.model).eval()
        feat = model(torch.empty(2, 3, *cfg.img_size), mode='tensor')
    assert feat.shape == (2, TEST_DIM[name])
    assert cfg.test_evaluator.metric == 'cosine'


@pytest.mark.parametrize('name', sorted(FULL))
def test_full_configs_have_the_paper_settings(name):
    num_classes, test_sets, epochs, warmup, cosine_begin = FULL[name]
    cfg = Config.fromfile(osp.join(CONFIG_DIR, name))
    model = cfg.model
    assert model.backbone == dict(type='ResNetReID', depth=101, ibn='a', last_stride=1, pretrained=None)
    assert (model.embed_dim, model.num_parts, model.num_attention) == (512, 2, 2)
    assert model.fusion and model.distillation and model.attention_guidance
    head = model.head
    assert head.num_classes == num_classes and head.circle == dict(scale=64.0, margin=0.35)
    assert head.loss_triplet == dict(type='TripletLoss', margin=0.05, hard_mining=True)
    assert head.diversity.beta == 0.001
    assert cfg.img_size == (384, 192)
    loader = cfg.train_dataloader
    assert loader.batch_size == 256 and loader.sampler == dict(type='PKSampler', num_instances=16,
                                                                batch_size=256)
    kinds = {t['type']: t for t in loader.dataset.pipeline}
    assert kinds['ReIDResize']['size'] == (384, 192) and kinds['RandomFlip']['prob'] == 0.5
    assert kinds['PadRandomCrop']['padding'] == 10
    assert kinds['RandomErasing']['prob'] == 0.5 and kinds['RandomPatch']['prob'] == 0.5
    assert [d.dataset.type for d in cfg.test_dataloader] == test_sets
    assert cfg.optim_wrapper.optimizer == dict(type='Adam', lr=3.5e-4, betas=(0.9, 0.999), weight_decay=5e-4)
    warm, cosine = cfg.param_scheduler
    assert (warm.type, warm.start_factor, warm.by_epoch, warm.end) == ('LinearLR', 0.1, False, warmup)
    assert (cosine.type, cosine.begin, cosine.end, cosine.T_max, cosine.eta_min) == (
        'CosineAnnealingLR', cosine_begin, epochs, epochs - cosine_begin, 1e-7)
    assert cfg.train_cfg.max_epochs == epochs


def test_16_by_16_batches_duplicate_small_identities():
    class Ids:
        pids = np.repeat(np.arange(20), [3] * 10 + [40] * 10)

        def __len__(self):
            return len(self.pids)

        def get_pids(self):
            return self.pids

    sampler = PKSampler(Ids(), num_instances=16, batch_size=256, seed=0)
    batch = sampler.plan(0)[0]  # (16 ids, 16 images)
    pids = Ids.pids[batch]
    assert batch.shape == (16, 16) and len(set(pids[:, 0])) == 16 and (pids == pids[:, :1]).all()
    small = [row for row, p in zip(batch, pids[:, 0]) if p < 10]
    assert small and all(len(set(row)) == 3 for row in small)  # 3 images completed to 16
