import threading

import pytest
import torch

from reidengine.evaluation.functional import evaluate_features, run_chunks, single_threaded_ops


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
    one = evaluate_features(q, gal, *ids, chunk_size=7, num_workers=1, **options)
    three = evaluate_features(q, gal, *ids, chunk_size=7, num_workers=3, **options)
    assert one == three
    other_chunks = evaluate_features(q, gal, *ids, chunk_size=4, num_workers=2,
                                     rerank=options['rerank'], roc=True)
    for key in ('mAP', 'mINP', 'TPR@FPR=1e-02'):
        assert other_chunks[key] == pytest.approx(one[key], abs=1e-12)
