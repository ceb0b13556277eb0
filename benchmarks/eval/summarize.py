"""Markdown tables from the JSON lines written by bench_eval.py.

    python benchmarks/eval/summarize.py benchmarks/eval/results/market.jsonl [msmt.jsonl ...]
"""
import json
import statistics
import sys

PEERS = {'fastreid_cy': 'FastReID evaluate_rank (Cython)',
         'torchreid_cy': 'Torchreid evaluate_rank (Cython)',
         'fastreid_py': 'FastReID evaluate_rank (Python)',
         'torchreid_py': 'Torchreid evaluate_rank (Python)'}


def table(rows):
    out = ['| ' + ' | '.join(rows[0]) + ' |', '|' + '---|' * len(rows[0])]
    out += ['| ' + ' | '.join(str(c) for c in row) + ' |' for row in rows[1:]]
    return '\n'.join(out)


def summarize(path):
    steps = {}
    for line in open(path):
        r = json.loads(line)
        steps[r['step']] = r
    scale = next(iter(steps.values()))['scale']
    lines = [f'### {scale} ({path})', '']
    rows = [['measurement', 'time (s)', 'peak beyond inputs (MiB)', 'load avg', 'notes']]
    for step, threads in (('mm_vs_ours', 2), ('mm_vs_ours_1thread', 1)):
        if step not in steps:
            continue
        r = steps[step]
        mm, ours = r['mm_s'], r['ours_s']
        ratios = sorted(o / m for o, m in zip(ours, mm))
        rows.append([f'bare `torch.mm(q, g.T)` ({threads} thread{"s" * (threads > 1)})',
                     f'min {min(mm):.2f} / median {statistics.median(mm):.2f}', '-',
                     f"{r['loadavg_start']:.1f}-{r['loadavg_end']:.1f}",
                     f'{len(mm)} runs, interleaved'])
        rows.append([f'ours, total from features ({threads} worker{"s" * (threads > 1)})',
                     f'min {min(ours):.2f} / median {statistics.median(ours):.2f}',
                     f"{steps['ours_peak']['peak_mib']:.0f}"
                     if 'ours_peak' in steps and threads == 2 else '-',
                     '', f'ours/mm per run: median {statistics.median(ratios):.2f}, '
                         f'min-to-min {min(ours) / min(mm):.2f}'])
    best_peer = None
    if 'ours_distmat' in steps:
        r = steps['ours_distmat']
        rows.append(['ours, ranking only (given the distance matrix)',
                     f"min {min(r['seconds']):.2f} / median {statistics.median(r['seconds']):.2f}",
                     f"{r['peak_mib']:.0f}", f"{r['loadavg_start']:.1f}", ''])
        ours_rank = statistics.median(r['seconds'])
    for name, label in PEERS.items():
        if name in steps:
            r = steps[name]
            note = (f"max abs diff to ours {r['max_abs_diff']:.1e} (features path "
                    f"{r['max_abs_diff_features_path']:.1e})")
            if 'ours_distmat' in steps:
                note += f'; ours is {r["seconds"] / ours_rank:.0f}x faster'
            rows.append([label, f"{r['seconds']:.2f}", f"{r['peak_mib']:.0f}",
                         f"{r['loadavg_start']:.1f}", note])
    lines += [table(rows), '']
    if 'rerank_ours' in steps or 'rerank_torchreid' in steps:
        rows = [['re-ranking (k1=20, k2=6, lambda=0.3)', 'time (s)', 'peak beyond inputs (MiB)',
                 'load avg', 'notes']]
        if 'rerank_ours' in steps:
            r = steps['rerank_ours']
            rows.append(['ours, total from features (distances, re-ranking, metrics)',
                         f"{r['seconds']:.2f}", f"{r['peak_mib']:.0f}",
                         f"{r['loadavg_start']:.1f}", f"mAP {r['metrics']['mAP']:.4f}"])
        if 'rerank_torchreid' in steps:
            r = steps['rerank_torchreid']
            note = (f"+{r['distmats_s']:.1f} s for its three distance matrices; max abs final "
                    f"distance diff {r['max_abs_dist_diff']:.1e}, "
                    f"metric diff {r['max_abs_metric_diff']:.1e}")
            if 'rerank_ours' in steps:
                note += f"; ours {r['seconds'] / steps['rerank_ours']['seconds']:.1f}x faster"
            rows.append(['Torchreid `re_ranking` (call only)', f"{r['seconds']:.2f}",
                         f"{r['peak_mib']:.0f}", f"{r['loadavg_start']:.1f}", note])
        lines += [table(rows), '']
    return '\n'.join(lines)


if __name__ == '__main__':
    print('\n'.join(summarize(p) for p in sys.argv[1:]))
