"""Configs of PAT's Tables 4-6 and the released-code reproductions: each builds its model (on the
meta device: no weights are allocated) with what its row changes and nothing else."""
import os.path as osp

import pytest
import torch

import plugins.pat  # noqa: F401
from reidengine.registry import MODELS, PARAM_SCHEDULERS
from reidengine.utils import register_all_modules
from reidengine.utils.config_knobs import read_config

CONFIG_DIR = osp.join(osp.dirname(__file__), '..', '..', '..', 'configs', 'pat')
TABLE4 = {'deit_tiny': 192, 'deit_small': 384, 'vit_small': 384, 'deit_base': 768}


def _build(cfg):
    register_all_modules()
    with torch.device('meta'):
        return MODELS.build(cfg.model)


@pytest.mark.parametrize('short,width', sorted(TABLE4.items()))
def test_table4_backbones(short, width):
    for prefix, model_type in (('pat_market2duke', 'PATModel'), ('vit_baseline_market2duke', 'ReIDModel')):
        cfg = read_config(osp.join(CONFIG_DIR, f'{prefix}_{short}.py'))
        model = _build(cfg)
        assert type(model).__name__ == model_type
        assert model.backbone.embed_dim == width and model.backbone.grid_size == (16, 8)
        timm_name = cfg.model.backbone.arch
        assert timm_name.startswith(short.replace('_', '_')) and timm_name.endswith('patch16_224')
        assert cfg.model.head.num_classes == 751


@pytest.mark.parametrize('parts', [2, 4, 5])
def test_table6_part_counts_follow_evenly_overlapping_bands(parts):
    cfg = read_config(osp.join(CONFIG_DIR, f'pat_market2duke_{parts}parts.py'))
    bands = cfg.model.part_attention.bands
    step = 1 / (parts + 1)
    assert len(bands) == parts and bands[0][0] == 0 and bands[-1][1] == pytest.approx(1)
    for (lo, hi), (lo2, _) in zip(bands, bands[1:]):
        assert hi - lo == pytest.approx(2 * step) and lo2 - lo == pytest.approx(step)
    model = _build(cfg)
    assert model.backbone.num_extra_tokens == parts and model.head.num_parts == parts


def test_released_reproduction_configs():
    pat = read_config(osp.join(CONFIG_DIR, 'pat_market2duke_released.py'))
    assert pat.model.part_attention.visibility == 'official' and pat.model.part_attention.random_subregions
    assert pat.model.head.loss_cls == dict(type='CrossEntropyLabelSmooth', epsilon=0.1)
    assert pat.custom_hooks == [dict(type='PATMemoryBankHook', fill_with='training_loader')]
    vit = read_config(osp.join(CONFIG_DIR, 'vit_baseline_market2duke_released.py'))
    assert vit.optim_wrapper.optimizer.lr == 0.008
    for cfg in (pat, vit):
        assert [s['type'] for s in cfg.train_dataloader.dataset.pipeline if s['type'] == 'LocalGrayscale'] == []
        assert [s['type'] for s in cfg.param_scheduler] == ['ReleasedPATCosineLR']
        assert PARAM_SCHEDULERS.get('ReleasedPATCosineLR') is not None
    assert type(_build(pat)).__name__ == 'PATModel'


def test_self_distillation_baseline_config():
    cfg = read_config(osp.join(CONFIG_DIR, 'vit_sd_market2duke.py'))
    model = _build(cfg)
    assert type(model).__name__ == 'BlockSelfDistillationModel' and model.blocks == list(range(12))
    assert (model.head.temperature, model.head.distill_weight) == (3.0, 0.5)
