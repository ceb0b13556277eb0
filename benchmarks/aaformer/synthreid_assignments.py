"""Part-assignment consistency and a picture of the assignments of a trained AAformer (SynthReID).

For the images of a test split (query + gallery, test pipeline), one no-grad forward gives every block's
hard assignment (B, H, P, rows, cols). Consistency: for two images, the agreement of one head and group
is the fraction of patches that both images give to the same part of that group; averaged over heads,
groups and pairs, per block:

- ``same id``: pairs of images of one identity (different cameras included);
- ``different ids``: as many random pairs of images of two identities;
- ``chance``: the agreement of two independent random partitions with the same part sizes,
  sum_p (n_p / N)^2 averaged over the image pairs' groups (1/2 and 1/3 for balanced {2, 3} groups).

The picture: a few identities x images, each image with its patches coloured by their part (the head
majority at block ``--layer``), one row per group.

    python benchmarks/aaformer/synthreid_assignments.py CONFIG CHECKPOINT [--split test] [--style A]
        [--layer -1] [--png plugins/aaformer/docs/synthreid_assignments.png] [--json OUT.json]
"""
import argparse
import io
import json
import os
import os.path as osp
import sys

import numpy as np
import torch

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, REPO)


def load(config: str, checkpoint: str, style: str):
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmengine.runner import load_checkpoint

    import plugins.aaformer  # noqa: F401
    from reidengine.registry import DATASETS, MODELS
    from reidengine.utils import register_all_modules

    register_all_modules()
    init_default_scope('reidengine')
    cfg = Config.fromfile(config)
    model = MODELS.build(cfg.model).eval()
    load_checkpoint(model, checkpoint, map_location='cpu')
    test_set = dict(cfg.test_dataloader[0].dataset)
    test_set['style'] = style
    return model, DATASETS.build(test_set)


@torch.no_grad()
def collect(model, dataset, batch_size: int = 128):
    """Images (uint8), pids and every block's assignment (N, H, P, rows, cols) bool."""
    images, pids, records = [], [], {}
    for start in range(0, len(dataset), batch_size):
        items = [dataset[i] for i in range(start, min(start + batch_size, len(dataset)))]
        data = model.data_preprocessor(dict(inputs=[it['inputs'] for it in items],
                                            data_samples=[it['data_samples'] for it in items]), False)
        model.extract_feat(data['inputs'], data['data_samples'])
        for layer, rec in model.part_assignments().items():
            records.setdefault(layer, []).append(rec.clone())
        images += [it['inputs'] for it in items]
        pids += [it['data_samples'].metainfo['pid'] for it in items]
    return torch.stack(images), np.array(pids), {k: torch.cat(v) for k, v in records.items()}


def group_labels(assignment: torch.Tensor, granularities) -> torch.Tensor:
    """(N, H, P, rows, cols) bool -> (N, H, G, rows * cols) part index within each group."""
    labels, start = [], 0
    for size in granularities:
        labels.append(assignment[:, :, start:start + size].flatten(3).float().argmax(2))
        start += size
    return torch.stack(labels, dim=2)


def agreement(labels: torch.Tensor, pairs: np.ndarray) -> float:
    a, b = labels[pairs[:, 0]], labels[pairs[:, 1]]
    return float((a == b).float().mean())


def chance(labels: torch.Tensor, pairs: np.ndarray, granularities) -> float:
    values = []
    for g, size in enumerate(granularities):
        counts = torch.nn.functional.one_hot(labels[:, :, g], size).float().mean(2)  # (N, H, size) shares
        values.append(float((counts[pairs[:, 0]] * counts[pairs[:, 1]]).sum(-1).mean()))
    return float(np.mean(values))


