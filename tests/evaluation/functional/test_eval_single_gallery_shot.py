import pytest
import torch

from reidengine.evaluation.functional import (SingleGalleryShotAccumulator, evaluate_distmat,
                                              matrix_blocks)


def kw(ids):
    """(q_pids, q_camids, g_pids, g_camids) as the evaluators' keyword arguments."""
    return dict(q_pids=ids[0], q_camids=ids[1], g_pids=ids[2], g_camids=ids[3])


def run(dist, ids, chunk=2, **kwargs):
    acc = SingleGalleryShotAccumulator(*ids, **kwargs)
    for start, block in matrix_blocks(dist, chunk):
        acc.update(start, block)
    return acc.summary()


def test_one_image_per_identity_equals_multi_shot_cmc():
    g = torch.Generator().manual_seed(0)
    num_q, num_ids = 12, 30
    q_pids = torch.randint(0, num_ids, (num_q,), generator=g)
    ids = (q_pids, torch.zeros(num_q, dtype=torch.long), torch.arange(num_ids),
           torch.ones(num_ids, dtype=torch.long))
    dist = torch.randn(num_q, num_ids, generator=g)
    multi = evaluate_distmat(dist, **kw(ids))
    single = run(dist, ids, num_repeats=3)
    for k in (1, 5, 10):
        assert single[f'R{k}'] == pytest.approx(multi[f'R{k}'])


def test_random_representative_hand_case():
    # query pid 1 cam 0: its positive at 1.0; identity 2 has images at 0.5 and 2.0; the
    # same-camera pid-1 image at 0.1 is removed. R1 = P(identity 2 drew its 2.0 image) = 1/2.
    dist = torch.tensor([[1.0, 0.5, 2.0, 0.1]])
    ids = (torch.tensor([1]), torch.tensor([0]), torch.tensor([1, 2, 2, 1]),
           torch.tensor([1, 1, 1, 0]))
    out = run(dist, ids, num_repeats=4000, seed=1)
    assert out['R1'] == pytest.approx(0.5, abs=0.04)
    assert out['R5'] == 1.0
    assert run(dist, ids, num_repeats=50, seed=3) == run(dist, ids, num_repeats=50, seed=3)


def test_metric_option_replaces_cmc_only():
    dist = torch.tensor([[1.0, 0.5, 2.0], [0.3, 0.2, 0.1]])
    ids = (torch.tensor([1, 2]), torch.tensor([0, 0]), torch.tensor([1, 2, 2]),
           torch.tensor([1, 1, 1]))
    multi = evaluate_distmat(dist, **kw(ids))
    single = evaluate_distmat(dist, **kw(ids), single_gallery_shot=dict(num_repeats=20, seed=0))
    assert single['mAP'] == multi['mAP'] and single['mINP'] == multi['mINP']
    # query 2's two pid-2 images are both ahead of pid 1: R1 = 1 either way; query 1: R1 < 1
    assert multi['R1'] == 0.5 and 0.5 <= single['R1'] < 1.0


def test_draws_do_not_depend_on_the_chunks():
    """The same seed gives the same CMC whatever the chunks (1, 7 or all rows at once; groups of
    draws cut by chunk boundaries), and another seed gives another draw."""
    g = torch.Generator().manual_seed(4)
    num_q, num_g = 40, 90
    ids = (torch.randint(0, 9, (num_q,), generator=g), torch.randint(0, 3, (num_q,), generator=g),
           torch.randint(0, 9, (num_g,), generator=g), torch.randint(0, 3, (num_g,), generator=g))
    dist = torch.randn(num_q, num_g, generator=g)
    options = dict(num_repeats=3, seed=5, step_elements=num_g * 6)  # groups of 6 query rows
    one = SingleGalleryShotAccumulator(*ids, **options)
    for start, block in matrix_blocks(dist, 1):
        one.update(start, block)
    for chunk in (7, num_q):
        acc = SingleGalleryShotAccumulator(*ids, **options)
        for start, block in matrix_blocks(dist, chunk):
            acc.update(start, block)
        assert torch.equal(acc.hits, one.hits)
    other = SingleGalleryShotAccumulator(*ids, **dict(options, seed=6))
    other.update(0, dist)
    assert not torch.equal(other.hits, one.hits)
