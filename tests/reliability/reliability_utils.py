"""Helpers of the reliability tests: a tiny Market-1501 tree, tiny configs built on the real
experiment configs, and the tools run in-process."""
import itertools
import os
import os.path as osp
import runpy
import sys
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[2]
IMG_SIZE = (32, 16)


def write_market(root: Path, num_train_ids=8, num_test_ids=6, per_id=4, num_cams=2) -> Path:
    """``root/market1501/{bounding_box_train, query, bounding_box_test}`` of noisy images that
    carry an identity pattern (two colours per id), hard enough that metrics are not all 100%."""
    rng = np.random.default_rng(0)
    base = root / 'market1501'

    def write(folder, pid, cam, j):  # top / bottom colours of the identity, lighting, noise
        colours = np.random.default_rng(pid).integers(0, 256, (2, 1, 1, 3)).astype(np.float32)
        img = np.concatenate([np.repeat(colours[0], IMG_SIZE[0] // 2, 0),
                              np.repeat(colours[1], IMG_SIZE[0] - IMG_SIZE[0] // 2, 0)], 0)
        img = img + rng.normal(0, 50) + rng.normal(0, 70, IMG_SIZE + (3, ))
        (base / folder).mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(base / folder / f'{pid:04d}_c{cam}s1_{j:06d}_00.png'),
                    np.clip(img, 0, 255).astype(np.uint8))

    for pid in range(1, num_train_ids + 1):
        for j in range(per_id):
            write('bounding_box_train', pid, j % num_cams + 1, j)
    for pid in range(num_train_ids + 1, num_train_ids + num_test_ids + 1):
        write('query', pid, 1, 0)
        for j in range(1, per_id):
            write('bounding_box_test', pid, j % num_cams + 1, j)
    return root


_COMMON = """
data = {data!r}
test_pipeline = [
    dict(type='LoadReIDImage'),
    dict(type='ReIDResize', size=({h}, {w})),
    dict(type='PackReIDInputs'),
]
train_dataloader = dict(
    batch_size=8, num_workers={workers}, persistent_workers=False,
    sampler=dict(type='PKSampler', num_instances=2, batch_size=8),
    dataset=dict(type='Market1501', data_root=data, split='train', pipeline=train_pipeline,
                 _delete_=True))
test_dataloader = [dict(
    batch_size=5, num_workers=0, persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='Market1501', data_root=data, split='test', pipeline=test_pipeline))]
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=1, end={epochs}, T_max={epochs_1},
         convert_to_iter_based=True),
]
optim_wrapper = dict(optimizer=dict(lr=0.01))
train_cfg = dict(max_epochs={epochs}, val_interval={epochs_p1})
default_hooks = dict(logger=dict(interval=1))
"""

_VIT = """
_base_ = [{base!r}]
train_pipeline = [
    dict(type='LoadReIDImage'),
    dict(type='ReIDResize', size=({h}, {w})),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PadRandomCrop', size=({h}, {w}), padding=2),
    dict(type='RandomErasing', prob=0.5),
    dict(type='PackReIDInputs'),
]
model = dict(
    backbone=dict(arch=dict(embed_dim=32, depth=1, num_heads=2, _delete_=True), img_size=({h}, {w}),
                  patch_size=4, stride_size=4),
    head=dict(in_channels=32, num_classes=8))
"""

_PAT = """
_base_ = [{base!r}]
train_pipeline = [
    dict(type='LoadReIDImage'),
    dict(type='ReIDResize', size=({h}, {w})),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PadRandomCrop', size=({h}, {w}), padding=2),
    dict(type='LocalGrayscale', prob=0.5),
    dict(type='PackReIDInputs'),
]
model = dict(
    backbone=dict(arch=dict(embed_dim=32, depth=2, num_heads=2, _delete_=True), img_size=({h}, {w}),
                  patch_size=4, stride_size=4),
    head=dict(in_channels=32, num_classes=8, csl_loss=dict(k=3)))
"""
_PAT_HOOKS = """
custom_hooks = [dict(type='PATMemoryBankHook', fill_pipeline=test_pipeline, batch_size=6,
                     num_workers=0)]
"""

_run_names = itertools.count()
BASES = dict(vit='configs/baselines/vit_base_market1501.py', pat='configs/pat/pat_market2duke.py')


def tiny_config(path: Path, data_root: Path, model='vit', max_epochs=3, num_workers=0,
                extra: str = '') -> str:
    """A config inheriting a real experiment config (``model``: ``'vit'`` baseline or ``'pat'``),
    shrunk: ViT of width 32 on 32x16 images, PK batch 8 = 4 ids x 2, 4 iterations per epoch on
    :func:`write_market` data, a checkpoint every epoch, test on the Market-1501 test split."""
    h, w = IMG_SIZE
    head = (_VIT if model == 'vit' else _PAT).format(base=str(REPO / BASES[model]), h=h, w=w)
    common = _COMMON.format(data=str(data_root), h=h, w=w, workers=num_workers, epochs=max_epochs,
                            epochs_1=max_epochs - 1, epochs_p1=max_epochs + 1)
    path.write_text(head + common + (_PAT_HOOKS if model == 'pat' else '') + extra)
    return str(path)


def tiny_vit_config(path: Path, data_root: Path, max_epochs=3, extra: str = '') -> str:
    return tiny_config(path, data_root, 'vit', max_epochs, extra=extra)


def run_tool(tool: str, *args: str, debug: bool = True) -> None:
    """Run ``tools/<tool>.py`` in this process with the given command line; with ``debug`` (adds
    ``--debug``) every error is raised as an exception, without it a user error ends the tool with
    its message on stderr and ``SystemExit(1)``."""
    args = [str(a) for a in args]
    if tool in ('train', 'test') and not any(a.startswith('experiment_name=') for a in args):
        # a name of its own: MMEngine reuses the logger of a run of the same name (same second)
        name = f'experiment_name=run{next(_run_names)}'
        args = (args[:args.index('--cfg-options') + 1] + [name] + args[args.index('--cfg-options') + 1:]
                if '--cfg-options' in args else args + ['--cfg-options', name])
    argv = sys.argv
    sys.argv = [str(REPO / 'tools' / f'{tool}.py'), *args, *(['--debug'] if debug else [])]
    try:
        runpy.run_path(sys.argv[0], run_name='__main__')
    finally:
        sys.argv = argv


def tool_error(capsys, tool: str, *args: str) -> str:
    """Run a tool (in this process, without ``--debug``) that must stop on a user error: its
    stderr, checked to end with exit status 1 and to hold no traceback."""
    import pytest
    capsys.readouterr()
    with pytest.raises(SystemExit) as stop:
        run_tool(tool, *args, debug=False)
    err = capsys.readouterr().err
    assert stop.value.code == 1, err[-4000:]
    assert 'Traceback' not in err and '(rerun with --debug for the traceback' in err, err[-4000:]
    return err


def checkpoint_files(work_dir) -> dict:
    """``{name: (bytes, mtime)}`` of the checkpoints and pointer, to show they were not touched."""
    out = {}
    for name in sorted(os.listdir(work_dir)):
        path = osp.join(work_dir, name)
        if name.endswith('.pth') or name == 'last_checkpoint':
            with open(path, 'rb') as f:
                out[name] = (f.read(), os.stat(path).st_mtime_ns)
    return out


def run_tool_subprocess(tool: str, *args, cwd=None, extra_path=()) -> 'subprocess.CompletedProcess':
    """Run ``tools/<tool>.py`` in a child process as a user would; its output is captured as text.

    ``tests/reliability`` and ``extra_path`` are put on the child's PYTHONPATH (for test modules
    given in ``custom_imports``)."""
    import subprocess
    env = dict(os.environ, OMP_NUM_THREADS='1')
    here = str(Path(__file__).resolve().parent)
    env['PYTHONPATH'] = os.pathsep.join([*map(str, extra_path), here, str(REPO),
                                         env.get('PYTHONPATH', '')])
    return subprocess.run([sys.executable, str(REPO / 'tools' / f'{tool}.py'), *map(str, args)],
                          env=env, cwd=cwd, capture_output=True, text=True, timeout=300)


def tree_files(folder) -> dict:
    """``{relative path: (bytes, mtime)}`` of every file under ``folder`` but the lock file (which
    records its latest holder)."""
    out = {}
    for path in sorted(Path(folder).rglob('*')):
        if path.is_file() and path.name != '.lock':
            out[str(path.relative_to(folder))] = (path.read_bytes(), path.stat().st_mtime_ns)
    return out
