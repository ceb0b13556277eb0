"""MDPR speed and memory: training-step images/s and peak memory, inference images/s and % of the
machine's fp32 GEMM peak, for the network a config builds (random weights).

- inference: eval mode, ``torch.inference_mode``, ``model(x, mode='tensor')`` (the 4,608-d test
  feature for the full model) on normalised float images in the config's layout (NHWC); FLOPs of
  one image counted by ``FlopCounterMode``; % of GEMM = the model's GFLOP/s over the GFLOP/s of a
  4096^3 fp32 ``torch.mm`` timed right after each call (steadier than either number on a shared
  machine), median over the repeats (helpers of ``benchmarks/models.py``).
- training step: train mode, P x K batch, ``mode='loss'`` (every term of eq. 9), backward and the
  config's optimiser through MMEngine's ``OptimWrapper``; FLOPs of forward + backward counted on the
  warm-up step; peak memory = peak resident set size above the RSS before training (sampled every
  2 ms) and the process peak (libraries included), or ``torch.cuda.max_memory_allocated`` on CUDA.

    python benchmarks/mdpr/bench_mdpr.py [--config configs/mdpr/mdpr_market1501.py] [--batch 4]
        [--train-batch 4] [--instances 2] [--repeats 2] [--threads 1] [--device cpu|cuda]

Waits at most ``--wait`` (60) seconds for a quiet machine, then runs and reports the load it saw.
The full model at 384 x 192 on a CPU: use batches of 2-4 (a training step of 4 takes minutes).
"""
import argparse
import copy
import json
import os
import os.path as osp
import sys
import time

import torch

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, osp.join(REPO, 'benchmarks'))
sys.path.insert(0, REPO)

from models import (OtherLoad, PairedGEMM, RSSPeak, cpu_name, flop_counter, median,  # noqa: E402
                    paired, wait_until_quiet)


def build(config: str):
    from mmengine.config import Config

    import plugins.mdpr  # noqa: F401
    from reidengine.registry import MODELS
    from reidengine.utils import register_all_modules

    register_all_modules()
    cfg = Config.fromfile(osp.join(REPO, config))
    model_cfg = copy.deepcopy(cfg.model.to_dict())
    model_cfg['backbone']['pretrained'] = None
    torch.manual_seed(0)
    hw = tuple(cfg.get('img_size', (384, 192)))
    return MODELS.build(model_cfg), hw, cfg.optim_wrapper


