"""Cost of AAformer's Multi-head Auto-Alignment per forward against the plain ViT of the same size.

Backbones (random weights, ``ViTReID`` built as the AAformer configs build it, eval mode,
``torch.inference_mode``, a batch of normalised float images):

- ``plain ViT``: no extra token, timm attention (the baseline path);
- ``ViT + 5 tokens (6 x CLS)``: five more tokens, ordinary attention (Table IV's 6 x CLS);
- ``AAformer, stripes``: auto-alignment attention with fixed stripes (no Sinkhorn: masking cost only);
- ``AAformer, nearest neighbour``: scores + rounding, no Sinkhorn;
- ``AAformer, optimal transport``: the method (eps 0.05, 3 iterations).

A second table times one block's attention alone (timm's ``Attention`` on the sequence without parts
against ``AutoAlignmentAttention`` with the parts, same weights) and the optimal-transport assignment
alone, over ``--layer-repeats`` interleaved rounds: on a loaded machine this isolates the added work
better than whole forwards.

The cases are timed interleaved (one call of each per round, ``--repeats`` rounds after a warm-up round),
each call followed by a 4096^3 fp32 GEMM; the table gives median seconds, the median ratio to the plain
ViT of the same round (the steadiest number on a shared machine), GFLOP/s (FLOPs of one forward from
``torch.utils.flop_counter`` incl. the CPU attention kernel) and % of the GEMM measured next to it.

    python benchmarks/aaformer/bench_auto_alignment.py [--size paper|demo] [--batch 16] [--repeats 5]
        [--threads 2] [--wait 60] [--out benchmarks/aaformer/results/auto_alignment_paper.md]

``--wait`` (at most 60 s) waits for other processes to use under 0.3 cores before starting; the load seen
is printed either way.
"""
import argparse
import json
import os
import os.path as osp
import sys
import time

import torch

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path[:0] = [REPO, osp.join(REPO, 'benchmarks')]

from models import (OtherLoad, PairedGEMM, cpu_name, flop_counter, median,  # noqa: E402
                    wait_until_quiet)

SIZES = dict(paper=dict(arch='vit_base_patch16_224', img_size=(256, 128), patch=16),
             demo=dict(arch=dict(embed_dim=128, depth=4, num_heads=4), img_size=(128, 64), patch=16))
ATTN = dict(type='AutoAlignmentAttention', granularities=[2, 3], score='cosine', sinkhorn_eps=0.05,
            sinkhorn_iterations=3, part_sees_itself=False)


