import math

import pytest
import torch

from reidengine.evaluation.functional import (RankAccumulator, evaluate_distmat,
                                              evaluate_features, matrix_blocks, native)


def kw(ids):
    """(q_pids, q_camids, g_pids, g_camids) as the evaluators' keyword arguments."""
    return dict(q_pids=ids[0], q_camids=ids[1], g_pids=ids[2], g_camids=ids[3])


def direct_market_eval(dist, q_pids, q_camids, g_pids, g_camids):
    """Plain Market-1501 protocol: full stable argsort per query, written out."""
    aps, inps, firsts, skipped = [], [], [], 0
    for i in range(dist.shape[0]):
        order = sorted(range(dist.shape[1]), key=lambda k: (float(dist[i, k]), k))
        hits = []
        for k in order:
            if g_pids[k] == -1:
                continue  # junk
            if g_pids[k] == q_pids[i] and g_camids[k] == q_camids[i]:
                continue  # same identity, same camera
            hits.append(int(g_pids[k] == q_pids[i]))
        positive_ranks = [r for r, h in enumerate(hits) if h]
        if not positive_ranks:
            skipped += 1
            aps.append(float('nan')), inps.append(float('nan')), firsts.append(-1)
            continue
        precisions = [(m + 1) / (r + 1) for m, r in enumerate(positive_ranks)]
        aps.append(sum(precisions) / len(positive_ranks))
        inps.append(len(positive_ranks) / (positive_ranks[-1] + 1))
        firsts.append(positive_ranks[0])
    valid = [a == a for a in aps]
    mean = lambda xs: sum(x for x, v in zip(xs, valid) if v) / sum(valid)  # noqa: E731
    out = dict(mAP=mean(aps), mINP=mean(inps), num_skipped_queries=skipped)
    for k in (1, 5, 10):
        out[f'R{k}'] = mean([float(0 <= f < k) for f in firsts])
    return out, aps, firsts


def test_hand_case_junk_same_camera_distractor():
    # query: pid 1, camera 0
    dist = torch.tensor([[0.1, 0.2, 0.3, 0.05, 0.4, 0.5]])
    g_pids = torch.tensor([1, 2, 1, -1, 0, 1])
    g_camids = torch.tensor([0, 1, 1, 2, 1, 2])
    # valid list: pid2 (0.2), pid1 (0.3), distractor (0.4), pid1 (0.5) -> positives at ranks 1, 3
    out = evaluate_distmat(dist, q_pids=torch.tensor([1]), q_camids=torch.tensor([0]), g_pids=g_pids,
                           g_camids=g_camids)
    assert out['mAP'] == pytest.approx((1 / 2 + 2 / 4) / 2)
    assert out['mINP'] == pytest.approx(2 / 4)
    assert (out['R1'], out['R5'], out['R10']) == (0.0, 1.0, 1.0)
    assert out['num_skipped_queries'] == 0


def test_ties_follow_gallery_order():
    q = torch.tensor([1])
    c = torch.tensor([0])
    # a negative before the positive in gallery order: the positive is second
    out = evaluate_distmat(torch.tensor([[1.0, 1.0, 1.0]]),
                           **kw((q, c, torch.tensor([2, 1, 3]), torch.tensor([1, 1, 1]))))
    assert out['mAP'] == pytest.approx(0.5) and out['R1'] == 0.0
    # the positive first in gallery order: rank 0
    out = evaluate_distmat(torch.tensor([[1.0, 1.0]]),
                           **kw((q, c, torch.tensor([1, 2]), torch.tensor([1, 1]))))
    assert out['mAP'] == 1.0 and out['R1'] == 1.0


