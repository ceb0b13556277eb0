"""The README's demo config (configs/demo/bot_r18_synthreid.py): a DG recipe on SynthReID A -> B."""
import os.path as osp

import torch
from reidengine.utils.config_knobs import read_config

from reidengine.registry import MODELS, TRANSFORMS
from reidengine.utils import register_all_modules
from reidengine.structures import ReIDDataSample

DEMO = osp.join(osp.dirname(__file__), '..', '..', 'configs', 'demo', 'bot_r18_synthreid.py')


def test_demo_trains_on_a_and_tests_the_unseen_style_first():
    cfg = read_config(DEMO)
    assert cfg.train_dataloader.dataset.type == 'SynthReID'
    assert cfg.train_dataloader.dataset.style == 'A'
    assert [d.dataset.style for d in cfg.test_dataloader] == ['B', 'A']
    assert all(d.dataset.split == 'test' for d in cfg.test_dataloader)


def test_demo_model_is_a_half_width_resnet18_ibn_a_with_a_256_d_feature():
    register_all_modules()
    cfg = read_config(DEMO)
    model = MODELS.build(cfg.model).eval()
    backbone = model.backbone
    assert backbone.depth == 18 and backbone.ibn == 'a'
    # IBN-a puts InstanceNorm into layer1-3, not layer4
    kinds = {name.split('.')[0]: type(m).__name__ for name, m in backbone.named_modules()
             if isinstance(m, torch.nn.InstanceNorm2d)}
    assert set(kinds) >= {'layer1', 'layer2', 'layer3'} and 'layer4' not in kinds
    params = sum(p.numel() for p in backbone.parameters())
    assert 2.5e6 < params < 3.0e6  # a quarter of ResNet-18's 11.2 M
    samples = [ReIDDataSample(metainfo=dict(pid=i % 2, camid=0)) for i in range(4)]
    inputs = [torch.randint(0, 256, (3, 128, 64), dtype=torch.uint8) for _ in range(4)]
    data = model.data_preprocessor(dict(inputs=inputs, data_samples=samples), False)
    out = model(**data, mode='predict')
    assert out[0].pred_feature.shape == (256,)


def test_demo_training_pipeline_builds_and_jitters_colour():
    register_all_modules()
    cfg = read_config(DEMO)
    types = [t['type'] for t in cfg.train_dataloader.dataset.pipeline]
    assert 'ColorJitter' in types and 'RandomGaussianBlur' in types
    for t in cfg.train_dataloader.dataset.pipeline:
        TRANSFORMS.build(t)


def test_demo_trains_on_800_identities_and_tests_on_the_default_sets():
    """The training set is A with 800 identities (its own folder: the default A stays for the other
    configs), the classifier has one output per identity, and both test sets are SynthReID's defaults
    (the B test set every SynthReID config reports)."""
    cfg = read_config(DEMO)
    train_gen = cfg.train_dataloader.dataset.gen_cfg
    assert train_gen == dict(num_train_ids=800)
    assert cfg.model.head.num_classes == train_gen['num_train_ids']
    assert all(d.dataset.gen_cfg == {} for d in cfg.test_dataloader)
    assert cfg.train_cfg.max_epochs == 5
