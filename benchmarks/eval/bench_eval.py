"""Evaluation benchmark: our ReID metric and re-ranking vs the bare matmul and the Torchreid /
FastReID evaluators.

Run from the repository root with the benchmark venv (it sees the project venv and holds the peers'
Cython builds under /work/bench-venv/src; see benchmarks/README.md):

    /work/bench-venv/bin/python benchmarks/eval/bench_eval.py --scale market \
        --steps mm_vs_ours ours_peak ours_distmat fastreid_cy torchreid_cy torchreid_py \
                rerank_ours rerank_torchreid

Every step runs in a fresh subprocess on features saved once to --data (generation is not timed).
Peak memory = the process's peak RSS during the measured call minus its RSS just before it
(the peak is reset through /proc/self/clear_refs), i.e. memory beyond the inputs (features; the
distance matrix for the peers, which take one). Each step prints one JSON line; the driver
collects them into --out.
"""
import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
PEER_SRC = '/work/bench-venv/src'
METRIC_KEYS = ('mAP', 'R1', 'R5', 'R10', 'mINP')
METRIC = os.environ.get('REID_BENCH_METRIC', 'euclidean')  # set by --metric for the children


def cpu_record():
    """CPU model, the flags that matter for GEMMs, the load average."""
    model, flags = '', []
    with open('/proc/cpuinfo') as f:
        for line in f:
            if line.startswith('model name') and not model:
                model = line.split(':', 1)[1].strip()
            if line.startswith('flags') and not flags:
                flags = line.split(':', 1)[1].split()
    keep = ('avx2', 'avx512f', 'avx512_bf16', 'amx_tile', 'amx_bf16', 'amx_fp16')
    return dict(cpu=model, cpu_flags=[f for f in keep if f in flags], cpus=os.cpu_count())


# --- measurement helpers ----------------------------------------------------------------------
def rss_kb(field='VmRSS'):
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(field):
                return int(line.split()[1])
    raise RuntimeError(field)


def measure(fn):
    """(result, seconds, peak MiB beyond the RSS at the call)."""
    with open('/proc/self/clear_refs', 'w') as f:
        f.write('5')  # reset the peak RSS to the current RSS
    before = rss_kb()
    start = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - start
    return result, seconds, (rss_kb('VmHWM') - before) / 1024


def load(data_dir):
    d = torch.load(os.path.join(data_dir, 'features.pt'))
    return d['query'], d['gallery'], d['q_pids'], d['q_camids'], d['g_pids'], d['g_camids']


def peer(name):
    sys.path.insert(0, PEER_SRC)
    if name.startswith('torchreid'):
        from torchreid.metrics import rank
    else:
        from fastreid.evaluation import rank
    if not rank.IS_CYTHON_AVAI and name.endswith('_cy'):
        raise RuntimeError(f'{name}: Cython build missing under {PEER_SRC}')
    return rank


def peer_metrics(name, out):
    if name.startswith('torchreid'):
        cmc, mAP = out
        return dict(mAP=float(mAP), R1=float(cmc[0]), R5=float(cmc[4]), R10=float(cmc[9]))
    cmc, all_ap, all_inp = out
    return dict(mAP=float(np.mean(all_ap)), R1=float(cmc[0]), R5=float(cmc[4]),
                R10=float(cmc[9]), mINP=float(np.mean(all_inp)))


def max_diff(a, b):
    return max(abs(a[k] - b[k]) for k in METRIC_KEYS if k in a and k in b)


# --- steps (each in its own process) ----------------------------------------------------------
def ids(qp, qc, gp, gc):
    return dict(q_pids=qp, q_camids=qc, g_pids=gp, g_camids=gc)


