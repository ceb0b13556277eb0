"""Cost of the engine per training iteration against a bare PyTorch loop, and whether the data pipeline keeps up.

Engine vs bare loop (same model, same batches, same optimizer):

- the runner is built from a demo config (``ReIDRunner``, every default and custom hook of the config, logging
  every ``logger.interval`` iterations, param schedulers, the non-finite-loss check) and trains one epoch of
  ``--iters`` batches pre-loaded from the config's own training pipeline (no workers: the data cost is left
  out on both sides). A timing hook (first ``before_train_iter``, last ``after_train_iter``) times the
  iterations after ``--warmup``; epoch-level work (PAT's memory-bank fill before training, the checkpoint at
  the end of the epoch) is timed apart and amortised over a real epoch.
- the bare loop runs on the runner's own model and optimizer: ``data_preprocessor``, ``model(mode='loss')``,
  sum of the losses, ``zero_grad``, ``backward``, ``step``; nothing else.
- engine and bare loop alternate ``--repeats`` times (a fresh runner each time); medians are reported.

Data pipeline: the config's training DataLoader (its ``num_workers`` = 2, non-persistent workers, the
augmentations of the demo) iterated alone over ``--loader-epochs`` epochs gives images/s with and without
the worker start-up of each epoch; the bare-loop images/s is what it must keep up with. Finally the
engine trains ``--loader-epochs`` real epochs with that loader, to show the end-to-end rate when the workers
share the machine's cores with the training step.

    python benchmarks/engine_overhead.py [--config configs/pat/pat_synthreid.py ...] [--iters 25]
        [--repeats 3] [--threads 2]

SynthReID is generated under ``data/`` on first use (the engine does it). Run it on a quiet machine.
"""
import argparse
import contextlib
import copy
import os
import os.path as osp
import sys
import tempfile
import time

import torch

from models import OtherLoad, median, wait_until_quiet  # noqa: E402  (benchmarks/models.py, next to this script)

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
DEFAULT_CONFIGS = ('configs/pat/pat_synthreid.py', 'configs/pat/vit_baseline_synthreid.py',
                   'configs/demo/bot_r18_synthreid.py')


class PreloadedLoader:
    """Stands in for the training DataLoader: the same dataset and sampler, batches already in memory."""

    def __init__(self, batches, loader):
        self.batches = batches
        self.dataset = loader.dataset
        self.sampler = loader.sampler
        self.batch_sampler = loader.batch_sampler
        self.batch_size = loader.batch_size
        self.num_workers = 0
        self.persistent_workers = False

    def __len__(self):
        return len(self.batches)

    def __iter__(self):
        return iter(self.batches)


def timing_hook(warmup: int):
    """A hook recording the time of the iterations after ``warmup`` and of the epoch-level work."""
    from mmengine.hooks import Hook

    class First(Hook):
        priority = 'HIGHEST'

        def __init__(self):
            self.marks = {}

        def before_train(self, runner):
            self.marks['before_train'] = time.perf_counter()

        def before_train_iter(self, runner, batch_idx, data_batch=None):
            if batch_idx == warmup:
                self.marks['start'] = time.perf_counter()

        def after_train_epoch(self, runner):
            self.marks['epoch_end_start'] = time.perf_counter()

    class Last(Hook):
        priority = 'LOWEST'

        def __init__(self, first):
            self.first = first

        def before_train_epoch(self, runner):
            self.first.marks['train_ready'] = time.perf_counter()

        def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
            self.first.marks['end'] = time.perf_counter()
            self.first.marks['iters'] = batch_idx + 1 - warmup

        def after_train_epoch(self, runner):
            self.first.marks['epoch_end_done'] = time.perf_counter()

    first = First()
    return first, Last(first)


def load_cfg(path: str, work_dir: str):
    from reidengine.utils.config_knobs import read_config
    cfg = read_config(osp.join(REPO, path))
    cfg.work_dir = work_dir
    cfg.train_cfg.max_epochs = 1
    cfg.test_dataloader = cfg.test_evaluator = cfg.test_cfg = None
    return cfg


