"""The PAT experiment configs hold the paper's settings, and one of them trains end to end (tiny ViT,
tiny Market-1501 tree): the memory bank is filled, saved in the checkpoint and kept on resume."""
import glob
import os.path as osp

import cv2
import numpy as np
import pytest
import torch

import plugins.pat  # noqa: F401
from plugins.pat.hooks import PATMemoryBankHook
from reidengine.engine.runner.reid_runner import ReIDRunner
from reidengine.utils import register_all_modules
from reidengine.utils.config_knobs import read_config

CONFIG_DIR = osp.join(osp.dirname(__file__), '..', '..', '..', 'configs', 'pat')
CONFIGS = sorted(osp.basename(p) for p in glob.glob(osp.join(CONFIG_DIR, '*.py')))
# training identities of each train split (Market 751, Duke 702, MSMT17 1041, CUHK03-NP 767)
NUM_CLASSES = {
    'pat_market2duke.py': 751, 'pat_market2all.py': 751, 'vit_baseline_market2duke.py': 751,
    'pat_duke2market.py': 702, 'pat_duke2all.py': 702,
    'pat_mdc2ms.py': 751 + 702 + 767, 'pat_msmc2d.py': 1041 + 751 + 767,
    'pat_msdc2m.py': 1041 + 702 + 767, 'pat_msmd2c.py': 1041 + 751 + 702,
}
TEST_SETS = {
    'pat_market2duke.py': ['DukeMTMCreID'], 'vit_baseline_market2duke.py': ['DukeMTMCreID'],
    'pat_duke2market.py': ['Market1501'],
    'pat_market2all.py': ['DukeMTMCreID', 'MSMT17', 'CUHK03NP'],
    'pat_duke2all.py': ['Market1501', 'MSMT17', 'CUHK03NP'],
    'pat_mdc2ms.py': ['MSMT17'], 'pat_msmc2d.py': ['DukeMTMCreID'],
    'pat_msdc2m.py': ['Market1501'], 'pat_msmd2c.py': ['CUHK03NP'],
}


def by_type(pipeline, name):
    return [t for t in pipeline if t['type'] == name]


@pytest.mark.parametrize('name', [n for n in CONFIGS if n in NUM_CLASSES])
def test_config_has_the_paper_settings(name):
    cfg = read_config(osp.join(CONFIG_DIR, name))
    model = cfg.model
    assert model.head.num_classes == NUM_CLASSES[name]
    assert model.data_preprocessor.mean == [127.5] * 3 and model.data_preprocessor.std == [127.5] * 3
    backbone = model.backbone
    assert backbone.img_size == (256, 128) and backbone.stride_size == 16
    assert backbone.drop_path_rate == 0.1 and backbone.frozen_patch_embed
    if name.startswith('pat_'):
        assert model.type == 'PATModel' and len(model.part_attention.bands) == 3
        assert backbone.extra_token_init == 'cls'
        assert model.part_attention == dict(bands=[(0.0, 0.5), (0.25, 0.75), (0.5, 1.0)],
                                            visibility='paper', random_subregions=False)
        head = model.head
        assert head.memory_momentum == 0.1
        assert (head.csl_loss.k, head.csl_loss.form, head.csl_loss.scale) == (10, 'distance', 0.02)
        assert head.loss_cls == dict(type='PartGuidedSelfDistillation', alpha=0.5, lam=0.5,
                                    epsilon=0.1, loss_weight=1.0)
        assert head.loss_triplet.margin is None and head.loss_triplet.hard_mining
        assert [h.type for h in cfg.custom_hooks] == ['PATMemoryBankHook']
    else:
        assert model.type == 'ReIDModel' and cfg.custom_hooks == []
        assert model.head.loss_triplet.margin is None
    msmt_source = name in ('pat_msmc2d.py', 'pat_msdc2m.py', 'pat_msmd2c.py')
    optimizer = cfg.optim_wrapper.optimizer
    assert optimizer.type == 'SGD' and optimizer.momentum == 0.9 and optimizer.weight_decay == 1e-4
    assert optimizer.lr == (4e-4 if msmt_source else 1e-3)
    assert cfg.optim_wrapper.paramwise_cfg.bias_lr_mult == 2.0
    warmup, cosine = cfg.param_scheduler
    assert (warmup.type, warmup.begin, warmup.end) == ('LinearLR', 0, 10)
    # T_max unset: end - begin = 50 epochs of cosine, down to 0.002x the base lr
    assert (cosine.type, cosine.begin, cosine.end, cosine.get('T_max')) == ('CosineAnnealingLR', 10,
                                                                          60, None)
    assert cosine.eta_min_ratio == 0.002
    assert cfg.train_cfg.max_epochs == 60
    loader = cfg.train_dataloader
    assert loader.sampler.type == 'PKSampler' and loader.sampler.num_instances == 4
    assert loader.sampler.batch_size == 64
    pipeline = loader.dataset.pipeline
    assert by_type(pipeline, 'ReIDResize')[0]['size'] == (256, 128)
    assert by_type(pipeline, 'RandomFlip')[0]['prob'] == 0.5
    assert by_type(pipeline, 'PadRandomCrop')[0]['padding'] == 10
    assert by_type(pipeline, 'LocalGrayscale')[0]['prob'] == 0.5
    assert not by_type(pipeline, 'RandomErasing')
    assert [d.dataset.type for d in cfg.test_dataloader] == TEST_SETS[name]