def step_mm_vs_ours(data, repeats, metric=METRIC):
    from reidengine.evaluation import evaluate_features
    q, g, qp, qc, gp, gc = load(data)
    t_mm, t_ours, cpu_mm, cpu_ours = [], [], [], []
    for _ in range(repeats):  # interleaved, so both see the same machine load
        start, cpu = time.perf_counter(), time.process_time()
        dist = torch.mm(q, g.t())
        t_mm.append(time.perf_counter() - start)
        cpu_mm.append(time.process_time() - cpu)
        del dist
        start, cpu = time.perf_counter(), time.process_time()
        res = evaluate_features(q, g, **ids(qp, qc, gp, gc), metric=metric)
        t_ours.append(time.perf_counter() - start)
        cpu_ours.append(time.process_time() - cpu)

    def median_ratio(a, b):
        ratios = sorted(x / y for x, y in zip(a, b))
        return ratios[len(ratios) // 2]

    # CPU seconds (all threads of this process) are less sensitive to other jobs than wall time
    return dict(mm_s=t_mm, ours_s=t_ours, ratio_min=min(t_ours) / min(t_mm),
                ratio_median=median_ratio(t_ours, t_mm), mm_cpu_s=cpu_mm, ours_cpu_s=cpu_ours,
                cpu_ratio_median=median_ratio(cpu_ours, cpu_mm), metric=metric, metrics=res,
                ranking=ranking_backend())


def ranking_backend():
    from reidengine.evaluation.functional import native
    if native.kernel() is None:
        return 'torch'
    return 'native ' + next(f for f in native.default_flags() if f.startswith('-march'))


def step_mm_vs_ours_1thread(data, repeats):
    """The same with one thread for both (less sensitive to other jobs on the machine)."""
    torch.set_num_threads(1)
    return step_mm_vs_ours(data, repeats)


def step_ours_peak(data):
    from reidengine.evaluation import evaluate_features
    q, g, qp, qc, gp, gc = load(data)
    res, sec, peak = measure(lambda: evaluate_features(q, g, **ids(qp, qc, gp, gc), metric=METRIC))
    return dict(seconds=sec, peak_mib=peak, metrics=res, metric=METRIC, ranking=ranking_backend(),
                features_mib=(q.numel() + g.numel()) * 4 / 2 ** 20)


def _distmat(q, g):
    from reidengine.evaluation.functional import pairwise_distance
    return pairwise_distance(q, g, 'euclidean')  # Torchreid's formula (squared Euclidean)


def step_ours_distmat(data, repeats):
    from reidengine.evaluation import evaluate_distmat
    q, g, qp, qc, gp, gc = load(data)
    dist = _distmat(q, g)
    res, sec, peak = measure(lambda: evaluate_distmat(dist, **ids(qp, qc, gp, gc)))
    times = [sec]
    for _ in range(repeats - 1):
        start = time.perf_counter()
        evaluate_distmat(dist, **ids(qp, qc, gp, gc))
        times.append(time.perf_counter() - start)
    return dict(seconds=times, peak_mib=peak, metrics=res, ranking=ranking_backend())


def step_peer(data, name):
    from reidengine.evaluation import evaluate_distmat, evaluate_features
    q, g, qp, qc, gp, gc = load(data)
    rank = peer(name)
    start = time.perf_counter()
    dist = _distmat(q, g).numpy()
    dist_s = time.perf_counter() - start
    args = (dist, qp.numpy(), gp.numpy(), qc.numpy(), gc.numpy())
    out, sec, peak = measure(lambda: rank.evaluate_rank(*args, use_cython=name.endswith('_cy')))
    theirs = peer_metrics(name, out)
    ours = evaluate_distmat(torch.from_numpy(dist), **ids(qp, qc, gp, gc))
    del dist, args
    ours_features = evaluate_features(q, g, **ids(qp, qc, gp, gc))
    return dict(seconds=sec, distmat_s=dist_s, peak_mib=peak, metrics=theirs, ours=ours,
                max_abs_diff=max_diff(ours, theirs),
                max_abs_diff_features_path=max_diff(ours_features, theirs))


def step_rerank_ours(data):
    from reidengine.evaluation import evaluate_features
    q, g, qp, qc, gp, gc = load(data)
    rr = dict(k1=20, k2=6, lambda_value=0.3)
    res, sec, peak = measure(lambda: evaluate_features(q, g, **ids(qp, qc, gp, gc), rerank=rr))
    return dict(seconds=sec, peak_mib=peak, metrics=res)


def step_rerank_torchreid(data):
    from reidengine.evaluation import evaluate_distmat
    from reidengine.evaluation.functional import KReciprocalReranker
    q, g, qp, qc, gp, gc = load(data)
    sys.path.insert(0, PEER_SRC)
    from torchreid.utils.rerank import re_ranking
    start = time.perf_counter()
    qg, qq, gg = _distmat(q, g).numpy(), _distmat(q, q).numpy(), _distmat(g, g).numpy()
    dist_s = time.perf_counter() - start
    theirs, sec, peak = measure(lambda: re_ranking(qg, qq, gg, k1=20, k2=6, lambda_value=0.3))
    del qq, gg
    rr = KReciprocalReranker(q, g, 'euclidean', k1=20, k2=6, lambda_value=0.3)
    ours = torch.cat([block for _, block in rr.blocks()]).numpy()
    diff = np.abs(ours - theirs)
    m_theirs = evaluate_distmat(torch.from_numpy(theirs), **ids(qp, qc, gp, gc))
    m_ours = evaluate_distmat(torch.from_numpy(ours), **ids(qp, qc, gp, gc))
    return dict(seconds=sec, distmats_s=dist_s, peak_mib=peak, max_abs_dist_diff=float(diff.max()),
                num_dist_diff_above_1e4=int((diff > 1e-4).sum()), metrics_theirs=m_theirs,
                metrics_ours=m_ours, max_abs_metric_diff=max_diff(m_ours, m_theirs))


STEPS = dict(mm_vs_ours=step_mm_vs_ours, mm_vs_ours_1thread=step_mm_vs_ours_1thread,
             ours_peak=step_ours_peak, ours_distmat=step_ours_distmat,
             torchreid_cy=step_peer, torchreid_py=step_peer, fastreid_cy=step_peer,
             fastreid_py=step_peer, rerank_ours=step_rerank_ours,
             rerank_torchreid=step_rerank_torchreid)


def run_child(step, data, repeats):
    load0 = os.getloadavg()[0]
    fn = STEPS[step]
    if fn is step_peer:
        out = fn(data, step)
    elif step in ('mm_vs_ours', 'mm_vs_ours_1thread', 'ours_distmat'):
        out = fn(data, repeats)
    else:
        out = fn(data)
    out.update(step=step, threads=torch.get_num_threads(), **cpu_record(),
               loadavg_start=load0, loadavg_end=os.getloadavg()[0])
    print('RESULT ' + json.dumps(out))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--scale', choices=('market', 'msmt'), default='market')
    parser.add_argument('--steps', nargs='+', default=['mm_vs_ours', 'ours_peak'],
                        choices=sorted(STEPS))
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--metric', choices=('euclidean', 'cosine'), default='euclidean',
                        help='distance of the ours steps (peers: Torchreid\'s squared Euclidean)')
    parser.add_argument('--data', default=None,
                        help='feature cache dir (default /tmp/reid_eval_<scale>[_random])')
    parser.add_argument('--random-features', action='store_true',
                        help='features without any identity structure (a model that learned '
                             'nothing: the ranking\'s worst case), same sizes and ids')
    parser.add_argument('--torch-ranking', action='store_true',
                        help='rank with the torch implementation, not the native kernel '
                             '(REIDENGINE_NATIVE=0 in the steps)')
    parser.add_argument('--out', default=None, help='append the JSON results to this file')
    parser.add_argument('--child', default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    data = args.data or f'/tmp/reid_eval_{args.scale}' + ('_random' if args.random_features else '')
    if args.child:
        return run_child(args.child, data, args.repeats)

    sys.path.insert(0, HERE)
    from synthetic import make_features
    if not os.path.exists(os.path.join(data, 'features.pt')):
        os.makedirs(data, exist_ok=True)
        f = make_features(args.scale)
        if args.random_features:
            g = torch.Generator().manual_seed(1)
            f.query, f.gallery = torch.randn(f.query.shape, generator=g), \
                torch.randn(f.gallery.shape, generator=g)
        torch.save(dict(query=f.query, gallery=f.gallery, q_pids=f.q_pids, q_camids=f.q_camids,
                        g_pids=f.g_pids, g_camids=f.g_camids), os.path.join(data, 'features.pt'))
    for step in args.steps:
        cmd = [sys.executable, os.path.abspath(__file__), '--child', step, '--scale', args.scale,
               '--data', data, '--repeats', str(args.repeats)]
        proc = subprocess.run(cmd, capture_output=True, text=True,
                              env=dict(os.environ, REID_BENCH_METRIC=args.metric,
                                       **({'REIDENGINE_NATIVE': '0'} if args.torch_ranking
                                          else {})))
        lines = [l for l in proc.stdout.splitlines() if l.startswith('RESULT ')]
        if proc.returncode or not lines:
            print(f'{step}: failed (rc {proc.returncode})\n{proc.stderr[-3000:]}', flush=True)
            continue
        result = json.loads(lines[-1][len('RESULT '):])
        result['scale'] = args.scale
        result['random_features'] = args.random_features
        print(json.dumps(result), flush=True)
        if args.out:
            with open(args.out, 'a') as f:
                f.write(json.dumps(result) + '\n')


if __name__ == '__main__':
    main()
