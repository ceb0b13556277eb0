"""Cost of PAT's memory bank per training iteration, against the model's forward + backward.

Bank step = momentum update of the batch's entries (eq. 5) + CSL distances to every entry, top-k,
loss and its backward (eq. 6), for all parts at once, at the largest multi-source size
(MSMT17 + Market + Duke + CUHK03 train, ~75k images x 3 parts x 768 fp32).
Model step = PATModel (ViT-B/16, 256x128, random weights) forward + backward of the losses. On a
small CPU the model is timed at ``--model-batch`` and scaled linearly to ``--batch`` (the ViT's cost
is linear in the batch; the scaled number is labelled as such).

    python benchmarks/pat/memory_bank.py [--entries 75000] [--batch 64] [--model-batch 8]
"""
import argparse
import platform
import time

import torch

import plugins.pat  # noqa: F401
from plugins.pat.losses import CrossIDSimilarityLoss
from plugins.pat.models import PartMemoryBank
from reidengine.registry import MODELS
from reidengine.utils import register_all_modules
from reidengine.structures import ReIDDataSample


def timed(fn, repeats: int) -> float:
    """Median seconds of ``repeats`` calls after one warm-up call."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


def bank_step_seconds(entries: int, parts: int, dim: int, batch: int, k: int, repeats: int,
                      device: str) -> float:
    bank = PartMemoryBank(parts, dim, momentum=0.1, num_samples=entries).to(device)
    bank.fill(torch.randn(entries, parts, dim, device=device), torch.arange(entries, device=device),
              torch.randint(0, 5000, (entries,), device=device))
    csl = CrossIDSimilarityLoss(k=k)
    feats = torch.randn(batch, parts, dim, device=device, requires_grad=True)
    indices = torch.randperm(entries, device=device)[:batch]
    pids = bank.pids[indices]

    def step():
        bank.update(feats.detach(), indices, pids)
        loss, neighbours = csl(feats, bank.features, indices)
        bank.pids[neighbours.flatten(1)]  # PSD's neighbour ids
        loss.backward()
        if device == 'cuda':
            torch.cuda.synchronize()

    return timed(step, repeats)


def model_step_seconds(batch: int, repeats: int, device: str) -> float:
    register_all_modules()
    model = MODELS.build(dict(
        type='PATModel',
        data_preprocessor=dict(type='ReIDDataPreprocessor', mean=[127.5] * 3, std=[127.5] * 3),
        backbone=dict(type='ViTReID', arch='vit_base_patch16_224', img_size=(256, 128),
                      drop_path_rate=0.1, frozen_patch_embed=True),
        head=dict(type='PATHead', in_channels=768, num_classes=700))).to(device).train()
    model.memory_bank.resize(1000)
    model.memory_bank.fill(torch.randn(1000, 3, 768, device=device), torch.arange(1000, device=device),
                           torch.arange(1000, device=device) % 700)
    model.memory_bank.mark_initialized()
    inputs = torch.randn(batch, 3, 256, 128, device=device)
    samples = [ReIDDataSample(metainfo=dict(pid=i // 4, camid=0, sample_idx=i)) for i in range(batch)]

    def step():
        losses = model(inputs, samples, mode='loss')
        sum(v for n, v in losses.items() if n.startswith('loss')).backward()
        model.zero_grad(set_to_none=True)
        if device == 'cuda':
            torch.cuda.synchronize()

    return timed(step, repeats)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--entries', type=int, default=75000)
    parser.add_argument('--parts', type=int, default=3)
    parser.add_argument('--dim', type=int, default=768)
    parser.add_argument('--batch', type=int, default=64)
    parser.add_argument('--k', type=int, default=10)
    parser.add_argument('--model-batch', type=int, default=8,
                        help='batch at which the model is timed (scaled linearly to --batch)')
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--skip-model', action='store_true')
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    args = parser.parse_args()

    bank_mb = args.entries * args.parts * args.dim * 4 / 2**20
    print(f'machine: {platform.processor() or platform.machine()}, torch {torch.__version__}, '
          f'device {args.device}, {torch.get_num_threads()} threads')
    print(f'bank: {args.entries} entries x {args.parts} parts x {args.dim} fp32 = {bank_mb:.0f} MiB')
    bank_s = bank_step_seconds(args.entries, args.parts, args.dim, args.batch, args.k, args.repeats,
                               args.device)
    print(f'bank step (update + CSL distances/top-k/loss + backward), batch {args.batch}: '
          f'{bank_s * 1e3:.1f} ms')
    if args.skip_model:
        return
    model_s = model_step_seconds(args.model_batch, args.repeats, args.device)
    scaled = model_s * args.batch / args.model_batch
    print(f'model step (PATModel ViT-B/16 256x128 forward + backward), batch {args.model_batch}: '
          f'{model_s:.2f} s -> batch {args.batch} (x{args.batch / args.model_batch:g}, linear): '
          f'{scaled:.1f} s')
    print(f'bank step / model step: {100 * bank_s / scaled:.1f} %')


if __name__ == '__main__':
    main()
