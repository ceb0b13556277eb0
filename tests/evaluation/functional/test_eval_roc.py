import math

import pytest
import torch

from reidengine.evaluation.functional import RocAccumulator, evaluate_distmat, matrix_blocks


def kw(ids):
    """(q_pids, q_camids, g_pids, g_camids) as the evaluators' keyword arguments."""
    return dict(q_pids=ids[0], q_camids=ids[1], g_pids=ids[2], g_camids=ids[3])


def direct_tpr_at_fpr(dist, q_pids, q_camids, g_pids, g_camids, fpr):
    """Best TPR over all thresholds t (accept d <= t) whose FPR does not exceed ``fpr``."""
    pos, neg = [], []
    for i in range(dist.shape[0]):
        for k in range(dist.shape[1]):
            if g_pids[k] == q_pids[i] and g_camids[k] == q_camids[i]:
                continue
            (pos if g_pids[k] == q_pids[i] else neg).append(float(dist[i, k]))
    best = 0.0
    for t in [-math.inf] + sorted(pos + neg):
        if sum(d <= t for d in neg) <= fpr * len(neg):
            best = max(best, sum(d <= t for d in pos) / len(pos))
    return best


def test_hand_case():
    # query pid 1 cam 0; gallery: positives 0.2, 0.6; negatives 0.1, 0.3, 0.5, 0.7;
    # the same-camera pid-1 item (0.0) is not a pair
    dist = torch.tensor([[0.0, 0.2, 0.6, 0.1, 0.3, 0.5, 0.7]])
    g_pids = torch.tensor([1, 1, 1, 2, 3, 4, 5])
    g_camids = torch.tensor([0, 1, 2, 1, 1, 1, 1])
    acc = RocAccumulator(torch.tensor([1]), torch.tensor([0]), g_pids, g_camids,
                         fprs=(0.2, 0.25, 0.5))
    acc.update(0, dist)
    # 4 negatives: FPR 0.2 -> no negative accepted: t < 0.1 -> TPR 0;
    # FPR 0.25 and 0.5 -> 1 and 2 negatives: t < 0.3 / t < 0.5 -> TPR 1/2
    assert acc.summary() == {'TPR@FPR=2e-01': 0.0, 'TPR@FPR=0.25': 0.5, 'TPR@FPR=5e-01': 0.5}


@pytest.mark.parametrize('chunk', [1, 4, 100])
def test_equals_direct_threshold_search(chunk):
    g = torch.Generator().manual_seed(chunk)
    num_q, num_g = 9, 40
    ids = (torch.randint(0, 5, (num_q,), generator=g), torch.randint(0, 2, (num_q,), generator=g),
           torch.randint(0, 5, (num_g,), generator=g), torch.randint(0, 2, (num_g,), generator=g))
    dist = torch.randn(num_q, num_g, generator=g)
    fprs = (0.01, 0.05, 0.2)
    acc = RocAccumulator(*ids, fprs=fprs)
    for start, block in matrix_blocks(dist, chunk):
        acc.update(start, block)  # chunk 1 keeps pruning the kept negatives
    out = acc.summary()
    for f in fprs:
        assert out[f'TPR@FPR={f:.0e}'] == pytest.approx(direct_tpr_at_fpr(dist, *ids, f))


def test_metric_keys_with_roc():
    dist = torch.tensor([[0.1, 0.2], [0.2, 0.1]])
    ids = (torch.tensor([1, 2]), torch.tensor([0, 0]), torch.tensor([1, 2]), torch.tensor([1, 1]))
    out = evaluate_distmat(dist, **kw(ids), roc=True)
    assert {'TPR@FPR=1e-04', 'TPR@FPR=1e-03', 'TPR@FPR=1e-02', 'mAP'} <= set(out)
    assert out['TPR@FPR=1e-02'] == 1.0  # floor(0.01 * 2) = 0 negatives allowed: t < 0.2