def test_query_without_valid_positive_is_skipped():
    dist = torch.tensor([[0.1, 0.2, 0.3],
                         [0.3, 0.2, 0.1]])
    q_pids, q_camids = torch.tensor([1, 2]), torch.tensor([0, 0])
    g_pids, g_camids = torch.tensor([1, 2, 3]), torch.tensor([0, 1, 1])
    # query 0: its only pid-1 item shares camera 0 -> skipped; query 1: positive at rank 1
    out = evaluate_distmat(dist, **kw((q_pids, q_camids, g_pids, g_camids)))
    assert out['num_skipped_queries'] == 1
    assert out['mAP'] == pytest.approx(0.5) and out['R1'] == 0.0 and out['R5'] == 1.0
    with pytest.raises(ValueError, match='no query has a positive'):
        evaluate_distmat(dist[:1], **kw((q_pids[:1], q_camids[:1], g_pids, g_camids)))


@pytest.mark.parametrize('seed', [0, 1, 2])
def test_fast_path_equals_direct_full_sort(seed):
    g = torch.Generator().manual_seed(seed)
    num_q, num_g = 23, 157
    q_pids = torch.randint(1, 12, (num_q,), generator=g)
    g_pids = torch.randint(-1, 12, (num_g,), generator=g)  # includes junk (-1), distractors (0)
    q_camids = torch.randint(0, 3, (num_q,), generator=g)
    g_camids = torch.randint(0, 3, (num_g,), generator=g)
    if seed == 2:  # many exact ties
        dist = torch.randint(0, 8, (num_q, num_g), generator=g).float()
    else:
        dist = torch.randn(num_q, num_g, generator=g)
    expected, aps, firsts = direct_market_eval(dist, q_pids, q_camids, g_pids, g_camids)
    keep = g_pids != -1
    # torch: the histogram route for every row (dense_fraction 0), for none (2) and mixed
    # (1/16); the native kernel (where a C compiler is present: CI has one)
    settings = [(1, 1, 2, 0.0, False), (7, 40, 3, 0.0, False), (num_q, 10 ** 6, None, 0.0, False),
                (5, 300, 4, 2.0, False), (num_q, 10 ** 6, None, 1 / 16, False)]
    if native.kernel() is not None:
        settings += [(1, None, None, None, True), (7, None, None, None, True),
                     (num_q, None, None, None, True)]
    for chunk, step, cells, dense, use_native in settings:
        acc = RankAccumulator(q_pids, q_camids, g_pids[keep], g_camids[keep], num_cells=cells,
                              step_elements=step or 2 ** 22, dense_fraction=dense or 0.75,
                              native=use_native)
        for start, block in matrix_blocks(dist[:, keep], chunk):
            acc.update(start, block)
        out = acc.summary()
        for key, value in expected.items():
            assert out[key] == pytest.approx(value, abs=1e-12), key
        ap = acc.per_query['ap'].tolist()
        assert all((math.isnan(a) and math.isnan(b)) or abs(a - b) < 1e-12
                   for a, b in zip(ap, aps))
        assert acc.per_query['first'].tolist() == firsts


def test_features_euclidean_and_cosine_against_direct_distances():
    g = torch.Generator().manual_seed(3)
    q, gal = torch.randn(19, 8, generator=g), torch.randn(90, 8, generator=g)
    q_pids = torch.randint(0, 6, (19,), generator=g)
    g_pids = torch.randint(0, 6, (90,), generator=g)
    q_camids = torch.randint(0, 2, (19,), generator=g)
    g_camids = torch.randint(0, 2, (90,), generator=g)
    ids = (q_pids, q_camids, g_pids, g_camids)
    euclid = torch.cdist(q.double(), gal.double())  # true Euclidean: same ranking as squared
    cos = 1 - torch.nn.functional.cosine_similarity(q.double()[:, None], gal.double()[None], dim=2)
    for metric, dist in [('euclidean', euclid), ('cosine', cos)]:
        expected = direct_market_eval(dist, *ids)[0]
        out = evaluate_features(q, gal, **kw(ids), metric=metric, chunk_size=5)
        for key, value in expected.items():
            assert out[key] == pytest.approx(value, abs=1e-12), (metric, key)
    # normalize_feat: squared Euclidean on unit vectors = 2 * cosine distance
    expected = direct_market_eval(cos, *ids)[0]
    out = evaluate_features(q, gal, **kw(ids), metric='euclidean', normalize_feat=True)
    assert out['mAP'] == pytest.approx(expected['mAP'], abs=1e-12)