class Accounting:
    """Time spent in the engine's own per-iteration work: the iteration hooks, the optimizer step pre-hooks
    (``NonFiniteLossHook``'s gradient check) and ``parse_losses``, counted from iteration ``warmup`` on."""

    def __init__(self, runner, warmup: int):
        self.seconds = {}
        self.counting = False
        call_hook = runner.call_hook

        def timed_call_hook(fn_name, **kwargs):
            if fn_name == 'before_train_iter' and kwargs.get('batch_idx') == warmup:
                self.counting = True
            start = time.perf_counter()
            call_hook(fn_name, **kwargs)
            if fn_name in ('before_train_iter', 'after_train_iter'):
                self.add(f'hooks: {fn_name}', time.perf_counter() - start)

        runner.call_hook = timed_call_hook
        model = runner.model
        model.parse_losses = self.wrap('parse_losses', model.parse_losses)
        for hook in runner.hooks:
            if hasattr(hook, '_before_step'):  # registered on the optimizer in before_train
                hook._before_step = self.wrap(f'optimizer pre-step: {type(hook).__name__}', hook._before_step)

    def add(self, key: str, seconds: float) -> None:
        if self.counting:
            self.seconds[key] = self.seconds.get(key, 0.0) + seconds

    def wrap(self, key: str, fn):
        def timed(*args, **kwargs):
            start = time.perf_counter()
            out = fn(*args, **kwargs)
            self.add(key, time.perf_counter() - start)
            return out
        return timed


def per_hook_seconds(runner, warmup: int) -> dict:
    """Seconds spent in each hook's ``before_train_iter`` / ``after_train_iter`` (from iteration ``warmup``)."""
    totals = {}
    for hook in runner.hooks:
        for name in ('before_train_iter', 'after_train_iter'):
            fn = getattr(hook, name)

            def timed(*args, _fn=fn, _key=f'{type(hook).__name__}.{name}', **kwargs):
                start = time.perf_counter()
                out = _fn(*args, **kwargs)
                if kwargs.get('batch_idx', 0) >= warmup:
                    totals[_key] = totals.get(_key, 0.0) + time.perf_counter() - start
                return out
            setattr(hook, name, timed)
    return totals


def build_runner(cfg, batches=None, warmup: int = 0):
    from reidengine.utils.runner_utils import build_runner as build
    cfg = copy.deepcopy(cfg)
    cfg.experiment_name = f'engine_overhead_{time.time_ns()}'
    with contextlib.redirect_stdout(sys.stderr):  # the runner's log lines to stderr, the report to stdout
        runner = build(cfg)
    runner._train_loop = runner.build_train_loop(runner._train_loop)
    loop = runner.train_loop
    if batches is not None:
        loop.dataloader = PreloadedLoader(batches, loop.dataloader)
        loop._max_iters = loop.max_epochs * len(loop.dataloader)
    first, last = timing_hook(warmup)
    runner.register_hook(first)
    runner.register_hook(last)
    accounting = Accounting(runner, warmup)
    accounting.per_hook = per_hook_seconds(runner, warmup)
    return runner, first.marks, accounting


def preload(cfg, iters: int):
    """``iters`` collated batches of the config's training loader (built without workers)."""
    from reidengine.engine.runner import ReIDRunner
    loader_cfg = copy.deepcopy(cfg.train_dataloader)
    loader_cfg.update(num_workers=0, persistent_workers=False)
    loader = ReIDRunner.build_dataloader(loader_cfg, seed=0)
    batches = []
    while len(batches) < iters:
        for batch in loader:
            batches.append(batch)
            if len(batches) == iters:
                break
    return batches


def bare_loop(model, optimizer, batches, warmup: int) -> float:
    """Seconds per iteration of a plain PyTorch loop over ``batches`` (after ``warmup``)."""
    model.train()
    for i, data in enumerate(batches):
        if i == warmup:
            start = time.perf_counter()
        data = model.data_preprocessor(data, True)
        losses = model(**data, mode='loss')
        loss = sum(v for k, v in losses.items() if 'loss' in k)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return (time.perf_counter() - start) / (len(batches) - warmup)


