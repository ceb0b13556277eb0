"""Re-run the synthetic demo for some seeds and rewrite the README's demo table from the results.

    python tools/demo_table.py --seeds 0 1            # train + test each seed, then rewrite
    python tools/demo_table.py --seeds 0 1 --no-train # rewrite from the work dirs' results only

Each seed runs ``tools/train.py CONFIG --work-dir WORK_ROOT/seed<N> --cfg-options
randomness.seed=<N>`` one after the other (set ``REID_DATA_ROOT`` to reuse generated SynthReID
data), records the wall time, the CPU model and the 1-minute load average sampled during the run in
``WORK_ROOT/seed<N>/demo_run.json`` (an optional ``note`` there is printed with the run), and reads
the test results from ``results_test.json``. The README block between ``<!-- demo-table:begin -->``
and ``<!-- demo-table:end -->`` is then replaced: one row per seed, the fixed reference rows, and a
line saying where and when each run was measured.
"""
import argparse
import json
import os
import os.path as osp
import re
import subprocess
import sys
import textwrap
import threading
import time
from typing import Dict, List, Optional

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
BEGIN, END = '<!-- demo-table:begin -->', '<!-- demo-table:end -->'
UNSEEN, SEEN = 'synthreid_B', 'synthreid_A'  # the demo's test sets (SynthReID style B, then A)
# rows that do not depend on the model (benchmarks/SYNTHREID.md; chance: see the README)
REFERENCE_ROWS = [
    '| best colour histogram (grey-world + HSV stripes, `benchmarks/SYNTHREID.md`) | 2.0 / 1.5 '
    '| 2.3 / 0.2 |',
    '| chance (random ranking) | 1.3 / 1.0 | 1.3 / 1.0 |',
]


def cpu_model() -> str:
    with open('/proc/cpuinfo') as f:
        for line in f:
            if line.startswith('model name'):
                return line.split(':', 1)[1].strip()
    return 'unknown CPU'


def load_1min() -> float:
    with open('/proc/loadavg') as f:
        return float(f.read().split()[0])


class LoadSampler(threading.Thread):
    """The 1-minute load average every ``interval`` seconds while a run lasts."""

    def __init__(self, interval: float = 10.0):
        super().__init__(daemon=True)
        self.interval, self.samples, self.done = interval, [load_1min()], threading.Event()

    def run(self):
        while not self.done.wait(self.interval):
            self.samples.append(load_1min())


def run_seed(config: str, seed: int, work_dir: str, extra: List[str]) -> dict:
    cmd = [sys.executable, osp.join(REPO, 'tools', 'train.py'), config, '--work-dir', work_dir,
           '--cfg-options', f'randomness.seed={seed}', *extra]
    sampler = LoadSampler()
    sampler.start()
    start = time.time()
    subprocess.run(cmd, cwd=REPO, check=True)
    wall = time.time() - start
    sampler.done.set()
    sampler.join()
    record = dict(seed=seed, config=config, wall_s=round(wall, 1), cpu=cpu_model(),
                  cores=os.cpu_count(), load_start=sampler.samples[0],
                  load_mean=round(sum(sampler.samples) / len(sampler.samples), 2),
                  load_max=max(sampler.samples), date=time.strftime('%Y-%m-%d'),
                  data_root=os.environ.get('REID_DATA_ROOT', 'data/'))
    with open(osp.join(work_dir, 'demo_run.json'), 'w') as f:
        json.dump(record, f, indent=2)
    return record


def read_seed(work_dir: str) -> Dict:
    path = osp.join(work_dir, 'results_test.json')
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path} does not exist: run this seed first (without --no-train)')
    with open(path) as f:
        results = json.load(f)
    for name in (UNSEEN, SEEN):
        if name not in results:
            raise KeyError(f'{path} has no test set {name!r} (found {sorted(results)}); is it the '
                           'demo config?')
    run_path = osp.join(work_dir, 'demo_run.json')
    run = json.load(open(run_path)) if osp.isfile(run_path) else None
    return dict(results=results, run=run)


def pct(results: dict, name: str, key: str) -> str:
    return f'{100 * results[name][key]:.1f}'


def table_block(config: str, seeds: Dict[int, Dict]) -> str:
    lines = ['| model (trained on A) | B, unseen style | A, same style |', '|---|---|---|']
    for i, (seed, entry) in enumerate(sorted(seeds.items())):
        res = entry['results']
        name = f'this demo (`{config}`), seed {seed}' if i == 0 else \
            f'the same with `--cfg-options randomness.seed={seed}`'
        unseen = f'{pct(res, UNSEEN, "mAP")} / {pct(res, UNSEEN, "R1")}'
        lines.append(f'| {name} | {"**" + unseen + "**" if i == 0 else unseen} '
                     f'(R10 {pct(res, UNSEEN, "R10")}) | {pct(res, SEEN, "mAP")} / '
                     f'{pct(res, SEEN, "R1")} |')
    lines += REFERENCE_ROWS
    runs = [(seed, e['run']) for seed, e in sorted(seeds.items()) if e['run']]
    if runs:
        lines.append('')
        lines.append(textwrap.fill('Measured by `python tools/demo_table.py --seeds '
                     + ' '.join(str(s) for s in sorted(seeds)) + '` (train + test, and the data '
                     'generation where the data root lacked a set; the load average includes the '
                     'run itself): '
                     + '; '.join(f'seed {seed}: {r["date"]}, {r["cpu"]}, {r["cores"]} cores, '
                                 f'1-minute load average {r["load_mean"]} on average (max '
                                 f'{r["load_max"]}), wall time {fmt_time(r["wall_s"])}'
                                 + (f' ({r["note"]})' if r.get('note') else '')
                                 for seed, r in runs) + '.', width=104, break_long_words=False,
                                   break_on_hyphens=False))
    return '\n'.join(lines)


def fmt_time(seconds: float) -> str:
    minutes, secs = divmod(int(round(seconds)), 60)
    return f'{minutes} min {secs} s'


def rewrite(readme_text: str, block: str) -> str:
    pattern = re.compile(re.escape(BEGIN) + r'.*?' + re.escape(END), re.S)
    if not pattern.search(readme_text):
        raise ValueError(f'the README has no {BEGIN} ... {END} block to rewrite')
    return pattern.sub(lambda _: f'{BEGIN}\n{block}\n{END}', readme_text, count=1)


def parse_args(argv: Optional[List[str]] = None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--seeds', type=int, nargs='+', default=[0])
    parser.add_argument('--config', default='configs/demo/mobilenetv2_synthreid.py')
    parser.add_argument('--work-root', default='work_dirs/demo_table')
    parser.add_argument('--readme', default=osp.join(REPO, 'README.md'))
    parser.add_argument('--no-train', action='store_true',
                        help='only rewrite the table from existing work dirs')
    parser.add_argument('extra', nargs=argparse.REMAINDER,
                        help='after "--": more tools/train.py arguments')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    extra = [a for a in args.extra if a != '--']
    seeds = {}
    for seed in args.seeds:
        work_dir = osp.join(args.work_root, f'seed{seed}')
        if not args.no_train:
            os.makedirs(work_dir, exist_ok=True)
            print(run_seed(args.config, seed, work_dir, extra))
        seeds[seed] = read_seed(work_dir)
    block = table_block(args.config, seeds)
    with open(args.readme) as f:
        text = f.read()
    with open(args.readme, 'w') as f:
        f.write(rewrite(text, block))
    print(block)


if __name__ == '__main__':
    main()
