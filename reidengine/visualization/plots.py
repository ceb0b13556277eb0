"""Plots (matplotlib, no pyplot state): ROC + distance histogram, feature space, training curves."""
import glob
import json
import os.path as osp
from typing import Dict, List, Optional

import numpy as np


def _figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def roc_curve(pos: np.ndarray, neg: np.ndarray, num_points: int = 400):
    """(false-match rates, true-match rates, thresholds): a pair is called same when d < t."""
    neg_sorted = np.sort(neg)
    thresholds = np.unique(np.quantile(np.concatenate([pos, neg]), np.linspace(0, 1, num_points)))
    pos_sorted = np.sort(pos)
    fmr = np.searchsorted(neg_sorted, thresholds, side='left') / max(len(neg), 1)
    tmr = np.searchsorted(pos_sorted, thresholds, side='left') / max(len(pos), 1)
    return fmr, tmr, thresholds


def plot_roc_histogram(pos: np.ndarray, neg: np.ndarray, out_file: str,
                       calibration: Optional[dict] = None, title: str = '') -> None:
    """Left: ROC (true-match rate vs false-match rate, log x). Right: histograms of same-person
    and different-person distances, with the threshold of ``calibration`` (``calibrate_threshold``)."""
    if len(pos) == 0 or len(neg) == 0:
        raise ValueError(f'ROC needs same-person and different-person pairs, got {len(pos)} and '
                         f'{len(neg)}')
    fig = _figure(11, 4.2)
    ax_roc, ax_hist = fig.subplots(1, 2)
    fmr, tmr, _ = roc_curve(pos, neg)
    floor = 1.0 / len(neg)
    ax_roc.plot(np.maximum(fmr, floor), tmr, color='tab:blue')
    ax_roc.set_xscale('log')
    ax_roc.set_xlim(floor, 1)
    ax_roc.set_ylim(0, 1.01)
    ax_roc.set_xlabel('false-match rate (different persons called same)')
    ax_roc.set_ylabel('true-match rate')
    ax_roc.set_title('ROC over query-gallery pairs')
    ax_roc.grid(alpha=0.3)
    bins = np.linspace(min(pos.min(), neg.min()), max(pos.max(), neg.max()), 60)
    ax_hist.hist(neg, bins=bins, density=True, alpha=0.55, color='tab:red',
                 label=f'different person ({len(neg)} pairs)')
    ax_hist.hist(pos, bins=bins, density=True, alpha=0.55, color='tab:green',
                 label=f'same person ({len(pos)} pairs)')
    if calibration is not None and np.isfinite(calibration['threshold']):
        t = calibration['threshold']
        label = (f'threshold {t:.4g}: FMR {calibration["false_match_rate"]:g}, '
                 f'TMR {calibration["true_match_rate"]:.3f}')
        ax_hist.axvline(t, color='black', linestyle='--', label=label)
        ax_roc.axvline(calibration['false_match_rate'], color='black', linestyle='--')
        ax_roc.plot([calibration['false_match_rate']], [calibration['true_match_rate']], 'ko')
    ax_hist.set_xlabel('distance')
    ax_hist.set_ylabel('density')
    ax_hist.set_title('distances of same / different persons')
    ax_hist.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(out_file)