def samples(batch: int, instances: int):
    from reidengine.structures import ReIDDataSample
    return [ReIDDataSample(metainfo=dict(pid=i // instances, camid=i % 2)) for i in range(batch)]


def run(args) -> dict:
    from mmengine.optim import build_optim_wrapper

    device = torch.device(args.device)
    gemm = PairedGEMM() if device.type == 'cpu' else None
    rss0 = RSSPeak.current_mib()
    model, (h, w), optim_cfg = build(args.config)
    model.to(device)
    out = dict(config=args.config, hw=f'{h}x{w}', batch=args.batch, train_batch=args.train_batch,
               params_m=sum(p.numel() for p in model.parameters()) / 1e6,
               rss_model_mib=RSSPeak.current_mib() - rss0)
    gen = torch.Generator().manual_seed(0)
    layout = torch.channels_last if getattr(model.data_preprocessor, 'channels_last', False) \
        else torch.contiguous_format
    images = torch.randn(args.batch, 3, h, w, generator=gen).to(device).contiguous(memory_format=layout)

    def timed(fn):
        if gemm is not None:
            return paired(fn, gemm, args.repeats)
        fn()
        torch.cuda.synchronize()
        seconds = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            fn()
            torch.cuda.synchronize()
            seconds.append(time.perf_counter() - start)
        return seconds, [float('nan')] * len(seconds)

    model.eval()
    with torch.inference_mode():
        with flop_counter() as counter:
            feat = model(images[:1], mode='tensor')
        flops = counter.get_total_flops()
        seconds, rates = timed(lambda: model(images, mode='tensor'))
    out.update(feature_dim=feat.shape[1], gflop_per_image=flops / 1e9, infer_ips=args.batch / median(seconds),
               infer_gflops=flops * args.batch / median(seconds) / 1e9,
               infer_peak_share=median([flops * args.batch / t / 1e9 / g for t, g in zip(seconds, rates)]),
               infer_gemm=median(rates))

    model.train()
    optim_wrapper = build_optim_wrapper(model, copy.deepcopy(optim_cfg))
    train_images = torch.randn(args.train_batch, 3, h, w, generator=gen).to(device).contiguous(
        memory_format=layout)
    train_samples = samples(args.train_batch, args.instances)

    def step():
        losses = model(train_images, train_samples, mode='loss')
        optim_wrapper.update_params(sum(v for k, v in losses.items() if 'loss' in k))

    with flop_counter() as counter:
        step()
    train_flops = counter.get_total_flops() / args.train_batch
    if device.type == 'cuda':
        torch.cuda.reset_peak_memory_stats()
    rss_start = RSSPeak.current_mib()
    with RSSPeak() as rss:
        seconds, rates = timed(step)
    out.update(train_ips=args.train_batch / median(seconds), train_gflop_per_image=train_flops / 1e9,
               train_gflops=train_flops * args.train_batch / median(seconds) / 1e9,
               train_peak_share=median([train_flops * args.train_batch / t / 1e9 / g
                                        for t, g in zip(seconds, rates)]),
               train_gemm=median(rates), rss_train_mib=rss.peak_mib - rss_start,
               rss_process_peak_mib=rss.peak_mib - (gemm.mib if gemm else 0))
    if device.type == 'cuda':
        out['cuda_peak_mib'] = torch.cuda.max_memory_allocated() / 2 ** 20
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--config', default='configs/mdpr/mdpr_market1501.py')
    parser.add_argument('--batch', type=int, default=4, help='inference batch')
    parser.add_argument('--train-batch', type=int, default=4, help='training batch (P x K)')
    parser.add_argument('--instances', type=int, default=2, help='K images per identity in the training batch')
    parser.add_argument('--repeats', type=int, default=2)
    parser.add_argument('--threads', type=int, default=1)
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--wait', type=float, default=60, help='most seconds to wait for a quiet machine')
    parser.add_argument('--max-other', type=float, default=0.15)
    parser.add_argument('--json', help='also write the raw numbers to this file')
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    quiet = wait_until_quiet(args.max_other, args.wait)
    with open('/proc/loadavg') as f:
        load_before = f.read().split()[:3]
    with OtherLoad() as other:
        r = run(args)
    with open('/proc/loadavg') as f:
        load_after = f.read().split()[:3]
    r.update(cpu=cpu_name(), cpus=os.cpu_count(), threads=args.threads, torch=torch.__version__,
             other_cores_before=quiet, other_cores_during=other.cores, loadavg_before=load_before,
             loadavg_after=load_after)
    print(json.dumps(r, indent=1))
    print(f'\n| config | input | params (M) | test dim | GFLOP/img fwd | inference img/s (batch) | % of GEMM '
          f'| GEMM GFLOP/s | train img/s (batch) | train GFLOP/img | train % of GEMM | +RSS training | '
          f'process peak | other cores | load avg |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n'
          f'| {osp.basename(r["config"])} | {r["hw"]} | {r["params_m"]:.1f} | {r["feature_dim"]} | '
          f'{r["gflop_per_image"]:.1f} | {r["infer_ips"]:.2f} ({r["batch"]}) | {100 * r["infer_peak_share"]:.0f}% | '
          f'{r["infer_gemm"]:.0f} | {r["train_ips"]:.2f} ({r["train_batch"]}) | {r["train_gflop_per_image"]:.1f} | '
          f'{100 * r["train_peak_share"]:.0f}% | {r["rss_train_mib"]:.0f} MiB | {r["rss_process_peak_mib"]:.0f} MiB | '
          f'{r["other_cores_during"]:.2f} | {" ".join(r["loadavg_before"])} |')
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(r, f, indent=1)


if __name__ == '__main__':
    main()