def test_bad_inputs_name_the_fault():
    ids = (torch.tensor([1]), torch.tensor([0]), torch.tensor([1, 2]), torch.tensor([1, 1]))
    with pytest.raises(ValueError, match='gallery pids has 2 entries, expected 3'):
        evaluate_features(torch.zeros(1, 4), torch.zeros(3, 4), **kw(ids))
    with pytest.raises(ValueError, match='query features has NaN'):
        evaluate_features(torch.full((1, 4), float('nan')), torch.zeros(2, 4), **kw(ids))
    with pytest.raises(ValueError, match='distance metric'):
        evaluate_features(torch.zeros(1, 4), torch.zeros(2, 4), **kw(ids), metric='l1')
    with pytest.raises(ValueError, match="unknown rerank option"):
        evaluate_features(torch.zeros(1, 4), torch.zeros(2, 4), **kw(ids), rerank=dict(k=3))
    with pytest.raises(ValueError, match='dim 4 but gallery features 5'):
        evaluate_features(torch.zeros(1, 4), torch.zeros(2, 5), **kw(ids))


def test_nan_distances_raise_a_clear_error():
    dist = torch.tensor([[0.1, float('nan'), 0.3]])
    ids = (torch.tensor([1]), torch.tensor([0]), torch.tensor([1, 2, 1]), torch.tensor([1, 1, 1]))
    with pytest.raises(ValueError, match='distances contain NaN'):
        evaluate_distmat(dist, **kw(ids))


def test_per_query_values_and_cmc_curve_on_request(seed=4):
    g = torch.Generator().manual_seed(seed)
    dist = torch.randn(23, 60, generator=g)
    ids = (torch.randint(1, 9, (23,), generator=g), torch.randint(0, 3, (23,), generator=g),
           torch.randint(-1, 9, (60,), generator=g), torch.randint(0, 3, (60,), generator=g))
    expected, aps, firsts = direct_market_eval(dist, *ids)
    out = evaluate_distmat(dist, **kw(ids), return_per_query=True, cmc_max_rank=12)
    assert out['first_rank'].tolist() == firsts
    assert all((math.isnan(a) and math.isnan(b)) or abs(a - b) < 1e-12
               for a, b in zip(out['AP'].tolist(), aps))
    valid = [f >= 0 for f in firsts]
    assert out['INP'][torch.tensor(valid)].mean().item() == pytest.approx(expected['mINP'])
    curve = [sum(0 <= f < k for f in firsts) / sum(valid) for k in range(1, 13)]
    assert out['CMC'].tolist() == pytest.approx(curve, abs=1e-12)
    assert out['CMC'][0].item() == pytest.approx(expected['R1'])
    assert 'AP' not in evaluate_distmat(dist, **kw(ids))


def test_ids_are_keyword_only_and_numpy_inputs_are_accepted():
    g = torch.Generator().manual_seed(5)
    q, gal = torch.randn(7, 4, generator=g), torch.randn(20, 4, generator=g)
    ids = (torch.randint(0, 4, (7,), generator=g), torch.randint(0, 2, (7,), generator=g),
           torch.randint(0, 4, (20,), generator=g), torch.randint(0, 2, (20,), generator=g))
    with pytest.raises(TypeError):
        evaluate_features(q, gal, *ids)
    with pytest.raises(TypeError):
        evaluate_distmat(torch.cdist(q, gal), *ids)
    expected = evaluate_features(q, gal, **kw(ids), metric='cosine')
    as_numpy = evaluate_features(q.numpy(), gal.double().numpy(), metric='cosine',
                                 **{k: v.numpy() for k, v in kw(ids).items()})
    assert as_numpy == expected
    with pytest.raises(ValueError, match='2-D tensor or numpy array'):
        evaluate_features(q.numpy().astype(str), gal, **kw(ids))