def embed_2d(feats: np.ndarray, method: str = 'tsne', seed: int = 0) -> np.ndarray:
    """2-D embedding: t-SNE (scikit-learn) or PCA; t-SNE falls back to PCA without scikit-learn."""
    feats = np.asarray(feats, dtype=np.float64)
    if method not in ('tsne', 'pca'):
        raise ValueError(f"method must be 'tsne' or 'pca', got {method!r}")
    if method == 'tsne':
        try:
            from sklearn.manifold import TSNE
        except ImportError:
            method = 'pca'
        else:
            from threadpoolctl import threadpool_limits
            perplexity = float(min(30, max(2, (len(feats) - 1) // 3)))
            # small sets: one OpenMP thread (many threads on a busy machine are 40x slower)
            with threadpool_limits(1 if len(feats) < 5000 else None):
                return TSNE(n_components=2, perplexity=perplexity, init='pca',
                            random_state=seed).fit_transform(feats)
    centred = feats - feats.mean(0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    return centred @ vt[:2].T


def plot_feature_space(feats: np.ndarray, pids: np.ndarray, out_file: str, method: str = 'tsne',
                       max_ids: int = 20, seed: int = 0, title: str = '') -> np.ndarray:
    """Scatter of the 2-D embedding of the features of ``max_ids`` identities, one colour each;
    returns the chosen rows."""
    pids = np.asarray(pids)
    ids = np.unique(pids[pids >= 0])
    rng = np.random.default_rng(seed)
    chosen_ids = np.sort(rng.choice(ids, min(max_ids, len(ids)), replace=False))
    rows = np.flatnonzero(np.isin(pids, chosen_ids))
    if len(rows) < 3:
        raise ValueError(f'feature-space plot needs at least 3 labelled features, got {len(rows)}')
    xy = embed_2d(np.asarray(feats)[rows], method, seed)
    fig = _figure(7, 6)
    ax = fig.subplots()
    from matplotlib import colormaps
    cmap = colormaps['tab20']
    for n, pid in enumerate(chosen_ids):
        sel = pids[rows] == pid
        ax.scatter(xy[sel, 0], xy[sel, 1], s=14, color=cmap(n % 20), label=str(pid))
    ax.set_title(title or f'{method.upper()} of the features, one colour per identity '
                 f'({len(chosen_ids)} ids)')
    ax.set_xticks([])
    ax.set_yticks([])
    if len(chosen_ids) <= 20:
        ax.legend(fontsize=6, ncol=2, title='identity', title_fontsize=7, loc='best')
    fig.tight_layout()
    fig.savefig(out_file)
    return rows


def read_scalars(work_dir: str) -> List[dict]:
    """The records of MMEngine's LocalVisBackend (``<work_dir>/<run>/vis_data/scalars.json``,
    one JSON object per line) of every run in the work dir, oldest run first."""
    files = sorted(glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')))
    if not files:
        raise FileNotFoundError(f'no training logs under {work_dir} (expected '
                                '<work_dir>/<timestamp>/vis_data/scalars.json, written by '
                                "MMEngine's LocalVisBackend)")
    records = []
    for f in files:
        with open(f) as fh:
            records.extend(json.loads(line) for line in fh if line.strip())
    return records


def plot_training_curves(work_dir: str, out_file: str) -> Dict[str, int]:
    """Loss terms, learning rate and evaluation metrics (mAP, R1) over training steps.

    Returns the number of points drawn per series."""
    records = read_scalars(work_dir)
    train = [r for r in records if any(k.startswith('loss') or '_loss' in k for k in r)]
    evals = [r for r in records if any(k.split('/')[-1] in ('mAP', 'R1') for k in r)]
    if not train:
        raise ValueError(f'the logs under {work_dir} hold no loss values')
    loss_keys = sorted({k for r in train for k in r if 'loss' in k})
    fig = _figure(13, 4)
    ax_loss, ax_lr, ax_eval = fig.subplots(1, 3)
    counts = {}
    for key in loss_keys:
        pts = [(r['step'], r[key]) for r in train if key in r]
        ax_loss.plot(*zip(*pts), label=key, lw=1.2 if key == 'loss' else 0.8)
        counts[key] = len(pts)
    ax_loss.set_title('losses')
    ax_loss.set_xlabel('iteration')
    ax_loss.legend(fontsize=7)
    lr = [(r['step'], r['lr']) for r in train if 'lr' in r]
    if lr:
        ax_lr.plot(*zip(*lr), color='tab:orange')
        counts['lr'] = len(lr)
    ax_lr.set_title('learning rate')
    ax_lr.set_xlabel('iteration')
    eval_keys = sorted({k for r in evals for k in r if k.split('/')[-1] in ('mAP', 'R1')})
    for key in eval_keys:
        pts = [(r['step'], r[key]) for r in evals if key in r]
        ax_eval.plot(*zip(*pts), marker='o', label=key)
        counts[key] = len(pts)
    ax_eval.set_title('evaluation (mAP, R1)' if eval_keys else 'no evaluation logged')
    ax_eval.set_xlabel('epoch / step')
    if eval_keys:
        ax_eval.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out_file)
    return counts