def engine_vs_bare(cfg, batches, repeats: int, warmup: int, quiet: dict) -> dict:
    """Engine then bare loop, ``repeats`` times; a repeat during which other processes used more than
    ``quiet['max_other']`` cores is run again (at most ``quiet['retries']`` extra runs in all)."""
    engine, bare, fill, epoch_end, parts, hooks, others = [], [], [], [], [], [], []
    retries = quiet['retries']
    while len(engine) < repeats:
        wait_until_quiet(quiet['max_other'], quiet['wait'])
        with tempfile.TemporaryDirectory() as work_dir, OtherLoad() as other:
            cfg.work_dir = work_dir
            runner, marks, accounting = build_runner(cfg, batches, warmup)
            runner.train()
            model = runner.model
            bare_seconds = bare_loop(model, runner.optim_wrapper.optimizer, batches, warmup)
        engine_seconds = (marks['end'] - marks['start']) / marks['iters']
        print(f'  engine {1e3 * engine_seconds:.1f} ms/iter, bare {1e3 * bare_seconds:.1f} ms/iter, other '
              f'processes {other.cores:.2f} cores', file=sys.stderr, flush=True)
        if other.cores > quiet['max_other'] and retries > 0:
            retries -= 1
            continue
        engine.append(engine_seconds)
        bare.append(bare_seconds)
        others.append(other.cores)
        parts.append({k: v / marks['iters'] for k, v in accounting.seconds.items()})
        hooks.append({k: v / marks['iters'] for k, v in accounting.per_hook.items()})
        fill.append(marks['train_ready'] - marks['before_train'])
        epoch_end.append(marks['epoch_end_done'] - marks['epoch_end_start'])
    return dict(others=others, engine=median(engine), bare=median(bare), before_train=median(fill),
                epoch_end=median(epoch_end),
                engine_all=engine, bare_all=bare, batch=len(batches[0]['inputs']),
                parts={k: median([p.get(k, 0.0) for p in parts]) for k in parts[0]},
                hooks={k: median([h.get(k, 0.0) for h in hooks]) for k in hooks[0]})


def loader_alone(cfg, epochs: int) -> dict:
    """Images/s of the config's training DataLoader iterated alone, per epoch (workers started each epoch)."""
    from reidengine.engine.runner import ReIDRunner
    loader = ReIDRunner.build_dataloader(copy.deepcopy(cfg.train_dataloader), seed=0)
    first_batch, steady, images, steady_images = [], [], 0, 0
    total = 0.0
    for _ in range(epochs):
        start = time.perf_counter()
        it = iter(loader)
        batch = next(it)
        got_first = time.perf_counter()
        first_batch.append(got_first - start)
        n = len(batch['inputs'])
        images += n
        m = 0
        for batch in it:
            m += len(batch['inputs'])
        end = time.perf_counter()
        steady.append(end - got_first)
        steady_images += m
        images += m
        total += end - start
    return dict(ips=images / total, steady_ips=steady_images / sum(steady), first_batch=median(first_batch),
                num_workers=loader.num_workers, batches=len(loader), batch=loader.batch_size)