def write_market_train(root, num_ids=4, per_id=4):
    folder = root / 'market1501' / 'bounding_box_train'
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for pid in range(1, num_ids + 1):
        for j in range(per_id):
            img = rng.integers(0, 256, (32, 16, 3), dtype=np.uint8)
            cv2.imwrite(str(folder / f'{pid:04d}_c{j % 3 + 1}s1_{j:06d}_00.png'), img)


def tiny_cfg(tmp_path, max_epochs, resume=False):
    cfg = read_config(osp.join(CONFIG_DIR, 'pat_market2duke.py'))
    cfg.model.backbone.update(arch=dict(embed_dim=32, depth=1, num_heads=2), img_size=(32, 16),
                              patch_size=4, stride_size=4)
    cfg.model.head.update(in_channels=32, num_classes=4)
    cfg.model.head.csl_loss.k = 3
    for pipeline in (cfg.train_dataloader.dataset.pipeline, cfg.custom_hooks[0].fill_pipeline):
        by_type(pipeline, 'ReIDResize')[0]['size'] = (32, 16)
    cfg.custom_hooks[0].update(batch_size=5, num_workers=0)
    cfg.train_dataloader.dataset.data_root = str(tmp_path / 'data')
    cfg.train_dataloader.update(batch_size=8, num_workers=0, persistent_workers=False)
    cfg.train_dataloader.sampler.batch_size = 8
    cfg.train_cfg.max_epochs = max_epochs
    cfg.test_dataloader = cfg.test_cfg = cfg.test_evaluator = None
    cfg.default_hooks.logger.interval = 1
    cfg.work_dir = str(tmp_path / 'work')
    cfg.resume = resume
    return cfg


def test_pat_market2duke_trains_saves_and_resumes_the_bank(tmp_path, monkeypatch):
    register_all_modules()
    write_market_train(tmp_path / 'data')
    runner = ReIDRunner.from_cfg(tiny_cfg(tmp_path, max_epochs=1))
    runner.train()
    bank = runner.model.memory_bank
    assert bank.is_initialized and bank.num_samples == 16
    saved = torch.load(osp.join(tmp_path, 'work', 'epoch_1.pth'), map_location='cpu',
                       weights_only=True)['state_dict']
    assert torch.equal(saved['head.memory_bank.features'], bank.features)
    assert bool(saved['head.memory_bank.initialized'])

    fills = []
    monkeypatch.setattr(PATMemoryBankHook, 'fill', lambda self, runner: fills.append(1))
    loaded = {}
    original = PATMemoryBankHook.before_train

    def spy(self, runner):  # the bank as the hook finds it after the resume
        loaded['features'] = runner.model.memory_bank.features.clone()
        original(self, runner)

    monkeypatch.setattr(PATMemoryBankHook, 'before_train', spy)
    resumed = ReIDRunner.from_cfg(tiny_cfg(tmp_path, max_epochs=2, resume=True))
    resumed.train()
    assert fills == []  # resumed: the saved bank is kept, not refilled
    assert torch.equal(loaded['features'], saved['head.memory_bank.features'])
    assert resumed.train_loop.epoch == 2


@pytest.mark.parametrize('name,model_type', [('pat_synthreid.py', 'PATModel'),
                                             ('vit_baseline_synthreid.py', 'ReIDModel')])
def test_synthreid_configs_build_a_working_small_model(name, model_type):
    """The SynthReID demo pair: same small ViT, same data; PAT adds part tokens and the bank."""
    from reidengine.registry import MODELS
    from reidengine.structures import ReIDDataSample
    register_all_modules()
    cfg = read_config(osp.join(CONFIG_DIR, name))
    assert cfg.train_dataloader.dataset.type == 'SynthReID'
    assert cfg.train_dataloader.dataset.style == 'A'
    assert [d.dataset.style for d in cfg.test_dataloader] == ['B', 'A']
    assert [h.type for h in cfg.custom_hooks] == (['PATMemoryBankHook'] if model_type == 'PATModel'
                                                  else [])
    model = MODELS.build(cfg.model).eval()
    assert type(model).__name__ == model_type
    samples = [ReIDDataSample(metainfo=dict(pid=0, camid=0)) for _ in range(2)]
    inputs = [torch.randint(0, 256, (3, 128, 64), dtype=torch.uint8) for _ in range(2)]
    data = model.data_preprocessor(dict(inputs=inputs, data_samples=samples), False)
    out = model(**data, mode='predict')
    assert out[0].pred_feature.shape == (128,)
