"""FusionReID against its two backbones alone: training-step images/s and peak memory, inference
images/s and % of this machine's fp32 GEMM peak.

Cases (random weights, built from the shipped configs):
- ``fusionreid``: the whole model (ResNet-50 + ViT-B/16 stride 12 + LRUs + 2 HTM layers + six heads,
  ``configs/fusionreid/fusionreid_market1501_256_s12.py`` at 256x128; ``--size demo``: the SynthReID
  model, ``fusionreid_synthreid.py``),
- ``cnn``: its CNN branch alone (same backbone, GeM, one BNNeck head; demo: ``r18_baseline_synthreid.py``),
- ``vit``: its ViT branch alone (same backbone with SIE, cls token, one BNNeck head; demo:
  ``vit_baseline_synthreid.py``).

Each case runs in a fresh subprocess (its memory figures are its own):
- training step: train mode, a P x 4 batch, ``model(x, samples, mode='loss')``, backward and the config's
  optimizer through MMEngine's ``OptimWrapper``; images/s = batch / median of ``--repeats`` steps after
  one warm-up step. Peak memory = the peak resident set size (sampled every 2 ms) during the steps minus
  the RSS before them (activations, gradients, optimizer state).
- inference: eval mode, ``torch.inference_mode``, ``model(x, samples, mode='tensor')``; FLOPs per image
  counted by ``torch.utils.flop_counter`` (with the CPU attention kernel); % of the GEMM peak = the
  model's GFLOP/s over a 4096^3 fp32 ``torch.mm`` timed right after each call (steadier than either
  number alone on a shared machine; ``benchmarks/models.py``).

    python benchmarks/fusionreid/bench_fusionreid.py [--size paper|demo] [--threads 1] [--repeats 3]

``--threads`` defaults to 1: on a 2-core machine shared by other jobs (load average well above 2), two
OpenMP threads spin at every barrier and a training step ran 20-30x slower than with one thread. The
script waits at most ``--wait`` seconds (default 60) for other processes to use under 0.3 cores, then
runs anyway and prints the cores they used.
"""
import argparse
import json
import os.path as osp
import subprocess
import sys
import time

import torch

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, REPO)
from benchmarks.models import (OtherLoad, PairedGEMM, RSSPeak, cpu_name, flop_counter,  # noqa: E402
                               median, wait_until_quiet)

CONFIGS = dict(
    paper=dict(fusionreid='configs/fusionreid/fusionreid_market1501_256_s12.py'),
    demo=dict(fusionreid='configs/fusionreid/fusionreid_synthreid.py',
              cnn='configs/fusionreid/r18_baseline_synthreid.py',
              vit='configs/fusionreid/vit_baseline_synthreid.py'))


def branch_alone(model_cfg: dict, branch: str) -> dict:
    """A single-backbone ReIDModel from one branch of a FusionReID config (paper size)."""
    cfg = model_cfg['backbones'][branch]
    neck = dict(type='GeM', p=3.0, learnable=True) if branch == 'cnn' else dict(type='TokenSelect', index=0)
    in_channels = model_cfg['neck']['cnn_channels' if branch == 'cnn' else 'vit_channels']
    return dict(type='ReIDModel',
                data_preprocessor=dict(type='ReIDDataPreprocessor', mean=cfg['mean'], std=cfg['std']),
                backbone=cfg['backbone'], neck=neck,
                head=dict(type='BNNeckHead', in_channels=in_channels, num_classes=751,
                          loss_triplet=dict(type='TripletLoss', margin=None), test_feat='before_bn'))


def build(case: str, size: str):
    from mmengine.config import Config

    import plugins.fusionreid  # noqa: F401
    from reidengine.registry import MODELS
    from reidengine.utils import register_all_modules
    register_all_modules()
    name = CONFIGS[size].get(case, CONFIGS[size]['fusionreid'])
    cfg = Config.fromfile(osp.join(REPO, name))
    model_cfg = cfg.model.to_dict()
    if size == 'paper':
        if case != 'fusionreid':
            model_cfg = branch_alone(model_cfg, case)
        else:
            model_cfg['head']['num_classes'] = 751
        hw = (256, 128)
    else:
        hw = tuple(cfg.img_size)
    torch.manual_seed(0)
    return MODELS.build(model_cfg), hw, cfg.optim_wrapper


