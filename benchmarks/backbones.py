"""Inference speed of the ViT-family backbones against this machine's fp32 GEMM peak.

For each backbone (random weights, eval mode, ``torch.inference_mode``) the script reports images/s at the
given batch and the achieved GFLOP/s = FLOPs of one forward / median time. FLOPs: linear layers and the patch
conv counted by ``torch.utils.flop_counter.FlopCounterMode``, plus the attention matmuls (q k^T and attn v,
4 T^2 D per block, full T x T also under a mask) added analytically when the counter has no formula for the
CPU ``scaled_dot_product_attention`` kernel. The peak is the
best of a few ``torch.mm`` of two ``--gemm-size``^2 fp32 matrices (2 n^3 FLOPs each) in the same process.

    python benchmarks/backbones.py [--batch 32] [--demo-batch 64] [--repeats 3] [--only NAME ...]

Run it on a quiet machine (``uptime`` load below 1); it prints a markdown table.
"""
import argparse
import os
import platform
import time

import torch
from torch.utils.flop_counter import FlopCounterMode

from reidengine.models.backbones import CLIPViTReID, DINOv2ReID, ViTReID

# name -> (class, constructor args, input (H, W), uses the part-token mask, demo size)
CASES = {
    'ViT-B/16 256x128 (baseline, PAT w/o mask)': (ViTReID, dict(), (256, 128), False, False),
    'ViT-B/16 256x128 +3 part tokens + mask (PAT)': (ViTReID, dict(num_extra_tokens=3), (256, 128), True, False),
    'ViT-B/16 256x128 stride 12 + SIE (TransReID/FusionReID)': (
        ViTReID, dict(stride_size=12, sie_num_cams=6), (256, 128), False, False),
    'CLIP ViT-B/16 256x128 (DRFormer)': (CLIPViTReID, dict(num_extra_tokens=2), (256, 128), False, False),
    'DINOv2 ViT-B/14 252x126 (DRFormer)': (DINOv2ReID, dict(num_extra_tokens=2), (252, 126), False, False),
    'demo: ViT-B/16 128x64': (ViTReID, dict(img_size=(128, 64)), (128, 64), False, True),
    'demo: ViT dim 192 depth 6 128x64': (
        ViTReID, dict(arch=dict(embed_dim=192, depth=6, num_heads=3), img_size=(128, 64)), (128, 64), False, True),
}


def median_seconds(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


def gemm_peak_gflops(size: int, repeats: int) -> float:
    a, b = torch.randn(size, size), torch.randn(size, size)
    torch.mm(a, b)
    best = min(_timed_once(lambda: torch.mm(a, b)) for _ in range(repeats))
    return 2 * size ** 3 / best / 1e9


def _timed_once(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def part_mask(model: ViTReID) -> torch.Tensor:
    """A PAT-like mask: part token p sees itself and the patches of one of three horizontal bands."""
    rows, cols = model.grid_size
    prefix = model.num_prefix_tokens
    total = prefix + rows * cols
    mask = torch.ones(total, total, dtype=torch.bool)
    mask[:, 1:prefix] = False
    for p, (top, bottom) in enumerate(((0, rows // 2), (rows // 4, 3 * rows // 4), (rows // 2, rows))):
        row = torch.zeros(total, dtype=torch.bool)
        row[1 + p] = True
        row[prefix + top * cols: prefix + bottom * cols] = True
        mask[1 + p] = row
    return mask


def sdpa_is_counted() -> bool:
    q = torch.randn(1, 1, 4, 8)
    with torch.inference_mode(), FlopCounterMode(display=False) as counter:
        torch.nn.functional.scaled_dot_product_attention(q, q, q)
    return counter.get_total_flops() > 0


def run_case(name, batch, repeats):
    cls, kwargs, (height, width), masked, _ = CASES[name]
    torch.manual_seed(0)
    model = cls(drop_path_rate=0.0, **kwargs).eval()
    mask = part_mask(model) if masked else None
    camids = torch.zeros(batch, dtype=torch.long) if model.uses_camera else None
    images = torch.randn(batch, 3, height, width)
    with torch.inference_mode():
        with FlopCounterMode(display=False) as counter:
            model(images[:1], None if camids is None else camids[:1], mask)
        tokens = model.num_prefix_tokens + model.grid_size[0] * model.grid_size[1]
        flops_per_image = counter.get_total_flops()
        if not sdpa_is_counted():
            flops_per_image += 4 * tokens ** 2 * model.width * len(model.blocks)
        seconds = median_seconds(lambda: model(images, camids, mask), repeats)
    return dict(tokens=tokens, gflop_per_image=flops_per_image / 1e9, images_per_s=batch / seconds,
                gflops=flops_per_image * batch / seconds / 1e9)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--batch', type=int, default=32, help='batch of the paper-resolution cases')
    parser.add_argument('--demo-batch', type=int, default=64, help='batch of the demo-size cases')
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--gemm-size', type=int, default=4096)
    parser.add_argument('--only', nargs='*', default=None, help='substrings of case names to run')
    args = parser.parse_args(argv)

    peak = gemm_peak_gflops(args.gemm_size, args.repeats)
    print(f'machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, '
          f'torch {torch.__version__}, {torch.get_num_threads()} threads, load {os.getloadavg()[0]:.2f}')
    print(f'fp32 GEMM peak (torch.mm {args.gemm_size}^3, best of {args.repeats}): {peak:.1f} GFLOP/s\n')
    print('| backbone | tokens | batch | GFLOP / image | images/s | GFLOP/s | % of GEMM peak |')
    print('|---|---|---|---|---|---|---|')
    for name, case in CASES.items():
        if args.only and not any(s in name for s in args.only):
            continue
        batch = args.demo_batch if case[4] else args.batch
        r = run_case(name, batch, args.repeats)
        print(f'| {name} | {r["tokens"]} | {batch} | {r["gflop_per_image"]:.2f} | {r["images_per_s"]:.1f} | '
              f'{r["gflops"]:.1f} | {100 * r["gflops"] / peak:.0f}% |', flush=True)


if __name__ == '__main__':
    main()
