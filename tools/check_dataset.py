"""Check every image of a config's datasets before training: ``python tools/check_dataset.py CONFIG``.

Builds the datasets of ``train_dataloader``, ``val_dataloader`` and ``test_dataloader`` (``--split``
picks some) and reads every image as the training pipeline does (``LoadReIDImage``: missing,
empty, truncated or undecodable files, and JPEGs whose data is garbled). Prints each unreadable file
with the reason and exits with status 1 if there is any, else 0. Without this check a damaged file
is found only when its batch loads, possibly hours into a run.
"""
import argparse
import os.path as osp
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import List, Tuple

from mmengine.config import Config

from reidengine.utils import register_all_modules
from reidengine.utils.cli_errors import run_cli
from reidengine.utils.config_checks import (ConfigOptionAction, check_config_file,
                                            check_option_types, import_option_modules)
from reidengine.utils.runner_utils import check_option_keys

_LOADERS = dict(train='train_dataloader', val='val_dataloader', test='test_dataloader')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Check that every image of the datasets reads')
    parser.add_argument('config', help='config file path')
    parser.add_argument('--split', nargs='+', choices=sorted(_LOADERS), default=sorted(_LOADERS),
                        help='which data loaders\' datasets to check (default: all)')
    parser.add_argument('--workers', type=int, default=4, help='threads reading images')
    parser.add_argument('--cfg-options', nargs='+', action=ConfigOptionAction,
                        help='override config keys, e.g. train_dataloader.dataset.data_root=/data')
    parser.add_argument('--debug', action='store_true', help='show the traceback of every error')
    return parser.parse_args(argv)


def dataset_configs(cfg: Config, splits: List[str]) -> List[Tuple[str, dict]]:
    """``(label, dataset config)`` of each chosen data loader (a list of test loaders gives several)."""
    out = []
    for split in splits:
        loaders = cfg.get(_LOADERS[split])
        if not loaders:
            continue
        for i, loader in enumerate(loaders if isinstance(loaders, (list, tuple)) else [loaders]):
            label = _LOADERS[split] + (f'[{i}]' if isinstance(loaders, (list, tuple)) else '')
            out.append((label, loader['dataset']))
    return out


def check_dataset(dataset, workers: int = 4) -> Tuple[int, List[str]]:
    """``(number of images, ["path: reason", ...] for the unreadable ones)``."""
    from reidengine.datasets.transforms import LoadReIDImage
    load = LoadReIDImage()
    paths = list(dict.fromkeys(dataset.get_data_info(i)['img_path'] for i in range(len(dataset))))

    def problem(path):
        try:
            load.read(path)
        except IOError as err:
            return str(err)
        return None

    with ThreadPoolExecutor(max(1, workers)) as pool:
        problems = [p for p in pool.map(problem, paths) if p]
    return len(paths), problems


def main(argv=None) -> int:
    args = parse_args(argv)
    register_all_modules()
    check_config_file(args.config)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        check_option_keys(cfg, args.cfg_options, args.config)
        check_option_types(cfg, args.cfg_options)
        cfg.merge_from_dict(args.cfg_options)
        import_option_modules(cfg, args.cfg_options)
    from reidengine.utils.config_knobs import resolve_config
    resolve_config(cfg)  # '${knob}' values and unset data roots, as the tools do
    from reidengine.registry import DATASETS
    configs = dataset_configs(cfg, args.split)
    if not configs:
        raise ValueError(f'{args.config} has no dataset in {", ".join(_LOADERS[s] for s in args.split)}')
    bad_total = 0
    for label, dataset_cfg in configs:
        dataset = DATASETS.build(dataset_cfg)
        name = getattr(dataset, 'metainfo', {}).get('dataset_name', type(dataset).__name__)
        count, problems = check_dataset(dataset, args.workers)
        bad_total += len(problems)
        status = 'all readable' if not problems else f'{len(problems)} unreadable'
        print(f'{label} ({name}): {count} images, {status}')
        for line in problems:
            print(f'  {line}')
    if bad_total:
        print(f'{bad_total} unreadable images in {osp.basename(args.config)}\'s datasets: replace or '
              "remove them, or train with LoadReIDImage(on_error='skip') in the training pipeline",
              file=sys.stderr)
    return 1 if bad_total else 0


if __name__ == '__main__':
    status = []
    run_cli(lambda: status.append(main()))
    sys.exit(status[0] if status else 1)
