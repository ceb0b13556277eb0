"""Every FusionReID config parses and builds (full-size models on the meta device: no memory, no
time), its CNN map matches the neck's grid, and the paper's settings are in place."""
import glob
import os.path as osp

import pytest
import torch

import plugins.fusionreid  # noqa: F401
from reidengine.registry import MODELS
from reidengine.structures import ReIDDataSample
from reidengine.utils import register_all_modules
from reidengine.utils.config_knobs import read_config

CONFIG_DIR = osp.join(osp.dirname(__file__), '..', '..', '..', 'configs', 'fusionreid')
CONFIGS = sorted(osp.basename(p) for p in glob.glob(osp.join(CONFIG_DIR, '*.py')))
TABLE_I = sorted(n for n in CONFIGS if n.startswith('fusionreid_') and 'synthreid' not in n)
DATASETS = dict(market1501=('Market1501', 751, 6), dukemtmc=('DukeMTMCreID', 702, 8),
                msmt17=('MSMT17', 1041, 15))
GRIDS = {('256', '16'): ((16, 8), (16, 8)), ('256', '12'): ((16, 8), (21, 10)),
         ('384', '16'): ((24, 8), (24, 8)), ('384', '12'): ((24, 8), (31, 10))}


def by_type(pipeline, name):
    return [t for t in pipeline if t['type'] == name]


def test_every_table_i_row_has_a_config():
    for ds in DATASETS:
        for size, stride in GRIDS:
            assert f'fusionreid_{ds}_{size}_s{stride}.py' in CONFIGS


@pytest.mark.parametrize('name', TABLE_I)
def test_full_size_config_builds_with_the_paper_settings(name):
    register_all_modules()
    cfg = read_config(osp.join(CONFIG_DIR, name))  # as the tools read it (knobs resolved)
    parts = name[:-3].split('_')
    released = name.endswith('_released.py')
    train_ds = 'market1501' if name == 'fusionreid_market2duke.py' else parts[1]
    size, stride = ('256', '12') if name == 'fusionreid_market2duke.py' else (parts[2], parts[3][1:])
    dataset_type, num_ids, cams = DATASETS[train_ds]
    cnn_grid, vit_grid = GRIDS[(size, stride)]
    model = cfg.model
    vit = model.backbones.vit.backbone
    assert (vit.img_size, vit.stride_size, vit.patch_size) == ((int(size), 128), int(stride), 16)
    assert vit.sie_coef == 3.0
    assert vit.sie_num_cams == (0 if name == 'fusionreid_market2duke.py' else cams)
    assert model.backbones.cnn.backbone.last_stride == 1 and model.backbones.cnn.backbone.depth == 50
    assert (model.neck.cnn_grid, model.neck.vit_grid) == (cnn_grid, vit_grid)
    htm = model.neck.htm
    assert (htm.num_layers, htm.num_heads, model.neck.dim) == (2, 12, 768)
    assert (htm.order, htm.share_mfu) == ('seu_mfu', False)
    assert htm.share_seu is not released and htm.released_layer_norms is released
    assert model.neck.lru_mode == ('no_resize' if released else 'resize')
    head = model.head
    assert head.num_classes == num_ids and head.normalize_test and head.test_feat == 'before_bn'
    assert head.defaults.loss_triplet.margin is None and not head.defaults.loss_triplet.squared
    assert head.defaults.loss_cls.epsilon == 0.1
    # optimisation (sec. IV-B)
    optimizer = cfg.optim_wrapper.optimizer
    assert (optimizer.type, optimizer.momentum, optimizer.weight_decay, optimizer.lr) == ('SGD', 0.9, 1e-4, 5e-3)
    warmup, cosine = cfg.param_scheduler
    paper_schedule = not released and not name.endswith('_released_schedule.py')
    assert warmup.start_factor == (0.1 if paper_schedule else 0.01) and warmup.end == 10
    assert (cosine.begin, cosine.end, cosine.T_max, cosine.eta_min) == (10, 180, 170, 1e-5)
    assert cfg.train_cfg.max_epochs == 180
    loader = cfg.train_dataloader
    assert loader.batch_size == 128 and loader.sampler.num_instances == 16
    assert loader.dataset.type == dataset_type
    pipeline = loader.dataset.pipeline
    assert by_type(pipeline, 'ReIDResize')[0]['size'] == (int(size), 128)
    assert by_type(pipeline, 'RandomFlip')[0]['prob'] == 0.5
    assert by_type(pipeline, 'PadRandomCrop')[0]['padding'] == 10
    assert by_type(pipeline, 'RandomErasing')[0]['prob'] == 0.5
    test_type = 'DukeMTMCreID' if name == 'fusionreid_market2duke.py' else dataset_type
    assert [d.dataset.type for d in cfg.test_dataloader] == [test_type]
    assert by_type(cfg.test_dataloader[0].dataset.pipeline, 'ReIDResize')[0]['size'] == (int(size), 128)

    with torch.device('meta'):
        built = MODELS.build(model).eval()  # also checks the ViT grid against the neck
        cnn_map = built.backbones['cnn'](torch.zeros(2, 3, int(size), 128))
        assert tuple(cnn_map.shape[1:]) == (2048, *cnn_grid)
        tokens = torch.zeros(2, 1 + vit_grid[0] * vit_grid[1], 768)
        assert built.head(built.neck(dict(cnn=cnn_map, vit=tokens))).shape == (2, 5888)


@pytest.mark.parametrize('name', ['fusionreid_synthreid.py', 'r18_baseline_synthreid.py',
                                  'vit_baseline_synthreid.py'])
def test_synthreid_configs_build_small_models_that_run(name):
    register_all_modules()
    cfg = read_config(osp.join(CONFIG_DIR, name))  # as the tools read it (knobs resolved)
    assert cfg.train_dataloader.dataset.type == 'SynthReID' and cfg.train_dataloader.dataset.style == 'A'
    assert [d.dataset.style for d in cfg.test_dataloader] == ['A', 'B']
    model = MODELS.build(cfg.model)
    n_params = sum(p.numel() for p in model.parameters())
    assert n_params < 6e6  # CPU-sized
    samples = [ReIDDataSample(metainfo=dict(pid=i // 2, camid=i % 4)) for i in range(4)]
    size = tuple(t['size'] for t in cfg.test_dataloader[0].dataset.pipeline if t['type'] == 'ReIDResize')[0]
    inputs = [torch.randint(0, 256, (3, *size), dtype=torch.uint8) for _ in range(4)]
    data = model.data_preprocessor(dict(inputs=inputs, data_samples=samples), True)
    losses = model(**data, mode='loss')
    assert all(torch.isfinite(v) for v in losses.values())
    model.eval()
    dim = dict(fusionreid_synthreid=128 + 5 * 64, r18_baseline_synthreid=128,
               vit_baseline_synthreid=64)[name[:-3]]
    assert model(**model.data_preprocessor(dict(inputs=inputs, data_samples=samples), False),
                 mode='tensor').shape == (4, dim)
