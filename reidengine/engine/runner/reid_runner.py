"""The runner of reidengine: MMEngine's ``Runner`` made trustworthy for long runs (docs/reliability.md).

What it adds to ``mmengine.runner.Runner``:

- Checkpoints are written atomically (``<file>.tmp``, fsync, rename) and hold only tensors and plain
  values, plus every process's random generator states (python, numpy, torch CPU/CUDA) and the
  state of every hook that has ``state_dict()`` / ``load_state_dict()``.
- Loading, for resume and for ``load_from``, uses ``torch.load(weights_only=True)`` without
  allow-listing any class: a file that would run code is refused.
- ``--resume`` (auto) takes the newest checkpoint that loads; a damaged one is skipped with a
  warning naming it. A checkpoint that does not fit the model (another architecture) is an error
  naming the keys, raised before anything in the work dir is written.
- Epoch-based training runs in :class:`ReIDEpochBasedTrainLoop`, which resumes an iteration
  checkpoint mid-epoch at the right sampler position, skipping the trained batches without loading
  them.
- Data-loader workers are seeded from torch's per-epoch seed (and the rank), not from a fixed
  seed: augmentations differ between epochs and replay exactly after a resume.
- The config's top-level ``amp`` dict turns on mixed precision (``reidengine/engine/amp.py``).
- A classifier with fewer classes than the training set has identities is refused when the training
  loop is built, naming ``model.head.num_classes`` and the dataset's count.
- The config copy goes to the run's own ``<work_dir>/<timestamp>/`` folder, next to its log.
- Default hooks add :class:`NonFiniteLossHook` (stop on NaN / inf) and
  :class:`EvalRNGIsolationHook`, and save checkpoints with :class:`ReIDCheckpointHook`.

Exact resume (same final weights as an uninterrupted run) holds on CPU for epoch checkpoints with
``persistent_workers=False`` (any ``num_workers``) and, for iteration checkpoints inside an epoch,
with ``num_workers=0``; see ``docs/reliability.md``.
"""
import copy
import glob
import itertools
import logging
import os
import os.path as osp
import random
import re
import time
from collections import OrderedDict
from typing import Dict, List, Optional, Tuple

import mmengine
import numpy as np
import torch
from mmengine.config import Config
from mmengine.dist import all_gather_object, get_rank, is_main_process, master_only
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.optim import OptimWrapper
from mmengine.runner import EpochBasedTrainLoop, Runner
from mmengine.runner.checkpoint import weights_to_cpu
from mmengine.utils import apply_to
from torch.utils.data import Sampler

from reidengine.registry import LOOPS, RUNNERS
from ..amp import amp_settings, configure_amp
from .checkpoint_io import (TMP_SUFFIX, CheckpointLoadError, atomic_save, get_rng_state,
                            load_checkpoint_safe, restore_message_hub, set_rng_state,
                            to_weights_only)

__all__ = ['ReIDRunner', 'ReIDEpochBasedTrainLoop', 'seed_worker']

_CKPT_NAME = re.compile(r'^(epoch|iter)_(\d+)\.pth$')


def seed_worker(worker_id: int, rank: int = 0) -> None:
    """Data-loader ``worker_init_fn``: mix the rank into the seed torch gave the worker.

    torch seeds each worker's python, numpy and torch generators from ``base_seed + worker_id``,
    where ``base_seed`` is drawn from the main process's torch generator when the epoch's iterator
    is created: it changes every epoch and is restored by a resume. Ranks share ``base_seed``, so
    the rank is mixed in to give them different augmentations.
    """
    if rank == 0:
        return
    seeds = np.random.SeedSequence([torch.initial_seed() % 2**63, rank]).generate_state(2)
    random.seed(int(seeds[0]))
    np.random.seed(int(seeds[0]))
    torch.manual_seed(int(seeds[0]) << 32 | int(seeds[1]))


