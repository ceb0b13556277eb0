"""Top-level config settings ("knobs") that reach the dicts using them, whichever file sets them.

MMEngine substitutes a base config's top-level variable where the base file uses it, when that file
is parsed: a child config (or ``--cfg-options``) that sets the variable again changes the variable,
not the dicts built from it. Two rules make the knobs below live instead:

* **References.** A config value written as the string ``'${name}'`` is replaced by the final
  top-level value of ``name`` when the run is set up (``resolve_config``: the tools, ``ReIDRunner``
  and ``read_config`` call it), after every child config and ``--cfg-options`` were merged. A value
  written as a literal stays that literal, so ``--cfg-options train_cfg.max_epochs=2`` still wins
  over ``max_epochs``. Only whole strings are references (no arithmetic).
* **data_root** fills the ``data_root`` of every dataset dict that leaves it unset (None or
  absent), in every dataloader, through dataset wrappers (``dataset=`` / ``datasets=``) and the
  sources of a ``MultiSourceDataset`` (which get their wrapper's root when it has one). A dataset
  with its own ``data_root`` keeps it; with no knob, ``$REID_DATA_ROOT`` then ``data/`` apply.

``CONFIG_KNOBS`` is the table of the knobs the base configs define (docs/configs.md lists them).
"""
import copy
import re
from typing import Any, Dict, Iterable, List, Optional

from mmengine.config import Config

REFERENCE = re.compile(r'^\$\{(\w+)\}$')

# knob -> what follows it (the base config that defines it in brackets)
CONFIG_KNOBS = {
    'data_root': 'data_root of every dataset dict that leaves it unset, including wrapped datasets '
                 'and MultiSourceDataset sources; `--data-root` on the tools sets it '
                 '[_base_/datasets/reid_datasets.py]',
    'img_size': '(H, W): the resize and crop sizes of the base pipelines and the ViT backbones\' '
                'img_size [_base_/datasets/reid_datasets.py]',
    'max_epochs': 'train_cfg.max_epochs and the end of the last lr scheduler [_base_/schedules/]',
    'warmup_epochs': 'the end of the linear warm-up and the start of the decay [_base_/schedules/]',
    'base_lr': 'the optimizer lr (the minimum lr of the cosine is a ratio of it) '
               '[_base_/schedules/]',
    'pretrained': 'model.backbone.pretrained: a local checkpoint path, None = from scratch '
                  '[_base_/models/]',
}

# dict keys under which a dataset config holds the datasets it wraps
WRAPPED_DATASET_KEYS = ('dataset', 'datasets')
DATALOADER_KEYS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


def _walk_references(value: Any, path: str, found: Dict[str, str]) -> None:
    if isinstance(value, str):
        match = REFERENCE.match(value)
        if match:
            found.setdefault(match.group(1), path)
    elif isinstance(value, dict):
        for key, item in value.items():
            _walk_references(item, f'{path}.{key}' if path else str(key), found)
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            _walk_references(item, f'{path}.{i}', found)


def referenced_knobs(cfg: Config) -> Dict[str, str]:
    """``{name: first key path that refers to it}`` for every ``'${name}'`` in ``cfg``."""
    found: Dict[str, str] = {}
    _walk_references(cfg._cfg_dict.to_dict(), '', found)
    return found


