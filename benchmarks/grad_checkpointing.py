"""Memory and time of one ViT training step with and without gradient checkpointing (ViTReID's
``grad_checkpointing``): each case in a fresh process, peak resident memory above the process's
level after building the model, and the step time.

    python benchmarks/grad_checkpointing.py [--arch vit_base_patch16_224] [--batch 8] [--repeats 2]
"""
import argparse
import json
import resource
import subprocess
import sys
import time


def run_case(arch: str, batch: int, checkpointing: bool, repeats: int) -> dict:
    import torch
    from reidengine.models.backbones import ViTReID
    torch.manual_seed(0)
    model = ViTReID(arch=arch, img_size=(256, 128), grad_checkpointing=checkpointing).train()
    x = torch.randn(batch, 3, 256, 128)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        model(x)[:, 0].square().sum().backward()
        times.append(time.perf_counter() - start)
        model.zero_grad(set_to_none=True)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return dict(checkpointing=checkpointing, step_s=min(times), step_peak_mib=(peak - base) / 1024)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--arch', default='vit_base_patch16_224')
    parser.add_argument('--batch', type=int, default=8)
    parser.add_argument('--repeats', type=int, default=2)
    parser.add_argument('--case', choices=['on', 'off'], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        print(json.dumps(run_case(args.arch, args.batch, args.case == 'on', args.repeats)))
        return
    results = []
    for case in ('off', 'on'):
        out = subprocess.run([sys.executable, __file__, '--arch', args.arch, '--batch', str(args.batch),
                              '--repeats', str(args.repeats), '--case', case],
                             check=True, capture_output=True, text=True).stdout
        results.append(json.loads(out.strip().splitlines()[-1]))
    with open('/proc/loadavg') as f:
        load = f.read().split()[0]
    print(f'{args.arch} 256x128 batch {args.batch}, load {load}')
    for r in results:
        print(f"  checkpointing {'on ' if r['checkpointing'] else 'off'}: step {r['step_s']:.2f} s, "
              f"peak memory above the built model {r['step_peak_mib']:.0f} MiB")


if __name__ == '__main__':
    main()
