"""DRFormer at full size (DINOv2 ViT-B/14 at 252x126 + CLIP ViT-B/16 at 256x128, random weights, built from
``configs/drformer/drformer_market1501.py``): training-step time and peak memory with and without gradient
checkpointing in both encoders, and inference throughput against this machine's fp32 GEMM peak.

Each (checkpointing, batch) case runs in a fresh subprocess, so its memory figures are its own:

- training step: train mode, a P x 4 batch (identities 0..P-1, random cameras), ``model(x, samples,
  mode='loss')``, backward over the sum of the losses, ``torch.optim.Adam`` step, ``zero_grad(set_to_none)``.
  Two steps: the first allocates gradients and Adam's two moments; the second is the steady state that
  is reported (peak resident set size sampled every 2 ms during it, and its time).
- static memory (parameters + gradients + Adam moments, fp32) = 16 bytes per parameter; the activation
  part of the peak grows linearly with the batch, so two batches give ``peak(b) = a + c * b`` and the
  value at batch 64 (16 ids x 4, the configs' batch) is that line's (a calculation, not a measurement).
- inference: eval mode, ``torch.inference_mode``, ``model(x, mode='tensor')``; FLOPs counted by
  ``FlopCounterMode`` (``benchmarks/models.py``'s counter, which also counts CPU flash attention); each
  timed call is followed by a 4096^3 fp32 GEMM, and the model's GFLOP/s over that GEMM's (median over the
  repeats) is the % of the GEMM peak (steady on a shared machine, where absolute speeds are not).

    python benchmarks/drformer/memory_speed.py [--batches 2 4] [--infer-batch 8] [--repeats 3] [--threads 1]

On a shared machine: it records the load average and the CPU time other processes used while each case ran;
it does not wait for a quiet machine. Results of a run: ``benchmarks/drformer/README.md``.
"""
import argparse
import ctypes
import json
import os
import os.path as osp
import subprocess
import sys
import time

import torch

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, REPO)
from benchmarks.models import (OtherLoad, PairedGEMM, RSSPeak, cpu_name, flop_counter,  # noqa: E402
                               gemm_peak_gflops, median, paired)

CONFIG = 'configs/drformer/drformer_market1501.py'


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        'arena', 'ordblks', 'smblks', 'hblks', 'hblkhd', 'usmblks', 'fsmblks', 'uordblks', 'fordblks',
        'keepcost')]


class HeapPeak(RSSPeak):
    """Peak of the bytes malloc has handed out and not taken back (glibc ``mallinfo2``: in-use arena
    bytes + mmapped blocks), sampled like ``RSSPeak``. Unlike the RSS it excludes memory freed but kept
    by the allocator, so it follows the tensors alive (what a GPU caching allocator's peak counts)."""

    _libc = ctypes.CDLL('libc.so.6')
    _libc.mallinfo2.restype = _MallInfo2

    @classmethod
    def current_mib(cls) -> float:
        info = cls._libc.mallinfo2()
        return (info.uordblks + info.hblkhd) / 2 ** 20


def build(grad_checkpointing: bool):
    from mmengine.config import Config

    import plugins.drformer  # noqa: F401
    from reidengine.registry import MODELS
    from reidengine.utils import register_all_modules

    register_all_modules()
    cfg = Config.fromfile(osp.join(REPO, CONFIG))
    for enc in cfg.model.backbones.values():
        enc.backbone.grad_checkpointing = grad_checkpointing
    torch.manual_seed(0)
    return MODELS.build(cfg.model)


