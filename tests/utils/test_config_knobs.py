"""The documented top-level knobs reach the dicts that use them, set either way: in a child config
that inherits them, or with ``--cfg-options`` (and ``--data-root``); dead options fail loudly."""
import argparse
import copy
import math
import os.path as osp

import cv2
import numpy as np
import pytest
import torch

from reidengine.registry import DATASETS, MODELS, PARAM_SCHEDULERS, TRANSFORMS
from reidengine.utils import register_all_modules
from reidengine.utils.config_knobs import CONFIG_KNOBS, read_config, resolve_config
from reidengine.utils.runner_utils import add_common_args, load_config

REPO = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
VIT = osp.join(REPO, 'configs', 'baselines', 'vit_base_market1501.py')  # SGD schedule base
DEMO = osp.join(REPO, 'configs', 'demo', 'bot_r18_synthreid.py')  # Adam schedule base
PAT_SYNTH = osp.join(REPO, 'configs', 'pat', 'pat_synthreid.py')
PAT_MULTI = osp.join(REPO, 'configs', 'pat', 'pat_mdc2ms.py')
# the plugins' SynthReID experiments (their own schedules) and the ImageNet demo
PLUGIN_SYNTH = [osp.join(REPO, 'configs', *parts) for parts in (
    ('aaformer', 'aaformer_synthreid.py'), ('drformer', 'drformer_synthreid.py'),
    ('fusionreid', 'fusionreid_synthreid.py'), ('mdpr', 'mdpr_synthreid.py'),
    ('demo', 'mobilenetv2_synthreid.py'))]


@pytest.fixture(autouse=True)
def registered():
    register_all_modules()


def tool_config(config, *argv):
    """The config as ``tools/train.py CONFIG ARGV`` sees it."""
    parser = argparse.ArgumentParser()
    parser.add_argument('config')
    add_common_args(parser)
    return load_config(parser.parse_args([str(config), *map(str, argv)]))


def child(tmp_path, base, body):
    path = tmp_path / 'child.py'
    path.write_text(f'_base_ = [{base!r}]\n' + body)
    return path


def datasets(cfg):
    out = [cfg.train_dataloader.dataset] if cfg.get('train_dataloader') else []
    return out + [loader.dataset for loader in cfg.test_dataloader]


def lr_curve(cfg, epoch_length=2):
    """lr at every iteration of ``cfg``'s schedule, built as the runner builds it."""
    param = torch.nn.Parameter(torch.zeros(1))
    opt_cfg = cfg.optim_wrapper.optimizer
    optimizer = getattr(torch.optim, opt_cfg.type)([param], lr=opt_cfg.lr)
    schedulers = []
    for sched in copy.deepcopy(cfg.param_scheduler):
        cls = PARAM_SCHEDULERS.get(sched.pop('type'))
        sched.pop('convert_to_iter_based')
        schedulers.append(cls.build_iter_from_epoch(optimizer, epoch_length=epoch_length, **sched))
    lrs = []
    for _ in range(cfg.train_cfg.max_epochs * epoch_length):
        lrs.append(optimizer.param_groups[0]['lr'])
        optimizer.step()
        for sched in schedulers:
            sched.step()
    return lrs


# ------------------------------------------------------------------------------- schedule knobs
SCHEDULE = 'max_epochs = 30\nwarmup_epochs = 3\nbase_lr = 0.02\n'
SCHEDULE_OPTIONS = ('--cfg-options', 'max_epochs=30', 'warmup_epochs=3', 'base_lr=0.02')


@pytest.mark.parametrize('base', [VIT, DEMO] + PLUGIN_SYNTH)
@pytest.mark.parametrize('way', ['child config', 'cfg-options'])
def test_schedule_follows_max_epochs_warmup_and_base_lr(tmp_path, base, way):
    cfg = tool_config(child(tmp_path, base, SCHEDULE)) if way == 'child config' else \
        tool_config(base, *SCHEDULE_OPTIONS)
    assert cfg.train_cfg.max_epochs == 30
    warmup, decay = cfg.param_scheduler
    assert (warmup.end, decay.begin, decay.end) == (3, 3, 30)
    assert cfg.optim_wrapper.optimizer.lr == 0.02
    lrs = lr_curve(cfg)
    assert len(lrs) == 60  # 30 epochs of 2 iterations
    assert lrs[6] == pytest.approx(0.02)  # warm-up over after 3 epochs, at the base lr
    # a cosine over the 27 x 2 iterations after the warm-up, ending at epoch 30
    low, steps = 0.02 * decay.eta_min_ratio, 27 * 2
    for i in (20, 40, 59):
        expected = low + (0.02 - low) * (1 + math.cos(math.pi * (i - 6) / steps)) / 2
        assert lrs[i] == pytest.approx(expected, rel=1e-4)


