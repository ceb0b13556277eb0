"""Features on disk: ``features.safetensors`` (tensor ``features``, N x D) + ``paths.json``.

No pickle anywhere: safetensors holds only the tensor (and string metadata), the JSON the image
paths in row order plus what produced them (config, checkpoint, flip). Large folders are written
in shards (``shards/part_00000.safetensors``...), each written to a temporary file then renamed,
so an interrupted extraction resumes at the first missing shard; the shards are merged at the end.
"""
import json
import os
import os.path as osp
from typing import List, Optional, Tuple

import torch

FEATURES_FILE = 'features.safetensors'
PATHS_FILE = 'paths.json'
SHARD_DIR = 'shards'


def _save_tensor(path: str, feats: torch.Tensor, metadata: Optional[dict] = None) -> None:
    from safetensors.torch import save_file
    tmp = path + '.tmp'
    save_file({'features': feats.contiguous()}, tmp,
              metadata={k: str(v) for k, v in (metadata or {}).items()})
    os.replace(tmp, path)


def _load_tensor(path: str) -> torch.Tensor:
    from safetensors.torch import load_file
    try:
        return load_file(path)['features']
    except KeyError as err:
        raise KeyError(f'{path} holds no "features" tensor') from err


def save_features(out_dir: str, feats: torch.Tensor, paths: List[str], info: dict) -> None:
    os.makedirs(out_dir, exist_ok=True)
    _save_tensor(osp.join(out_dir, FEATURES_FILE), feats, info)
    _write_json(osp.join(out_dir, PATHS_FILE), dict(info, paths=list(paths)))


def _write_json(path: str, obj: dict) -> None:
    tmp = path + '.tmp'
    with open(tmp, 'w') as f:
        json.dump(obj, f, indent=1)
    os.replace(tmp, path)


def load_features(out_dir: str) -> Tuple[torch.Tensor, List[str], dict]:
    """``(features, paths, info)`` written by :func:`save_features` / ``tools/extract_features.py``."""
    feat_file, path_file = osp.join(out_dir, FEATURES_FILE), osp.join(out_dir, PATHS_FILE)
    for f in (feat_file, path_file):
        if not osp.isfile(f):
            raise FileNotFoundError(f'{f} does not exist: expected the output folder of '
                                    'tools/extract_features.py')
    with open(path_file) as f:
        info = json.load(f)
    paths = info.pop('paths')
    feats = _load_tensor(feat_file)
    if len(paths) != len(feats):
        raise ValueError(f'{feat_file} has {len(feats)} rows but {path_file} lists {len(paths)} paths')
    return feats, paths, info


def extract_to_folder(model, paths: List[str], out_dir: str, info: dict, shard_size: int = 1024,
                      batch_size: int = 64, flip: Optional[bool] = None,
                      progress: Optional[bool] = None) -> torch.Tensor:
    """Extract the features of ``paths`` shard by shard, skipping finished shards, then merge."""
    from .inference import _progress, extract_features
    if shard_size < 1:
        raise ValueError(f'shard_size must be positive, got {shard_size}')
    os.makedirs(osp.join(out_dir, SHARD_DIR), exist_ok=True)
    plan = dict(info, paths=list(paths), shard_size=shard_size)
    plan_file = osp.join(out_dir, SHARD_DIR, 'plan.json')
    if osp.isfile(plan_file):
        with open(plan_file) as f:
            previous = json.load(f)
        if previous != plan:
            raise ValueError(f'{out_dir} holds an unfinished extraction of other images or another '
                             f'model ({plan_file}); use another output folder or delete it')
    else:
        _write_json(plan_file, plan)
    starts = range(0, len(paths), shard_size)
    bar = _progress(len(paths), progress, 'features')
    parts = []
    for n, start in enumerate(starts):
        shard = osp.join(out_dir, SHARD_DIR, f'part_{n:05d}.safetensors')
        chunk = paths[start:start + shard_size]
        if osp.isfile(shard):
            feats = _load_tensor(shard)
        else:
            feats = extract_features(model, chunk, batch_size=batch_size, flip=flip, progress=False)
            _save_tensor(shard, feats)
        if len(feats) != len(chunk):
            raise ValueError(f'{shard} has {len(feats)} rows, expected {len(chunk)}')
        parts.append(feats)
        if bar is not None:
            bar.update(len(chunk))
    if bar is not None:
        bar.close()
    feats = torch.cat(parts)
    save_features(out_dir, feats, paths, info)
    for n in range(len(starts)):
        os.remove(osp.join(out_dir, SHARD_DIR, f'part_{n:05d}.safetensors'))
    os.remove(plan_file)
    os.rmdir(osp.join(out_dir, SHARD_DIR))
    return feats