class _SkipSampler(Sampler):
    """The indices of ``sampler`` after its first ``num_skipped``."""

    def __init__(self, sampler: Sampler, num_skipped: int):
        self.sampler = sampler
        self.num_skipped = num_skipped

    def __iter__(self):
        return itertools.islice(iter(self.sampler), self.num_skipped, None)

    def __len__(self) -> int:
        return max(0, len(self.sampler) - self.num_skipped)


@LOOPS.register_module()
class ReIDEpochBasedTrainLoop(EpochBasedTrainLoop):
    """``EpochBasedTrainLoop`` that resumes inside an epoch.

    When a checkpoint saved at an iteration (``CheckpointHook(by_epoch=False)``) is resumed, the
    first epoch starts at the sampler position after the batches already trained: the sampler's
    first ``done x batch_size`` indices are skipped, no image is loaded for them, and creating the
    iterator draws nothing from the generators the checkpoint restored.
    """

    def batches_done(self) -> int:
        """Batches of the current epoch already trained (non-zero only after a mid-epoch resume)."""
        return self._iter - self._epoch * len(self.dataloader)

    def run_epoch(self) -> None:
        done = self.batches_done()
        if done == 0:
            return super().run_epoch()
        batch_sampler = self.dataloader.batch_sampler
        if batch_sampler is None or not hasattr(batch_sampler, 'sampler'):
            raise ValueError('ReIDEpochBasedTrainLoop: resuming inside an epoch needs a data loader '
                             'with a batch_size and a sampler (no custom batch_sampler)')
        self.runner.call_hook('before_train_epoch')
        self.runner.model.train()
        full = batch_sampler.sampler
        batch_sampler.sampler = _SkipSampler(full, done * batch_sampler.batch_size)
        try:
            with torch.random.fork_rng(devices=[]):  # the interrupted run drew this seed already
                batches = iter(self.dataloader)
            for idx, data_batch in enumerate(batches, start=done):
                self.run_iter(idx, data_batch)
        finally:
            batch_sampler.sampler = full
        self.runner.call_hook('after_train_epoch')
        self._epoch += 1


class _FormatOnceConfig(Config):
    """A ``Config`` whose yapf-formatted ``pretty_text`` (0.5-1 s each) is computed once per content.

    MMEngine formats the runner's config three or four times per run (log, dump, every
    ``before_run``); this keeps the result while the config is unchanged.
    """

    @property
    def pretty_text(self) -> str:
        key = repr(self._cfg_dict)
        cached = self.__dict__.get('_pretty_text_cache')
        if cached is None or cached[0] != key:
            cached = (key, Config.pretty_text.fget(self))
            super(Config, self).__setattr__('_pretty_text_cache', cached)
        return cached[1]


