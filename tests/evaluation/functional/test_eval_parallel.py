import threading

import pytest
import torch

from reidengine.evaluation.functional import (evaluate_blocks, evaluate_distmat, evaluate_features,
                                              pairwise_distance, prepare_features, run_chunks,
                                              single_threaded_ops)


def kw(ids):
    """(q_pids, q_camids, g_pids, g_camids) as the evaluators' keyword arguments."""
    return dict(q_pids=ids[0], q_camids=ids[1], g_pids=ids[2], g_camids=ids[3])


def test_every_chunk_once_and_thread_count_restored():
    seen, lock = [], threading.Lock()
    before = torch.get_num_threads()

    def record(start, end):
        with lock:
            seen.append((start, end, torch.get_num_threads()))

    run_chunks(record, 10, 3, num_workers=3)
    assert sorted(s[:2] for s in seen) == [(0, 3), (3, 6), (6, 9), (9, 10)]
    assert all(s[2] == 1 for s in seen)  # single-threaded ops inside the workers
    assert torch.get_num_threads() == before
    with single_threaded_ops():
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before


def test_worker_errors_propagate_and_bad_chunk_size():
    def fail(start, end):
        if start == 4:
            raise RuntimeError('chunk 4 failed')

    with pytest.raises(RuntimeError, match='chunk 4 failed'):
        run_chunks(fail, 8, 2, num_workers=2)
    with pytest.raises(ValueError, match='chunk_size'):
        run_chunks(fail, 8, 0)


def test_results_do_not_depend_on_workers_or_chunks():
    g = torch.Generator().manual_seed(0)
    q, gal = torch.randn(30, 6, generator=g), torch.randn(80, 6, generator=g)
    ids = (torch.randint(0, 7, (30,), generator=g), torch.randint(0, 3, (30,), generator=g),
           torch.randint(-1, 7, (80,), generator=g), torch.randint(0, 3, (80,), generator=g))
    options = dict(rerank=dict(k1=6, k2=3, lambda_value=0.3), roc=True,
                   single_gallery_shot=dict(num_repeats=4, seed=1))
    one = evaluate_features(q, gal, **kw(ids), chunk_size=7, num_workers=1, **options)
    three = evaluate_features(q, gal, **kw(ids), chunk_size=7, num_workers=3, **options)
    assert one == three
    other_chunks = evaluate_features(q, gal, **kw(ids), chunk_size=4, num_workers=2,
                                     rerank=options['rerank'], roc=True)
    for key in ('mAP', 'mINP', 'TPR@FPR=1e-02'):
        assert other_chunks[key] == pytest.approx(one[key], abs=1e-12)


def test_features_path_equals_the_distance_matrix_path():
    """3-row chunks (each worker reuses one distance buffer for its chunks) with 1-3 workers,
    against the ranking of the whole distance matrix: identical metrics and per-query values."""
    g = torch.Generator().manual_seed(1)
    q, gal = torch.randn(29, 6, generator=g), torch.randn(50, 6, generator=g)
    ids = (torch.randint(0, 7, (29,), generator=g), torch.randint(0, 3, (29,), generator=g),
           torch.randint(-1, 7, (50,), generator=g), torch.randint(0, 3, (50,), generator=g))
    keep = ids[2] != -1
    for metric in ('euclidean', 'cosine'):
        qp = prepare_features(q, metric)
        gp = prepare_features(gal[keep], metric)
        expected = evaluate_distmat(pairwise_distance(qp, gp, metric),
                                    **kw((ids[0], ids[1], ids[2][keep], ids[3][keep])),
                                    return_per_query=True, roc=True)
        for workers in (1, 2, 3):
            out = evaluate_features(q, gal, **kw(ids), metric=metric, chunk_size=3,
                                    num_workers=workers, return_per_query=True, roc=True)
            assert out.keys() == expected.keys()
            for key, value in expected.items():
                if torch.is_tensor(value):
                    assert torch.equal(out[key].nan_to_num(-7), value.nan_to_num(-7)), key
                else:
                    assert out[key] == value, key


def test_worker_errors_reach_the_caller():
    def block_fn(start, end):
        return torch.full((end - start, 3), float('nan') if start >= 4 else 1.0)

    ids = dict(q_pids=torch.zeros(8, dtype=torch.long), q_camids=torch.zeros(8, dtype=torch.long),
               g_pids=torch.zeros(3, dtype=torch.long), g_camids=torch.ones(3, dtype=torch.long))
    with pytest.raises(ValueError, match='NaN'):
        evaluate_blocks(block_fn, **ids, chunk_size=2, num_workers=2)
