"""A "same person" distance threshold read off a labelled test set's ROC.

Verification view of the test set (as ``evaluation.functional.roc``): every valid query-gallery
pair (not the same identity AND camera) is positive when the identities match. For a chosen
false-match rate f, the threshold t is the (floor(f * #negatives) + 1)-th smallest negative
distance: pairs with d < t are called "same person", which accepts at most f of the negative
pairs; the true-match rate is the share of positive pairs with d < t.
"""
import json
import math
from typing import Optional

import torch

from reidengine.evaluation.functional import RocAccumulator, pairwise_distance, prepare_features
from reidengine.evaluation.functional.distance import check_features, check_metric
from reidengine.evaluation.functional.parallel import run_chunks, single_threaded_ops


def calibrate_threshold(query: torch.Tensor, gallery: torch.Tensor, q_pids, q_camids, g_pids,
                        g_camids, metric: str = 'euclidean', false_match_rate: float = 1e-3,
                        normalize_feat: bool = False, chunk_size: int = 256,
                        num_workers: Optional[int] = None) -> dict:
    """``dict(threshold, false_match_rate, true_match_rate, metric, normalize_feat, num_pos, num_neg)``.

    Gallery items with pid -1 (junk) are dropped. Camera ids may all be equal for data without
    cameras only if the query and gallery camids differ (the same-camera filter then drops nothing).
    """
    check_metric(metric)
    if not 0 < false_match_rate < 1:
        raise ValueError(f'false_match_rate must be in (0, 1), got {false_match_rate}')
    query = prepare_features(check_features(query, 'query features'), metric, normalize_feat)
    gallery = prepare_features(check_features(gallery, 'gallery features'), metric, normalize_feat)
    ids = [torch.as_tensor(v).long().reshape(-1) for v in (q_pids, q_camids, g_pids, g_camids)]
    keep = ids[2] != -1
    gallery, ids[2], ids[3] = gallery[keep], ids[2][keep], ids[3][keep]
    acc = RocAccumulator(*ids, fprs=(false_match_rate, ))
    with single_threaded_ops():
        run_chunks(lambda s, e: acc.update(s, pairwise_distance(query[s:e], gallery, metric)),
                   len(query), chunk_size, num_workers or torch.get_num_threads())
    pos = torch.cat(acc.pos)
    neg = acc.neg.sort().values
    allowed = math.floor(false_match_rate * acc.num_neg)
    threshold = float(neg[allowed]) if allowed < len(neg) else float('inf')
    tmr = float((pos < threshold).double().mean()) if len(pos) else float('nan')
    return dict(threshold=threshold, false_match_rate=false_match_rate, true_match_rate=tmr,
                metric=metric, normalize_feat=normalize_feat, num_pos=len(pos), num_neg=acc.num_neg)


def save_threshold(path: str, calibration: dict) -> None:
    with open(path, 'w') as f:
        json.dump(calibration, f, indent=2)


def load_threshold(value: str, metric: Optional[str] = None) -> float:
    """A threshold given as a number or as the JSON file of :func:`save_threshold`."""
    try:
        return float(value)
    except ValueError:
        pass
    try:
        with open(value) as f:
            calibration = json.load(f)
    except FileNotFoundError as err:
        raise FileNotFoundError(f'--threshold {value}: neither a number nor an existing threshold '
                                'JSON file (written by tools/visualize.py)') from err
    if 'threshold' not in calibration:
        raise KeyError(f'{value} has no "threshold" key')
    if metric is not None and calibration.get('metric', metric) != metric:
        raise ValueError(f'{value} was calibrated for the {calibration["metric"]} distance but the '
                         f'search uses {metric}')
    return float(calibration['threshold'])