def samples(batch: int):
    from reidengine.structures import ReIDDataSample
    return [ReIDDataSample(metainfo=dict(pid=i // 4, camid=i % 4)) for i in range(batch)]


def run_case(case: str, size: str, batch: int, train_batch: int, repeats: int) -> dict:
    from mmengine.optim import build_optim_wrapper
    before_build = RSSPeak.current_mib()
    model, hw, optim_cfg = build(case, size)
    result = dict(case=case, size=size, hw=hw, params_m=sum(p.numel() for p in model.parameters()) / 1e6,
                  build_mib=RSSPeak.current_mib() - before_build)
    gemm = PairedGEMM()
    # inference
    model.eval()
    x, s = torch.rand(batch, 3, *hw) * 255, samples(batch)
    with torch.inference_mode():
        with flop_counter() as counter:
            model(x[:1], s[:1], mode='tensor')
        flops = counter.get_total_flops()

        def infer():
            model(x, s, mode='tensor')
        start_rss = RSSPeak.current_mib()
        with RSSPeak() as peak, OtherLoad() as other:
            seconds, rates = [], []
            infer()
            gemm.gflops()
            for _ in range(repeats):
                t = time.perf_counter()
                infer()
                seconds.append(time.perf_counter() - t)
                rates.append(gemm.gflops())
    ips = batch / median(seconds)
    result.update(infer_img_s=ips, gflop_per_img=flops / 1e9,
                  infer_pct_gemm=100 * median([flops * batch / sec / 1e9 / r for sec, r in zip(seconds, rates)]),
                  gemm_gflops=median(rates), infer_peak_mib=peak.peak_mib - start_rss,
                  infer_other_cores=other.cores)
    # training step
    model.train()
    optim = build_optim_wrapper(model, optim_cfg)
    x, s = torch.rand(train_batch, 3, *hw) * 255, samples(train_batch)

    def step():
        losses = model(x, s, mode='loss')
        optim.update_params(sum(v for k, v in losses.items() if 'loss' in k))
    start_rss = RSSPeak.current_mib()
    with RSSPeak() as peak, OtherLoad() as other:
        times = []
        for i in range(repeats + 1):
            t = time.perf_counter()
            step()
            if i:
                times.append(time.perf_counter() - t)
    result.update(train_img_s=train_batch / median(times), train_peak_mib=peak.peak_mib - start_rss,
                  train_other_cores=other.cores, train_batch=train_batch, infer_batch=batch)
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--size', choices=('paper', 'demo'), default='demo')
    parser.add_argument('--cases', nargs='+', default=['cnn', 'vit', 'fusionreid'])
    parser.add_argument('--threads', type=int, default=1)
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--batch', type=int, default=None, help='inference batch (paper 8, demo 64)')
    parser.add_argument('--train-batch', type=int, default=None, help='P x 4 (paper 8, demo 64)')
    parser.add_argument('--wait', type=float, default=60.0)
    parser.add_argument('--case', help=argparse.SUPPRESS)
    parser.add_argument('--json', action='store_true')
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    batch = args.batch or (8 if args.size == 'paper' else 64)
    train_batch = args.train_batch or (8 if args.size == 'paper' else 64)
    if args.case:  # one case, in this (child) process
        print(json.dumps(run_case(args.case, args.size, batch, train_batch, args.repeats)))
        return
    with open('/proc/loadavg') as f:
        load = f.read().split()[:3]
    other = wait_until_quiet(max_cores=0.3, wait=min(args.wait, 60.0))
    print(f'CPU: {cpu_name()}; torch threads {args.threads}; load average before: {" ".join(load)}; '
          f'other processes used {other:.2f} cores just before the run')
    results = []
    for case in args.cases:
        cmd = [sys.executable, __file__, '--case', case, '--size', args.size, '--threads', str(args.threads),
               '--repeats', str(args.repeats), '--batch', str(batch), '--train-batch', str(train_batch)]
        out = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, check=True).stdout
        results.append(json.loads(out.strip().splitlines()[-1]))
    with open('/proc/loadavg') as f:
        load = f.read().split()[:3]
    print(f'load average after: {" ".join(load)}\n')
    base = {r['case']: r for r in results}
    print(f'| model ({args.size}, {results[0]["hw"][0]}x{results[0]["hw"][1]}) | params (M) | train img/s '
          f'(batch {train_batch}) | train peak MiB | infer img/s (batch {batch}) | GFLOP/img | % GEMM peak '
          f'| other cores (train / infer) |')
    print('|---|---|---|---|---|---|---|---|')
    for r in results:
        print(f'| {r["case"]} | {r["params_m"]:.1f} | {r["train_img_s"]:.2f} | {r["train_peak_mib"]:.0f} | '
              f'{r["infer_img_s"]:.1f} | {r["gflop_per_img"]:.2f} | {r["infer_pct_gemm"]:.0f}% | '
              f'{r["train_other_cores"]:.1f} / {r["infer_other_cores"]:.1f} |')
    if {'cnn', 'vit', 'fusionreid'} <= set(base):
        f, c, v = base['fusionreid'], base['cnn'], base['vit']
        both = 1 / (1 / c['train_img_s'] + 1 / v['train_img_s'])
        print(f'\nFusionReID training step vs the two backbones run one after the other: '
              f'{f["train_img_s"]:.2f} vs {both:.2f} img/s ({f["train_img_s"] / both:.2f}x); peak memory '
              f'{f["train_peak_mib"]:.0f} vs {c["train_peak_mib"]:.0f} + {v["train_peak_mib"]:.0f} MiB')
    if args.json:
        print(json.dumps(results))


if __name__ == '__main__':
    main()