def test_a_literal_in_a_dict_wins_over_the_knob(tmp_path):
    cfg = tool_config(VIT, '--cfg-options', 'max_epochs=30', 'train_cfg.max_epochs=2')
    assert cfg.train_cfg.max_epochs == 2 and cfg.param_scheduler[1].end == 30
    cfg = tool_config(child(tmp_path, VIT, 'optim_wrapper = dict(optimizer=dict(lr=0.5))\n'))
    assert cfg.optim_wrapper.optimizer.lr == 0.5


# ----------------------------------------------------------------------------------- img_size
@pytest.mark.parametrize('way', ['child config', 'cfg-options'])
def test_img_size_reaches_the_pipelines_and_the_vit(tmp_path, way):
    cfg = tool_config(child(tmp_path, PAT_SYNTH, 'img_size = (64, 32)\n')) \
        if way == 'child config' else tool_config(PAT_SYNTH, '--cfg-options', 'img_size=(64,32)')
    pipelines = [d.pipeline for d in datasets(cfg)] + [cfg.custom_hooks[0].fill_pipeline]
    for pipeline in pipelines:
        resize = TRANSFORMS.build([t for t in pipeline if t['type'] == 'ReIDResize'][0])
        out = resize(dict(img=np.zeros((128, 64, 3), np.uint8)))
        assert out['img'].shape[:2] == (64, 32)
    model = MODELS.build(cfg.model)
    assert model.backbone.grid_size == (4, 2)  # 64x32 in 16x16 patches


def test_img_size_reaches_the_demo_pipelines(tmp_path):
    cfg = tool_config(child(tmp_path, DEMO, 'img_size = (96, 48)\n'))
    for dataset in datasets(cfg):
        assert [t['size'] for t in dataset.pipeline if t['type'] == 'ReIDResize'] == [(96, 48)]


# --------------------------------------------------------------------------------- pretrained
@pytest.mark.parametrize('config', [DEMO, VIT, PAT_SYNTH])
def test_pretrained_reaches_the_backbone(tmp_path, config):
    missing = str(tmp_path / 'weights' / 'backbone.pth')
    for cfg in (tool_config(child(tmp_path, config, f'pretrained = {missing!r}\n')),
                tool_config(config, '--cfg-options', f'pretrained={missing}')):
        assert cfg.model.backbone.pretrained == missing
    with pytest.raises(FileNotFoundError, match='backbone.pth'):
        MODELS.build(tool_config(DEMO, '--cfg-options', f'pretrained={missing}').model)


def test_the_demo_backbone_is_from_scratch_by_default():
    assert tool_config(DEMO).model.backbone.pretrained is None


# ---------------------------------------------------------------------------------- data_root
def write_market(root, ids=(1, 2), cams=(1, 2)):
    for split in ('bounding_box_train', 'query', 'bounding_box_test'):
        folder = root / 'market1501' / split
        folder.mkdir(parents=True)
        for pid in ids:
            for cam in cams:
                cv2.imwrite(str(folder / f'{pid:04d}_c{cam}s1_000001_00.jpg'),
                            np.zeros((8, 4, 3), np.uint8))
    return root


@pytest.mark.parametrize('way', ['child config', 'cfg-options', '--data-root'])
def test_data_root_fills_every_dataset_and_the_datasets_build_from_it(tmp_path, way):
    root = str(write_market(tmp_path / 'data'))
    cfg = {'child config': lambda: tool_config(child(tmp_path, VIT, f'data_root = {root!r}\n')),
           'cfg-options': lambda: tool_config(VIT, '--cfg-options', f'data_root={root}'),
           '--data-root': lambda: tool_config(VIT, '--data-root', root)}[way]()
    assert [d.data_root for d in datasets(cfg)] == [root, root]
    train = DATASETS.build(cfg.train_dataloader.dataset)
    assert str(train.root) == root and len(train) == 4