def cases(size: str) -> dict:
    spec = SIZES[size]
    grid = (spec['img_size'][0] // spec['patch'], spec['img_size'][1] // spec['patch'])
    base = dict(type='ViTReID', arch=spec['arch'], img_size=spec['img_size'], patch_size=spec['patch'],
                stride_size=spec['patch'], drop_path_rate=0.0, pretrained=None)
    extra = dict(base, num_extra_tokens=5, extra_token_init='random')
    return {
        'plain ViT': base,
        'ViT + 5 tokens (6 x CLS)': extra,
        'AAformer, stripes': dict(extra, attn_layer=dict(ATTN, assignment='stripes', grid_size=grid)),
        'AAformer, nearest neighbour': dict(extra, attn_layer=dict(ATTN, assignment='nearest_neighbour')),
        'AAformer, optimal transport': dict(extra, attn_layer=dict(ATTN, assignment='optimal_transport')),
    }


def build(cfg: dict):
    import plugins.aaformer  # noqa: F401
    from reidengine.registry import MODELS
    from reidengine.utils import register_all_modules
    register_all_modules()
    torch.manual_seed(0)
    return MODELS.build(cfg).eval()


def forward_flops(model, x) -> int:
    with torch.inference_mode(), flop_counter() as counter:
        model(x[:1])
    return counter.get_total_flops()


def layer_table(size: str, batch: int, repeats: int) -> str:
    """One block's attention alone, interleaved: timm ``Attention`` on [cls, patches] against
    ``AutoAlignmentAttention`` on [cls, parts, patches] (same weights), and the assignment alone."""
    import plugins.aaformer  # noqa: F401
    from timm.layers import Attention
    from plugins.aaformer.models import AutoAlignmentAttention
    spec = SIZES[size]
    grid = (spec['img_size'][0] // spec['patch'], spec['img_size'][1] // spec['patch'])
    dim = 768 if size == 'paper' else spec['arch']['embed_dim']
    heads = 12 if size == 'paper' else spec['arch']['num_heads']
    torch.manual_seed(0)
    plain = Attention(dim, num_heads=heads, qkv_bias=True).eval()
    layers = {'AAformer, stripes': dict(assignment='stripes', grid_size=grid),
              'AAformer, nearest neighbour': dict(assignment='nearest_neighbour'),
              'AAformer, optimal transport': dict(assignment='optimal_transport')}
    layers = {k: AutoAlignmentAttention(dim, num_heads=heads, qkv_bias=True, **v).eval() for k, v in layers.items()}
    for layer in layers.values():
        layer.load_state_dict(plain.state_dict())
    n = grid[0] * grid[1]
    x = torch.randn(batch, 1 + 5 + n, dim)
    x_plain = torch.cat([x[:, :1], x[:, 6:]], dim=1)
    ot = layers['AAformer, optimal transport']
    part_q = torch.randn(batch, heads, 5, dim // heads)
    patch_k = torch.randn(batch, heads, n, dim // heads)
    calls = {'timm Attention (cls + patches)': lambda: plain(x_plain)}
    calls.update({name: (lambda layer=layer: layer(x)) for name, layer in layers.items()})
    calls['optimal-transport assignment alone'] = lambda: ot.assign(part_q, patch_k)
    times = {name: [] for name in calls}
    with torch.inference_mode():
        for rnd in range(repeats + 1):
            for name, fn in calls.items():
                start = time.perf_counter()
                fn()
                if rnd:
                    times[name].append(time.perf_counter() - start)
    base = times['timm Attention (cls + patches)']
    lines = ['| one attention layer | ms | vs timm Attention |', '|---|---|---|']
    for name, values in times.items():
        ratio = median([v / b for v, b in zip(values, base)])
        lines.append(f'| {name} | {median(values) * 1e3:.1f} | {ratio:.3f} |')
    return '\n'.join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--size', choices=sorted(SIZES), default='paper')
    parser.add_argument('--batch', type=int, default=16)
    parser.add_argument('--repeats', type=int, default=5)
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--wait', type=float, default=60.0, help='seconds to wait for a quiet machine (<= 60)')
    parser.add_argument('--layer-repeats', type=int, default=30, help='rounds of the one-layer table')
    parser.add_argument('--out', default=None, help='write the markdown table (and a .json) here')
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    waited_load = wait_until_quiet(max_cores=0.3, wait=min(args.wait, 60.0))
    models = {name: build(cfg) for name, cfg in cases(args.size).items()}
    spec = SIZES[args.size]
    x = torch.randn(args.batch, 3, *spec['img_size'])
    flops = {name: forward_flops(m, x) for name, m in models.items()}
    gemm = PairedGEMM()
    seconds = {name: [] for name in models}
    rates = {name: [] for name in models}
    loadavg_before = open('/proc/loadavg').read().split()[:3]
    with OtherLoad() as other, torch.inference_mode():
        for rnd in range(args.repeats + 1):
            for name, model in models.items():
                start = time.perf_counter()
                model(x)
                elapsed = time.perf_counter() - start
                rate = gemm.gflops()
                if rnd:  # round 0 warms up
                    seconds[name].append(elapsed)
                    rates[name].append(rate)
    loadavg_after = open('/proc/loadavg').read().split()[:3]
    rows = []
    for name in models:
        ratio = median([s / p for s, p in zip(seconds[name], seconds['plain ViT'])])
        gflops = flops[name] * args.batch / median(seconds[name]) / 1e9
        pct = median([flops[name] * args.batch / s / 1e9 / r * 100 for s, r in zip(seconds[name], rates[name])])
        rows.append(dict(case=name, seconds=median(seconds[name]), ratio=ratio, gflop_per_image=flops[name] / 1e9,
                         gflops=gflops, pct_gemm=pct, images_per_s=args.batch / median(seconds[name])))
    header = (f'ViT {args.size} size ({spec["img_size"][0]}x{spec["img_size"][1]}), batch {args.batch}, '
              f'{args.threads} threads, {args.repeats} interleaved rounds; CPU: {cpu_name()}; '
              f'load average before / after: {" ".join(loadavg_before)} / {" ".join(loadavg_after)}; '
              f'other processes used {other.cores:.2f} cores during the run ({waited_load:.2f} before it)')
    lines = [header, '', '| backbone | s / batch | vs plain ViT | GFLOP / image | images/s | GFLOP/s | % of GEMM |',
             '|---|---|---|---|---|---|---|']
    for r in rows:
        lines.append(f'| {r["case"]} | {r["seconds"]:.3f} | {r["ratio"]:.3f} | {r["gflop_per_image"]:.2f} | '
                     f'{r["images_per_s"]:.1f} | {r["gflops"]:.0f} | {r["pct_gemm"]:.0f}% |')
    lines += ['', f'One block\'s attention alone ({args.layer_repeats} interleaved rounds, same batch and '
              'threads):', '', layer_table(args.size, args.batch, args.layer_repeats)]
    text = '\n'.join(lines)
    print(text)
    if args.out:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        with open(args.out, 'w') as f:
            f.write(text + '\n')
        with open(osp.splitext(args.out)[0] + '.json', 'w') as f:
            json.dump(dict(header=header, rows=rows, seconds=seconds, gemm_gflops=rates), f, indent=1)


if __name__ == '__main__':
    main()