def make_pairs(pids: np.ndarray, rng: np.random.Generator, max_pairs: int = 4000):
    same = np.array([(i, j) for i in range(len(pids)) for j in range(i + 1, len(pids))
                     if pids[i] == pids[j] and pids[i] >= 0])
    same = same[rng.choice(len(same), min(max_pairs, len(same)), replace=False)]
    diff = []
    while len(diff) < len(same):
        i, j = rng.integers(0, len(pids), 2)
        if pids[i] != pids[j] and pids[i] >= 0 and pids[j] >= 0:
            diff.append((i, j))
    return same, np.array(diff)


def picture(path: str, images, pids, labels, granularities, rows_cols, num_ids=4, per_id=3, seed=0):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    rng = np.random.default_rng(seed)
    ids = [p for p in np.unique(pids) if p >= 0 and (pids == p).sum() >= per_id]
    ids = rng.choice(ids, num_ids, replace=False)
    cols = [i for p in ids for i in rng.choice(np.flatnonzero(pids == p), per_id, replace=False)]
    colours = plt.get_cmap('tab10').colors
    num_rows = len(granularities) + 1
    fig, axes = plt.subplots(num_rows, len(cols), figsize=(0.9 * len(cols), 1.9 * num_rows))
    rows, ncols = rows_cols
    for c, idx in enumerate(cols):
        img = images[idx].permute(1, 2, 0).numpy()[:, :, ::-1]  # BGR -> RGB
        axes[0, c].imshow(img)
        axes[0, c].set_title(f'id {pids[idx]}', fontsize=6)
        for g, size in enumerate(granularities):
            # majority over heads of the part index within the group
            votes = torch.nn.functional.one_hot(labels[idx, :, g], size).sum(0)  # (rows * cols, size)
            part = votes.argmax(-1).reshape(rows, ncols).numpy()
            overlay = np.array(colours)[part + (0 if g == 0 else sum(granularities[:g]))]
            axes[g + 1, c].imshow(img)
            axes[g + 1, c].imshow(overlay, alpha=0.55, extent=(0, img.shape[1], img.shape[0], 0),
                                  interpolation='nearest')
        for ax in axes[:, c]:
            ax.axis('off')
    for g, size in enumerate(granularities):
        axes[g + 1, 0].text(-4, img.shape[0] / 2, f'{size} parts', rotation=90, va='center', ha='right', fontsize=6)
    fig.tight_layout(pad=0.2)
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    buffer = io.BytesIO()
    fig.savefig(buffer, dpi=80)
    plt.close(fig)
    from PIL import Image  # matplotlib's own dependency
    buffer.seek(0)
    Image.open(buffer).convert('RGB').quantize(colors=96).save(path, optimize=True)  # small to commit


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--style', default='A')
    parser.add_argument('--layer', type=int, default=-1, help='block shown in the picture')
    parser.add_argument('--png', default=None)
    parser.add_argument('--json', default=None)
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args(argv)
    torch.set_num_threads(2)
    model, dataset = load(args.config, args.checkpoint, args.style)
    granularities = model.alignment_layers()[0].granularities
    images, pids, records = collect(model, dataset)
    rng = np.random.default_rng(args.seed)
    same, diff = make_pairs(pids, rng)
    result = dict(style=args.style, images=len(pids), same_pairs=len(same), layers={})
    print(f'{len(pids)} images, {len(same)} same-id pairs, {len(diff)} different-id pairs')
    print('| block | same id | different ids | chance |\n|---|---|---|---|')
    for layer, rec in sorted(records.items()):
        labels = group_labels(rec, granularities)
        row = dict(same_id=agreement(labels, same), different_ids=agreement(labels, diff),
                   chance=chance(labels, same, granularities))
        result['layers'][layer] = row
        print(f'| {layer} | {row["same_id"]:.3f} | {row["different_ids"]:.3f} | {row["chance"]:.3f} |')
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(result, f, indent=1)
    if args.png:
        layer = sorted(records)[args.layer]
        picture(args.png, images, pids, group_labels(records[layer], granularities), granularities,
                model.backbone.grid_size, seed=args.seed)
        print(f'picture of block {layer}: {args.png} ({osp.getsize(args.png) / 1024:.0f} KB)')


if __name__ == '__main__':
    main()