def test_data_root_reaches_multi_source_sources_and_wrapped_datasets(tmp_path):
    cfg = tool_config(PAT_MULTI, '--data-root', '/data')
    sources = cfg.train_dataloader.dataset.datasets
    assert [s.data_root for s in sources] == ['/data'] * 3
    assert cfg.test_dataloader[0].dataset.data_root == '/data'
    body = ("train_dataloader = dict(dataset=dict(type='ConcatDataset', _delete_=True, datasets=[\n"
            "    dict(type='Market1501', split='train'),\n"
            "    dict(type='MultiSourceDataset', data_root='/own', datasets=[\n"
            "        dict(type='DukeMTMCreID'), dict(type='MSMT17', data_root='/msmt')]),\n"
            "    dict(type='RepeatDataset', times=2, dataset=dict(type='CUHK03NP'))]))\n")
    cfg = tool_config(child(tmp_path, VIT, body), '--data-root', '/data')
    market, multi, repeat = cfg.train_dataloader.dataset.datasets
    assert market.data_root == '/data' and 'data_root' not in cfg.train_dataloader.dataset
    assert multi.data_root == '/own'  # a root of its own is kept, and reaches its sources
    assert [s.data_root for s in multi.datasets] == ['/own', '/msmt']
    assert repeat.dataset.data_root == '/data' and 'data_root' not in repeat


def test_without_a_data_root_the_datasets_keep_none():
    # None: the dataset resolves $REID_DATA_ROOT, else data/ in the repository
    assert [d.data_root for d in datasets(tool_config(VIT))] == [None, None]


# ------------------------------------------------------------------------ options and errors
def test_dead_and_unknown_options_fail_loudly(tmp_path):
    with pytest.raises(ValueError, match=r'train_batch_size.*substituted.*changes nothing'):
        tool_config(VIT, '--cfg-options', 'train_batch_size=32')
    with pytest.raises(ValueError, match=r'max_epoch: no component reads.*did you mean max_epochs'):
        tool_config(VIT, '--cfg-options', 'max_epoch=5')
    # a knob that nothing in this config refers to any more is dead too
    constant = child(tmp_path, VIT, "param_scheduler = [dict(type='ConstantLR', factor=1.0)]\n")
    with pytest.raises(ValueError, match='warmup_epochs.*changes nothing'):
        tool_config(constant, '--cfg-options', 'warmup_epochs=3')
    tool_config(constant, '--cfg-options', 'max_epochs=3')  # still live (train_cfg)


def test_a_reference_to_an_undefined_setting_names_the_key(tmp_path):
    from mmengine.config import Config
    cfg = Config(dict(model=dict(backbone=dict(img_size='${img_szie}'))))
    with pytest.raises(KeyError, match=r'model\.backbone\.img_size .*"img_szie"'):
        resolve_config(cfg)


def test_read_config_equals_the_tools_view():
    tools, read = tool_config(DEMO), read_config(DEMO)
    for key in ('model', 'train_dataloader', 'test_dataloader', 'param_scheduler', 'train_cfg'):
        assert read[key] == tools[key]


def test_every_knob_is_documented():
    docs = open(osp.join(REPO, 'docs', 'configs.md')).read()
    for knob in CONFIG_KNOBS:
        assert f'`{knob}`' in docs


def test_the_runner_built_by_the_tools_follows_the_knobs(tmp_path):
    """End to end through the tools' set-up: the runner's loop, optimizer and schedulers."""
    from reidengine.utils.runner_utils import build_runner
    root = str(write_market(tmp_path / 'data', ids=(1, 2, 3, 4)))
    body = (f'max_epochs = 7\nwarmup_epochs = 2\nbase_lr = 0.05\n'
            "img_size = (32, 16)\n"
            "model = dict(backbone=dict(arch=dict(embed_dim=16, depth=1, num_heads=2,\n"
            "                                     _delete_=True), patch_size=8, stride_size=8),\n"
            "             head=dict(in_channels=16, num_classes=4))\n"
            "train_dataloader = dict(batch_size=8, num_workers=0, persistent_workers=False,\n"
            "                        sampler=dict(num_instances=2, batch_size=8))\n"
            "test_dataloader = None\ntest_evaluator = None\ntest_cfg = None\n")
    cfg = tool_config(child(tmp_path, VIT, body), '--data-root', root, '--work-dir',
                      tmp_path / 'work', '--cfg-options', 'max_epochs=6')
    runner = build_runner(cfg)
    loop = runner.build_train_loop(runner._train_loop)
    assert loop.max_epochs == 6
    assert str(loop.dataloader.dataset.root) == root
    assert loop.dataloader.dataset[0]['inputs'].shape[1:] == (32, 16)
    runner.optim_wrapper = runner.build_optim_wrapper(runner.optim_wrapper)
    assert runner.optim_wrapper.optimizer.defaults['lr'] == 0.05
    warmup, cosine = runner.build_param_scheduler(runner.param_schedulers)
    iters = len(loop.dataloader)  # convert_to_iter_based: epochs x iterations per epoch
    assert (warmup.end, cosine.begin, cosine.end, cosine.T_max) == (
        2 * iters, 2 * iters, 6 * iters, 4 * iters)