def samples(batch: int):
    from reidengine.structures import ReIDDataSample
    gen = torch.Generator().manual_seed(0)
    cams = torch.randint(0, 6, (batch,), generator=gen)
    return [ReIDDataSample(metainfo=dict(pid=i // 4, camid=int(c))) for i, c in enumerate(cams)]


def train_case(grad_checkpointing: bool, batch: int) -> dict:
    rss_start = RSSPeak.current_mib()
    model = build(grad_checkpointing).train()
    params = sum(p.numel() for p in model.parameters())
    rss_model = RSSPeak.current_mib()
    optimizer = torch.optim.Adam(model.parameters(), lr=5e-6, weight_decay=1e-4)
    x = torch.rand(batch, 3, 256, 128, generator=torch.Generator().manual_seed(0)) * 255
    data = samples(batch)

    after_forward = []

    def step():
        losses = model(x, data, mode='loss')
        after_forward.append(HeapPeak.current_mib())  # + the activations kept for the backward pass
        sum(v for k, v in losses.items() if 'loss' in k).backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    times, peaks = [], []
    heap_model = HeapPeak.current_mib()
    with OtherLoad() as load:
        for _ in range(2):
            before = (RSSPeak.current_mib(), HeapPeak.current_mib())
            with RSSPeak() as rss, HeapPeak() as heap:
                start = time.perf_counter()
                step()
                times.append(time.perf_counter() - start)
            peaks.append((before, rss.peak_mib, heap.peak_mib))
    (rss_before, heap_before), rss_peak, heap_peak = peaks[-1]
    return dict(params=params, rss_start_mib=rss_start, rss_model_mib=rss_model, heap_model_mib=heap_model,
                step_s=times[-1], first_step_s=times[0], rss_before_step_mib=rss_before,
                rss_peak_mib=rss_peak, heap_before_step_mib=heap_before, heap_peak_mib=heap_peak,
                activations_mib=after_forward[-1] - heap_before, other_cores=load.cores)


def infer_case(batch: int, repeats: int) -> dict:
    model = build(False).eval()
    x = torch.rand(batch, 3, 256, 128) * 255
    data = samples(batch)  # camera ids for SIE
    with torch.inference_mode():
        with flop_counter() as counter:
            model(x[:1], data[:1], mode='tensor')
        flops = counter.get_total_flops()
        gemm = PairedGEMM()
        with OtherLoad() as load:
            seconds, rates = paired(lambda: model(x, data, mode='tensor'), gemm, repeats)
    ratios = [batch * flops / s / 1e9 / r for s, r in zip(seconds, rates)]
    return dict(gflop_per_image=flops / 1e9, images_per_s=batch / median(seconds),
                gemm_gflops=median(rates), pct_of_gemm=100 * median(ratios), other_cores=load.cores)


def run_subprocess(args: list, threads: int) -> dict:
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads),
               PYTHONPATH=REPO + os.pathsep + os.environ.get('PYTHONPATH', ''))
    out = subprocess.run([sys.executable, __file__, '--worker', *args, '--threads', str(threads)],
                         capture_output=True, text=True, env=env, check=False)
    if out.returncode:
        raise RuntimeError(f'case {args} failed:\n{out.stderr[-3000:]}')
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--batches', type=int, nargs='+', default=[2, 4], help='training batches (multiples of 4 '
                        'or 2: identities of 4 images, the last one partial)')
    parser.add_argument('--infer-batch', type=int, default=8)
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--threads', type=int, default=1)
    parser.add_argument('--json', default=None, help='also write the raw numbers here')
    parser.add_argument('--worker', nargs='+', default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.worker:
        kind, *rest = args.worker
        result = (train_case(rest[0] == 'ckpt', int(rest[1])) if kind == 'train'
                  else infer_case(int(rest[0]), args.repeats))
        print(json.dumps(result))
        return

    print(f'# DRFormer full size on {cpu_name()}, {args.threads} thread(s), torch {torch.__version__}; '
          f'load average at start {open("/proc/loadavg").read().split()[0]}')
    print(f'fp32 GEMM 4096^3 best: {gemm_peak_gflops():.0f} GFLOP/s\n')
    rows = {}
    for ckpt in ('off', 'ckpt'):
        for batch in args.batches:
            rows[(ckpt, batch)] = run_subprocess(['train', ckpt, str(batch)], args.threads)
            print(f'train ckpt={ckpt} batch={batch}: {json.dumps(rows[(ckpt, batch)])}', flush=True)
    infer = run_subprocess(['infer', str(args.infer_batch)], args.threads)
    params = rows[('off', args.batches[0])]['params']
    static_mib = 16 * params / 2 ** 20
    print(f'\nparameters: {params / 1e6:.1f} M; static training memory (fp32 weights + grads + 2 Adam '
          f'moments, 16 B each): {static_mib / 1024:.2f} GiB\n')
    print('| gradient checkpointing | batch | step time (s) | peak RSS (GiB) | peak in-use heap (GiB) | '
          'activations after the forward (MiB) | other processes (cores) |')
    print('|---|---|---|---|---|---|---|')
    for (ckpt, batch), r in rows.items():
        print(f'| {"on" if ckpt == "ckpt" else "off"} | {batch} | {r["step_s"]:.1f} | '
              f'{r["rss_peak_mib"] / 1024:.2f} | {r["heap_peak_mib"] / 1024:.2f} | '
              f'{r["activations_mib"]:.0f} | {r["other_cores"]:.1f} |')
    if len(args.batches) >= 2:
        b0, b1 = args.batches[0], args.batches[-1]
        print('\nby calculation (activations linear in the batch through the two measured batches; peak between '
              'weights + Adam + activations at the end of the forward and that + all gradients):')
        for ckpt in ('off', 'ckpt'):
            a0, a1 = rows[(ckpt, b0)]['activations_mib'], rows[(ckpt, b1)]['activations_mib']
            per_image = (a1 - a0) / (b1 - b0)
            fixed = a0 - per_image * b0
            base = 12 * params / 2 ** 20  # fp32 weights + 2 Adam moments
            grads = 4 * params / 2 ** 20
            for batch in (8, 64):
                acts = fixed + batch * per_image
                state = 'on' if ckpt == 'ckpt' else 'off'
                print(f'- checkpointing {state}, batch {batch}: activations {acts / 1024:.2f} GiB '
                      f'({per_image:.1f} MiB per image), step peak {(base + acts) / 1024:.1f}-'
                      f'{(base + acts + grads) / 1024:.1f} GiB')
        for batch in args.batches:
            ratio = rows[('ckpt', batch)]['step_s'] / rows[('off', batch)]['step_s']
            print(f'- step time with / without checkpointing at batch {batch}: {ratio:.2f}x')
    print(f'\ninference, batch {args.infer_batch}: {infer["gflop_per_image"]:.1f} GFLOP / image, '
          f'{infer["images_per_s"]:.2f} images/s, {infer["pct_of_gemm"]:.0f}% of the GEMM measured next to it '
          f'({infer["gemm_gflops"]:.0f} GFLOP/s); other processes used {infer["other_cores"]:.1f} cores')
    print(f'load average at the end {open("/proc/loadavg").read().split()[0]}')
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(dict(train={f'{k[0]}_{k[1]}': v for k, v in rows.items()}, infer=infer), f, indent=1)


if __name__ == '__main__':
    main()