def engine_real_loader(cfg, epochs: int) -> dict:
    """The engine trained ``epochs`` epochs with the config's real DataLoader (workers)."""
    with tempfile.TemporaryDirectory() as work_dir:
        cfg = copy.deepcopy(cfg)
        cfg.work_dir = work_dir
        cfg.train_cfg.max_epochs = epochs
        cfg.default_hooks.checkpoint = dict(type='ReIDCheckpointHook', interval=epochs + 1, save_last=False)
        runner, marks, _ = build_runner(cfg, None, warmup=0)
        iters = []

        from mmengine.hooks import Hook

        class PerEpoch(Hook):
            priority = 'LOWEST'

            def before_train_epoch(self, runner):
                self.start = time.perf_counter()

            def after_train_epoch(self, runner):
                iters.append(time.perf_counter() - self.start)

        runner.register_hook(PerEpoch())
        runner.train()
        loader = runner.train_dataloader
        return dict(epoch_seconds=median(iters), iters=len(loader), batch=loader.batch_size,
                    ips=len(loader) * loader.batch_size / median(iters))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--config', nargs='*', default=list(DEFAULT_CONFIGS))
    parser.add_argument('--iters', type=int, default=25, help='pre-loaded batches per engine / bare run '
                        '(25 = one SynthReID epoch)')
    parser.add_argument('--warmup', type=int, default=3, help='iterations left out of each timing')
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--loader-epochs', type=int, default=2)
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--skip-loader', action='store_true', help='only engine vs bare loop')
    parser.add_argument('--max-other', type=float, default=0.15, help='most cores other processes may use '
                        'during a repeat; a repeat run while they used more is run again (--retries)')
    parser.add_argument('--retries', type=int, default=4, help='extra repeats allowed per config')
    parser.add_argument('--wait', type=float, default=1800, help='seconds to wait for a quiet machine each time')
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    os.chdir(REPO)

    import plugins.pat  # noqa: F401
    from models import cpu_name
    from reidengine.utils import register_all_modules
    register_all_modules(init_default_scope=True)

    print(f'machine: {cpu_name()}, {os.cpu_count()} CPUs, torch {torch.__version__}, {args.threads} threads')
    quiet = dict(max_other=args.max_other, retries=args.retries, wait=args.wait)
    for path in args.config:
        with tempfile.TemporaryDirectory() as work_dir:
            cfg = load_cfg(path, work_dir)
            print(f'\n### {path}', flush=True)
            batches = preload(cfg, args.iters)
            r = engine_vs_bare(cfg, batches, args.repeats, args.warmup, quiet)
            real_epoch = len(batches)  # replaced below by the real loader's length when measured
            overhead = r['engine'] / r['bare'] - 1
            print(f'batch {r["batch"]}, {args.iters} pre-loaded batches, {args.warmup} warm-up iterations left out, '
                  f'median of {args.repeats}; other processes used {[round(c, 2) for c in r["others"]]} cores')
            print('| loop | ms / iteration | images/s | overhead vs bare |')
            print('|---|---|---|---|')
            print(f'| bare PyTorch loop | {1e3 * r["bare"]:.1f} | {r["batch"] / r["bare"]:.1f} | |')
            print(f'| engine (ReIDRunner, hooks, logging) | {1e3 * r["engine"]:.1f} | {r["batch"] / r["engine"]:.1f} | '
                  f'{100 * overhead:+.1f}% |')
            print(f'all repeats (ms): engine {[round(1e3 * t, 1) for t in r["engine_all"]]}, '
                  f'bare {[round(1e3 * t, 1) for t in r["bare_all"]]}')
            own = sum(r['parts'].values())
            print(f'\nThe engine\'s own work per iteration, timed directly (median of {args.repeats}):')
            print('| part | ms / iteration | % of the bare step |')
            print('|---|---|---|')
            for key, sec in sorted(r['parts'].items(), key=lambda kv: -kv[1]):
                print(f'| {key} | {1e3 * sec:.2f} | {100 * sec / r["bare"]:.2f}% |')
            print(f'| **total** | {1e3 * own:.2f} | **{100 * own / r["bare"]:.2f}%** |')
            top = sorted(r['hooks'].items(), key=lambda kv: -kv[1])[:5]
            print('hooks taking the most: ' + ', '.join(f'{k} {1e3 * v:.2f} ms' for k, v in top))
            if not args.skip_loader:
                wait_until_quiet(args.max_other, args.wait)
                with OtherLoad() as other_d:
                    d = loader_alone(cfg, args.loader_epochs)
                real_epoch = d['batches']
                wait_until_quiet(args.max_other, args.wait)
                with OtherLoad() as other_e:
                    e = engine_real_loader(cfg, args.loader_epochs)
                print(f'\nData pipeline ({d["num_workers"]} workers, batch {d["batch"]}, {d["batches"]} batches '
                      f'per epoch, {args.loader_epochs} epochs; other processes used {other_d.cores:.2f} cores '
                      f'during the loader alone, {other_e.cores:.2f} during the engine with it):')
                print('| what | images/s |')
                print('|---|---|')
                print(f'| DataLoader alone, steady state | {d["steady_ips"]:.0f} |')
                print(f'| DataLoader alone, with worker start-up each epoch ({1e3 * d["first_batch"]:.0f} ms to the '
                      f'first batch) | {d["ips"]:.0f} |')
                print(f'| training step, bare loop (what the loader must feed) | {r["batch"] / r["bare"]:.1f} |')
                print(f'| engine, pre-loaded batches | {r["batch"] / r["engine"]:.1f} |')
                print(f'| engine with the real DataLoader (whole epochs, workers sharing the cores) | {e["ips"]:.1f} |')
            epochs, every = schedule(path)
            per_iter = r['before_train'] / (real_epoch * epochs) + r['epoch_end'] / (real_epoch * every)
            print(f'\nEpoch-level work: before training {1e3 * r["before_train"]:.0f} ms (PAT: memory-bank fill; once '
                  f'per run), checkpoint {1e3 * r["epoch_end"]:.0f} ms (every {every} epochs); over the demo schedule '
                  f'({epochs} epochs of {real_epoch} iterations) {1e3 * per_iter:.1f} ms per iteration '
                  f'= {100 * per_iter / r["bare"]:.1f}% of the bare step')


def schedule(path: str):
    """(epochs of the config's schedule, checkpoint interval in epochs)."""
    from reidengine.utils.config_knobs import read_config
    cfg = read_config(osp.join(REPO, path))
    return int(cfg.train_cfg.max_epochs), int(cfg.default_hooks.checkpoint.get('interval', 1))


if __name__ == '__main__':
    main()
