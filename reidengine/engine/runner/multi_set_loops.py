"""Evaluation loops over several test sets in one run (DG targets), with a results table.

Domain-generalisation protocols test one trained model on several target datasets. A config
gives ``test_dataloader`` as a list of dataloader configs (or a single one); every test set gets
its own copy of ``test_evaluator`` whose metric prefix is the set's name, so the keys read
``duke/mAP``, ``msmt17/R1``. After the last set a table is logged and written to the work dir as
``results_<phase>.json`` and ``results_<phase>.md``. ``amp=dict(enabled=True, dtype='bfloat16')``
runs the model under autocast (``reidengine.engine.amp``; set by the config's top-level ``amp``);
the features reach the evaluator as float32 and the metrics are computed in float32.
"""
import copy
import json
import os.path as osp
import sys
from typing import Dict, List, Optional, Sequence, Union

import torch
from mmengine.dist import is_main_process
from mmengine.evaluator import Evaluator
from mmengine.logging import print_log
from mmengine.runner.loops import BaseLoop
from torch.utils.data import DataLoader

from reidengine.registry import LOOPS
from reidengine.utils.amp import autocast
from ..amp import loop_autocast_dtype

METRIC_ORDER = ('mAP', 'R1', 'R5', 'R10', 'mINP')


def _as_list(x) -> list:
    return list(x) if isinstance(x, (list, tuple)) else [x]


def _set_name(dataloader: DataLoader, index: int) -> str:
    meta = getattr(dataloader.dataset, 'metainfo', None) or {}
    return str(meta.get('dataset_name', f'testset{index}'))


def results_table(results: Dict[str, Dict[str, float]]) -> str:
    """Markdown table: one row per test set, metrics in percent."""
    cols = [m for m in METRIC_ORDER if any(m in r for r in results.values())]
    extra = sorted({k for r in results.values() for k in r} - set(cols))
    cols += extra
    lines = ['| test set | ' + ' | '.join(cols) + ' |', '|---' * (len(cols) + 1) + '|']
    for name, res in results.items():
        cells = []
        for c in cols:
            v = res.get(c)
            if isinstance(v, (int, float)):
                cells.append(f'{100 * v:.1f}' if c in METRIC_ORDER or c.startswith('TPR') else f'{v:g}')
            else:
                cells.append('-' if v is None else str(v))
        lines.append(f'| {name} | ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


class _MultiSetEvalLoop(BaseLoop):
    """Runs each (dataloader, evaluator) pair in turn; metrics are prefixed by the set's name."""

    phase = 'test'

    def __init__(self,
                 runner,
                 dataloader: Union[DataLoader, Dict, List],
                 evaluator: Union[Evaluator, Dict, List],
                 names: Optional[Sequence[str]] = None,
                 amp: Optional[dict] = None):
        self.amp_dtype = loop_autocast_dtype(amp, f'{self.phase}_cfg.amp')
        loaders = _as_list(dataloader)
        self._runner = runner
        self.dataloaders = [
            runner.build_dataloader(d, seed=runner.seed) if isinstance(d, dict) else d
            for d in loaders
        ]
        if names is not None and len(names) != len(self.dataloaders):
            raise ValueError(f'{self.phase}_cfg.names has {len(names)} names but '
                             f'{len(self.dataloaders)} {self.phase} dataloaders are configured')
        self.names = list(names) if names is not None else [
            _set_name(d, i) for i, d in enumerate(self.dataloaders)
        ]
        if len(set(self.names)) != len(self.names):
            raise ValueError(f'test set names must be unique, got {self.names}; '
                             f'set {self.phase}_cfg.names')
        evaluators = evaluator if isinstance(evaluator, list) and len(evaluator) == len(
            self.dataloaders) and len(self.dataloaders) > 1 else [evaluator] * len(self.dataloaders)
        self.evaluators = []
        for name, ev, loader in zip(self.names, evaluators, self.dataloaders):
            if not isinstance(ev, Evaluator):
                ev = runner.build_evaluator(self._with_prefix(copy.deepcopy(ev), name))
            ev.dataset_meta = getattr(loader.dataset, 'metainfo', None)
            self.evaluators.append(ev)
        self.dataloader = self.dataloaders[0]
        self.evaluator = self.evaluators[0]

    @staticmethod
    def _with_prefix(ev_cfg, name):
        metrics = ev_cfg if isinstance(ev_cfg, list) else [ev_cfg]
        if isinstance(ev_cfg, dict) and 'metrics' in ev_cfg:
            metrics = _as_list(ev_cfg['metrics'])
        for m in metrics:
            m.setdefault('prefix', name)
        return ev_cfg

    def _evaluate_set(self, loader, evaluator) -> dict:
        self.runner.model.eval()
        batches = loader
        if is_main_process() and sys.stderr.isatty():  # a progress bar on a terminal only
            from tqdm import tqdm
            batches = tqdm(loader, desc=f'{self.phase} features', unit='batch', leave=False)
        for idx, data_batch in enumerate(batches):
            self.run_iter(idx, data_batch, evaluator)
        return evaluator.evaluate(len(loader.dataset))

    @torch.no_grad()
    def run_iter(self, idx, data_batch, evaluator) -> None:
        self.runner.call_hook(f'before_{self.phase}_iter', batch_idx=idx, data_batch=data_batch)
        step = getattr(self.runner.model, f'{self.phase}_step')
        with autocast(self.amp_dtype):
            outputs = step(data_batch)
        evaluator.process(data_samples=outputs, data_batch=data_batch)
        self.runner.call_hook(f'after_{self.phase}_iter', batch_idx=idx, data_batch=data_batch,
                              outputs=outputs)

    def run(self) -> dict:
        self.runner.call_hook(f'before_{self.phase}')
        self.runner.call_hook(f'before_{self.phase}_epoch')
        metrics, per_set = {}, {}
        for name, loader, evaluator in zip(self.names, self.dataloaders, self.evaluators):
            res = self._evaluate_set(loader, evaluator)
            metrics.update(res)
            per_set[name] = {k.split('/', 1)[1] if k.startswith(name + '/') else k: v
                             for k, v in res.items()}
        self._report(per_set)
        self.runner.call_hook(f'after_{self.phase}_epoch', metrics=metrics)
        self.runner.call_hook(f'after_{self.phase}')
        return metrics

    def _report(self, per_set: Dict[str, dict]) -> None:
        table = results_table(per_set)
        print_log(f'{self.phase} results:\n{table}', logger='current')
        if not is_main_process():
            return
        work_dir = self.runner.work_dir
        stem = osp.join(work_dir, f'results_{self.phase}')
        with open(stem + '.json', 'w') as f:
            json.dump(per_set, f, indent=2, default=float)
        with open(stem + '.md', 'w') as f:
            f.write(table + '\n')


@LOOPS.register_module()
class ReIDTestLoop(_MultiSetEvalLoop):
    """Test loop over one or several test sets (DG targets)."""
    phase = 'test'


@LOOPS.register_module()
class ReIDValLoop(_MultiSetEvalLoop):
    """Validation loop over one or several sets; metric keys are prefixed by set name."""
    phase = 'val'