@RUNNERS.register_module()
class ReIDRunner(Runner):
    """MMEngine ``Runner`` with atomic, weights-only checkpoints and exact resume (module doc).

    Built by the tools through ``runner_type='ReIDRunner'`` (``configs/_base_/default_runtime.py``);
    it takes the same arguments as ``mmengine.runner.Runner``.
    """

    _strict_load = False
    _loaded_checkpoint: Optional[dict] = None
    _prefetched: Optional[Tuple[str, dict]] = None

    # ---------------------------------------------------------------- building
    @classmethod
    def from_cfg(cls, cfg) -> 'ReIDRunner':
        if isinstance(cfg, Config):  # '${knob}' references and unset data roots (config_knobs.py)
            from reidengine.utils.config_knobs import resolve_config
            resolve_config(cfg)
        if amp_settings(cfg.get('amp'))['enabled']:  # mixed precision: AMP optimizer wrapper, autocast test loops
            cfg = copy.deepcopy(cfg)
            configure_amp(cfg)
        if isinstance(cfg, Config) and not isinstance(cfg, _FormatOnceConfig):
            cfg = copy.copy(cfg)
            object.__setattr__(cfg, '__class__', _FormatOnceConfig)
        return super().from_cfg(cfg)

    @master_only
    def dump_config(self) -> None:
        """Write the config into this run's own folder ``<work_dir>/<timestamp>/`` (MMEngine writes
        ``<work_dir>/<config name>``, which every later run, even a refused resume, overwrote)."""
        name = osp.basename(self.cfg.filename) if self.cfg.filename else f'{self.timestamp}.py'
        mmengine.mkdir_or_exist(self.log_dir)
        self.cfg.dump(osp.join(self.log_dir, name))

    def register_default_hooks(self, hooks: Optional[Dict] = None) -> None:
        from ..hooks import EvalRNGIsolationHook, NonFiniteLossHook, ReIDCheckpointHook
        merged = dict(checkpoint=dict(type=ReIDCheckpointHook, interval=1),
                      nonfinite_loss=dict(type=NonFiniteLossHook, policy='raise'),
                      eval_rng=dict(type=EvalRNGIsolationHook))
        for name, hook in (hooks or {}).items():
            if hook is None and name in ('nonfinite_loss', 'eval_rng'):
                merged.pop(name)  # None turns a default hook off, as in MMEngine
            else:
                merged[name] = hook
        super().register_default_hooks(merged)

    def build_train_loop(self, loop):
        if not isinstance(loop, dict):
            return super().build_train_loop(loop)
        loop = copy.deepcopy(loop)
        if loop.get('type') == 'EpochBasedTrainLoop' or ('type' not in loop
                                                         and loop.get('by_epoch', False)):
            loop.pop('by_epoch', None)
            loop['type'] = 'ReIDEpochBasedTrainLoop'
        loop = super().build_train_loop(loop)
        loader = loop.dataloader
        self._check_num_classes(loader.dataset)
        if getattr(loader, 'persistent_workers', False) and loader.num_workers > 0:
            self.logger.warning('train_dataloader has persistent_workers=True: its workers keep '
                                'their random state across epochs, so a resumed run is not '
                                'bit-exact; set persistent_workers=False for exact resume')
        return loop

    def _check_num_classes(self, dataset) -> None:
        """Refuse a classifier with fewer classes than the training set has identities.

        Raises:
            ValueError: naming ``model.head.num_classes`` and the dataset's identity count.
        """
        model = self.model.module if is_model_wrapper(self.model) else self.model
        num_classes = getattr(getattr(model, 'head', None), 'num_classes', None)
        meta = getattr(dataset, 'metainfo', None) or {}
        num_pids = meta.get('num_pids')
        if not isinstance(num_classes, int) or not isinstance(num_pids, int):
            return
        name = meta.get('dataset_name', type(dataset).__name__)
        if num_pids > num_classes:
            raise ValueError(f'model.head.num_classes={num_classes}, but the training set ({name}) '
                             f'has {num_pids} identities: set model.head.num_classes={num_pids}')
        if num_pids < num_classes:
            self.logger.warning(f'model.head.num_classes={num_classes}, but the training set '
                                f'({name}) has {num_pids} identities: {num_classes - num_pids} '
                                'classifier outputs are never trained')

    @staticmethod
    def build_dataloader(dataloader, seed: Optional[int] = None, diff_rank_seed: bool = False):
        if isinstance(dataloader, dict) and 'worker_init_fn' not in dataloader \
                and dataloader.get('num_workers', 0) > 0:
            dataloader = copy.copy(dataloader)
            dataloader['worker_init_fn'] = dict(type=seed_worker, rank=get_rank())
        return Runner.build_dataloader(dataloader, seed=seed, diff_rank_seed=diff_rank_seed)

    # ---------------------------------------------------------------- saving
    def _stateful_hooks(self) -> Dict[str, object]:
        """Hooks with ``state_dict`` / ``load_state_dict``, by class name (``Name#2`` for a second)."""
        named, seen = {}, {}
        for hook in self.hooks:
            if callable(getattr(hook, 'state_dict', None)) and \
                    callable(getattr(hook, 'load_state_dict', None)):
                name = type(hook).__name__
                seen[name] = seen.get(name, 0) + 1
                named[name if seen[name] == 1 else f'{name}#{seen[name]}'] = hook
        return named

    def save_checkpoint(self,
                        out_dir: str,
                        filename: str,
                        file_client_args: Optional[dict] = None,
                        save_optimizer: bool = True,
                        save_param_scheduler: bool = True,
                        meta: Optional[dict] = None,
                        by_epoch: bool = True,
                        backend_args: Optional[dict] = None) -> None:
        """Write ``out_dir/filename`` atomically (same arguments as ``Runner.save_checkpoint``).

        Called on every rank: the ranks' generator states are gathered, rank 0 writes.
        """
        rng_states = [get_rng_state()]
        if self.world_size > 1:
            rng_states = all_gather_object(rng_states[0])
        if not is_main_process():
            return
        if file_client_args is not None or backend_args is not None or '://' in str(out_dir):
            raise ValueError(f'ReIDRunner saves checkpoints to local folders only (atomic rename); '
                             f'got out_dir={out_dir!r}, backend_args={backend_args!r}')
        if meta is not None and not isinstance(meta, dict):
            raise TypeError(f'meta should be a dict or None, but got {type(meta)}')
        meta = dict(meta or {})
        if by_epoch:  # called from after_train_epoch, before the epoch counter moves on
            meta.setdefault('epoch', self.epoch + 1)
            meta.setdefault('iter', self.iter)
        else:
            meta.setdefault('epoch', self.epoch)
            meta.setdefault('iter', self.iter + 1)
        meta.update(cfg=self.cfg.pretty_text, seed=self.seed, world_size=self.world_size,
                    experiment_name=self.experiment_name,
                    time=time.strftime('%Y%m%d_%H%M%S', time.localtime()),
                    mmengine_version=mmengine.__version__)
        dataset = self.train_dataloader.dataset
        if hasattr(dataset, 'metainfo'):
            meta['dataset_meta'] = dataset.metainfo
        model = self.model.module if is_model_wrapper(self.model) else self.model
        to_cpu = (lambda x: hasattr(x, 'cpu'), lambda x: x.cpu())
        checkpoint = dict(meta=meta, state_dict=weights_to_cpu(model.state_dict()),
                          message_hub=apply_to(self.message_hub.state_dict(), *to_cpu))
        if save_optimizer:
            if not isinstance(self.optim_wrapper, OptimWrapper):
                raise TypeError('self.optim_wrapper should be an `OptimWrapper` or '
                                f'`OptimWrapperDict` instance, but got {self.optim_wrapper}')
            checkpoint['optimizer'] = apply_to(self.optim_wrapper.state_dict(), *to_cpu)
        if save_param_scheduler and self.param_schedulers is not None:
            if isinstance(self.param_schedulers, dict):
                checkpoint['param_schedulers'] = {
                    name: [s.state_dict() for s in group]
                    for name, group in self.param_schedulers.items()}
            else:
                checkpoint['param_schedulers'] = [s.state_dict() for s in self.param_schedulers]
        checkpoint['rng_state'] = rng_states
        checkpoint['hook_states'] = {n: h.state_dict() for n, h in self._stateful_hooks().items()}
        self.call_hook('before_save_checkpoint', checkpoint=checkpoint)
        atomic_save(to_weights_only(checkpoint), osp.join(out_dir, filename))

    # ---------------------------------------------------------------- loading
    def load_checkpoint(self,
                        filename: str,
                        map_location='cpu',
                        strict: bool = False,
                        revise_keys: list = [(r'^module\.', '')]):  # noqa: B006 (Runner's API)
        """Load ``filename`` into the model with ``torch.load(weights_only=True)``.

        Raises:
            CheckpointLoadError: the file is damaged or would run code when unpickled.
            ValueError: it does not fit the model: a shape differs, no key matches, or (resume)
                keys are missing or unexpected; the keys are named.
        """
        if self._prefetched is not None and self._prefetched[0] == filename:
            checkpoint = self._prefetched[1]
        else:
            checkpoint = load_checkpoint_safe(filename, map_location=map_location)
        self._prefetched = None
        if isinstance(checkpoint.get('message_hub'), dict):
            checkpoint['message_hub'] = restore_message_hub(checkpoint['message_hub'])
        self.call_hook('after_load_checkpoint', checkpoint=checkpoint)
        model = self.model.module if is_model_wrapper(self.model) else self.model
        state_dict = checkpoint.get('state_dict', checkpoint)

        def revise(name: str) -> str:
            for pattern, repl in revise_keys:
                name = re.sub(pattern, repl, name)
            return name

        metadata = getattr(state_dict, '_metadata', None)  # module versions, e.g. BatchNorm's
        state_dict = OrderedDict((revise(k), v) for k, v in state_dict.items())
        if metadata is not None:
            state_dict._metadata = OrderedDict((revise(k), v) for k, v in metadata.items())
        self._load_state_dict(model, state_dict, filename, strict or self._strict_load)
        self._has_loaded = True
        self.logger.info(f'Load checkpoint from {filename}')
        self._loaded_checkpoint = checkpoint
        return checkpoint

    @staticmethod
    def _load_state_dict(model, state_dict: dict, filename: str, strict: bool) -> None:
        name = type(model).__name__
        bad = [k for k, v in state_dict.items() if not isinstance(v, torch.Tensor)]
        if bad:
            raise ValueError(f'checkpoint "{filename}": the state dict holds non-tensors at '
                             f'{bad[:5]}; is it a model checkpoint?')
        own = model.state_dict()
        if not set(own) & set(state_dict):
            raise ValueError(f'checkpoint "{filename}" does not fit {name}: no key matches. File keys: '
                             f'{sorted(state_dict)[:5]}...; model keys: {sorted(own)[:5]}... '
                             'Is it a checkpoint of another architecture?')
        try:
            result = model.load_state_dict(state_dict, strict=strict)
        except RuntimeError as err:  # shape mismatches always, missing / unexpected keys if strict
            problems = '; '.join(line.strip() for line in str(err).splitlines()[1:] if line.strip())
            raise ValueError(f'checkpoint "{filename}" does not fit {name} (another architecture or '
                             f'config?): {problems or err}') from None
        if result.missing_keys or result.unexpected_keys:
            print_log(f'checkpoint "{filename}": keys of {name} left as initialised: '
                      f'{result.missing_keys}; keys of the file not used: {result.unexpected_keys}',
                      logger='current', level=logging.WARNING)

    def _resume_candidates(self) -> List[str]:
        """The pointer's target first, then ``epoch_N.pth`` / ``iter_N.pth``, newest first."""
        folders, pointer, first = [self.work_dir], osp.join(self.work_dir, 'last_checkpoint'), []
        if osp.isfile(pointer):
            with open(pointer) as f:
                target = f.read().strip()
            if target:  # a copied or moved work dir: its own file of that name wins
                local = osp.join(self.work_dir, osp.basename(target))
                first.append(local if osp.isfile(local) else target)
                folders.append(osp.dirname(first[0]))
        files = {f for d in folders for f in glob.glob(osp.join(d, '*.pth'))
                 if _CKPT_NAME.match(osp.basename(f))}
        ordered = sorted(files, key=lambda f: (osp.getmtime(f),
                                               int(_CKPT_NAME.match(osp.basename(f)).group(2))),
                         reverse=True)
        return list(dict.fromkeys(first + ordered))

    def find_resume_checkpoint(self) -> Optional[str]:
        """The newest checkpoint of the work dir that loads, or None if there is none.

        Damaged candidates are skipped with a warning; leftover ``.tmp`` files of an interrupted
        write are removed.

        Raises:
            CheckpointLoadError: checkpoints exist but none loads (each reason is given).
        """
        if is_main_process():
            for tmp in glob.glob(osp.join(self.work_dir, '*' + TMP_SUFFIX)):
                self.logger.info(f'Removing {tmp}, left by an interrupted checkpoint write')
                os.remove(tmp)
        failures = []
        for path in self._resume_candidates():
            if not osp.isfile(path):
                failures.append(f'{path}: missing')
                continue
            try:
                checkpoint = load_checkpoint_safe(path)
                meta = checkpoint.get('meta')
                if not isinstance(checkpoint.get('state_dict'), dict) or not isinstance(meta, dict) \
                        or 'epoch' not in meta or 'iter' not in meta:
                    raise CheckpointLoadError(f'checkpoint "{path}" has no state_dict or no '
                                              'meta epoch / iter; it is not a training checkpoint')
            except CheckpointLoadError as err:
                self.logger.warning(f'Resume: skipping {path}: {err}')
                failures.append(str(err))
                continue
            self._prefetched = (path, checkpoint)
            return path
        if failures:
            raise CheckpointLoadError(f'--resume: no checkpoint in {self.work_dir} can be loaded:\n  '
                                      + '\n  '.join(failures))
        return None

    def load_or_resume(self) -> None:
        if self._has_loaded:
            return
        if self._resume and self._load_from is None:
            path = self.find_resume_checkpoint()
            if path is None:
                self.logger.info(f'Resume: no checkpoint in {self.work_dir}; training from scratch')
                return
            self.logger.info(f'Resume: resuming from {path}')
            self.resume(path)
            return
        super().load_or_resume()

    def resume(self, filename: str, resume_optimizer: bool = True,
               resume_param_scheduler: bool = True, map_location='default') -> None:
        """``Runner.resume`` with strict weights, then the generator and hook states."""
        self._strict_load = True
        try:
            super().resume(filename, resume_optimizer, resume_param_scheduler, map_location)
        finally:
            self._strict_load = False
        checkpoint, self._loaded_checkpoint = self._loaded_checkpoint, None
        self.message_hub.update_info('last_ckpt', filename)  # the last good one, until the next save
        self._check_position(filename, checkpoint['meta'])
        states = checkpoint.get('rng_state')
        if states:
            if len(states) != self.world_size:
                self.logger.warning(f'{filename} was saved by {len(states)} processes, resumed with '
                                    f'{self.world_size}: not an exact resume')
            set_rng_state(states[self.rank % len(states)])
        else:
            self.logger.warning(f'{filename} holds no random generator states: not an exact resume')
        saved = checkpoint.get('hook_states', {})
        for name, hook in self._stateful_hooks().items():
            if name in saved:
                hook.load_state_dict(saved[name])

    def _check_position(self, filename: str, meta: dict) -> None:
        loop = self.train_loop
        if not isinstance(loop, EpochBasedTrainLoop):
            return
        per_epoch = len(loop.dataloader)
        done = meta['iter'] - meta['epoch'] * per_epoch
        if not 0 <= done < per_epoch:
            raise ValueError(f'{filename} is at epoch {meta["epoch"]}, iteration {meta["iter"]}, '
                             f'which does not fit epochs of {per_epoch} iterations: the training '
                             'set, batch size or number of processes differs from the run that '
                             'saved it')
        if done and loop.dataloader.num_workers > 0:
            self.logger.warning(f'{filename} was saved inside an epoch: the data-loader workers '
                                'restart with new random states, so the rest of this epoch is '
                                'not bit-exact (it is with num_workers=0)')
        if done and not isinstance(loop, ReIDEpochBasedTrainLoop):
            raise ValueError(f'{filename} was saved inside an epoch ({done} of {per_epoch} batches); '
                             f"resuming it needs train_cfg.type='ReIDEpochBasedTrainLoop', not "
                             f'{type(loop).__name__}, which would train those batches again')
