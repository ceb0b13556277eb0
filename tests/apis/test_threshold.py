"""calibrate_threshold: the (floor(f * #neg) + 1)-th smallest different-person distance."""
import math

import pytest
import torch

from reidengine.apis.threshold import calibrate_threshold, load_threshold, save_threshold
from reidengine.evaluation.functional import pairwise_distance, prepare_features


def test_threshold_equals_brute_force(tmp_path):
    torch.manual_seed(0)
    q, g = torch.randn(30, 8), torch.randn(90, 8)
    q_pids, g_pids = torch.arange(30) % 10, torch.arange(90) % 10
    q_cams, g_cams = torch.zeros(30, dtype=torch.long), torch.arange(90) % 3
    g_pids[0] = -1  # junk: ignored
    f = 0.05
    out = calibrate_threshold(q, g, q_pids, q_cams, g_pids, g_cams, metric='cosine',
                              false_match_rate=f, chunk_size=7)
    keep = g_pids != -1
    d = pairwise_distance(prepare_features(q, 'cosine'), prepare_features(g[keep], 'cosine'), 'cosine')
    same = q_pids[:, None] == g_pids[keep][None]
    valid = ~(same & (q_cams[:, None] == g_cams[keep][None]))
    neg, pos = d[~same].sort().values, d[same & valid]
    t = float(neg[math.floor(f * len(neg))])
    assert out['threshold'] == pytest.approx(t)
    assert out['true_match_rate'] == pytest.approx(float((pos < t).double().mean()))
    assert out['num_neg'] == len(neg) and out['num_pos'] == len(pos)
    # at most f of the negatives are accepted
    assert float((neg < out['threshold']).double().mean()) <= f
    save_threshold(str(tmp_path / 't.json'), out)
    assert load_threshold(str(tmp_path / 't.json'), 'cosine') == pytest.approx(t)
    assert load_threshold('0.25') == 0.25
    with pytest.raises(FileNotFoundError, match='neither a number'):
        load_threshold(str(tmp_path / 'missing.json'))