def _resolve(value: Any, top: dict, path: str, stack: tuple) -> Any:
    if isinstance(value, str):
        match = REFERENCE.match(value)
        if not match:
            return value
        name = match.group(1)
        if name not in top:
            raise KeyError(f'config key {path} = {value!r} refers to the top-level setting '
                           f'"{name}", which the config does not define; set `{name} = ...` at '
                           f'the top of the config (knobs: {sorted(CONFIG_KNOBS)})')
        if name in stack:
            chain = ' -> '.join(stack + (name, ))
            raise ValueError(f'config key {path}: circular reference {chain}')
        return _resolve(copy.deepcopy(top[name]), top, path, stack + (name, ))
    if isinstance(value, dict):
        return type(value)((k, _resolve(v, top, f'{path}.{k}' if path else str(k), stack))
                           for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return type(value)(_resolve(v, top, f'{path}.{i}', stack) for i, v in enumerate(value))
    return value


def resolve_references(cfg: Config) -> Config:
    """Replace every ``'${name}'`` value of ``cfg`` (in place) by the top-level ``name``."""
    top = cfg._cfg_dict.to_dict()
    for key, value in top.items():
        found: Dict[str, str] = {}
        _walk_references(value, key, found)
        if found:
            cfg[key] = _resolve(value, top, key, (key, ))
    return cfg


def _dataset_class(type_):
    if isinstance(type_, type):
        return type_
    from reidengine.registry import DATASETS
    try:
        return DATASETS.get(type_) if isinstance(type_, str) else None
    except KeyError:
        return None


def _takes_data_root(dataset: dict) -> bool:
    """ReID datasets and MultiSourceDataset read ``data_root``; other wrappers (MMEngine's
    ``ConcatDataset``, ``RepeatDataset``) only hold datasets. An unregistered type (a plugin not
    imported yet) follows the knob when it has a ``data_root`` key."""
    from reidengine.datasets import MultiSourceDataset
    from reidengine.datasets.base_dataset import BaseReIDDataset
    cls = _dataset_class(dataset.get('type'))
    if cls is None:
        return 'data_root' in dataset
    return issubclass(cls, (BaseReIDDataset, MultiSourceDataset))


def fill_dataset_roots(dataset: Any, data_root: str) -> None:
    """Set the unset ``data_root`` of ``dataset`` (a dataset config) and of those it wraps."""
    if isinstance(dataset, (list, tuple)):
        for item in dataset:
            fill_dataset_roots(item, data_root)
        return
    if not isinstance(dataset, dict):
        return  # a built dataset object: left as it is
    if _takes_data_root(dataset):
        if dataset.get('data_root') in (None, ''):
            dataset['data_root'] = data_root
        data_root = dataset['data_root']  # a wrapper's own root reaches its sources
    for key in WRAPPED_DATASET_KEYS:
        if key in dataset:
            fill_dataset_roots(dataset[key], data_root)


def dataloader_datasets(cfg: Config) -> List[dict]:
    """The dataset configs of the train / val / test dataloaders (a list of loaders included)."""
    out = []
    for key in DATALOADER_KEYS:
        loaders = cfg.get(key)
        for loader in loaders if isinstance(loaders, (list, tuple)) else [loaders]:
            if isinstance(loader, dict) and loader.get('dataset') is not None:
                out.append(loader['dataset'])
    return out


def fill_data_root(cfg: Config, data_root: Optional[str] = None) -> None:
    """Fill unset dataset roots from ``data_root`` (else the config's top-level ``data_root``)."""
    if data_root is not None:
        cfg.data_root = data_root
    root = cfg.get('data_root')
    if root in (None, ''):
        return
    for dataset in dataloader_datasets(cfg):
        fill_dataset_roots(dataset, str(root))


def resolve_config(cfg: Config, data_root: Optional[str] = None) -> Config:
    """Apply the knobs to ``cfg`` in place: references, then the data root. Idempotent."""
    resolve_references(cfg)
    fill_data_root(cfg, data_root)
    return cfg


def live_top_level_keys(cfg: Config, runner_keys: Iterable[str]) -> set:
    """Top-level keys whose value something reads: runner settings, ``data_root`` and the names
    that some value refers to."""
    return set(runner_keys) | {'data_root'} | set(referenced_knobs(cfg))


def check_dead_options(cfg: Config, options: dict, config_path: str,
                       runner_keys: Iterable[str]) -> None:
    """Refuse ``--cfg-options`` on a top-level variable that nothing reads any more.

    Such a variable (``train_batch_size``, ``num_instances``, a pipeline list) was substituted
    into the dicts that use it when the config file was parsed; setting it changes nothing.
    """
    live = live_top_level_keys(cfg, runner_keys)
    for key in options:
        top = key.split('.')[0]
        if top in cfg and top not in live:
            raise ValueError(
                f'--cfg-options {key}: "{top}" is a variable of {config_path} that was substituted '
                'into the dicts using it when the file was read; setting it changes nothing. Set '
                'the key of the dict that uses it instead (the top-level settings that reach '
                f'their dicts here: {sorted(live - set(runner_keys))}; docs/configs.md)')


def read_config(path: str, cfg_options: Optional[dict] = None,
                data_root: Optional[str] = None) -> Config:
    """``Config.fromfile`` + ``--cfg-options``-style overrides + knobs: a config ready to build
    from, as the tools see it (for scripts, benchmarks and tests that build from config files)."""
    cfg = Config.fromfile(path)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    return resolve_config(cfg, data_root)
