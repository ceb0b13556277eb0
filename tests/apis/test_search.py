"""search: the first k of a stable brute-force argsort, with and without re-ranking; faiss."""
import pytest
import torch

from reidengine.apis import faiss_available, search
from reidengine.evaluation.functional import KReciprocalReranker, pairwise_distance, prepare_features


def brute_force(q, g, k, metric, rerank=None):
    q, g = prepare_features(q, metric), prepare_features(g, metric)
    if rerank:
        dist = KReciprocalReranker(q, g, metric, chunk_size=len(q), num_workers=1,
                                   **rerank).block(0, len(q))
    else:
        dist = pairwise_distance(q, g, metric)
    order = torch.argsort(dist, dim=1, stable=True)[:, :k]
    return dist.gather(1, order), order


@pytest.mark.parametrize('metric', ['euclidean', 'cosine'])
def test_search_equals_argsort(metric):
    torch.manual_seed(0)
    q, g = torch.randn(37, 16), torch.randn(203, 16)
    d, i = search(q, g, topk=7, metric=metric, chunk_size=5, num_workers=2)
    d_ref, i_ref = brute_force(q, g, 7, metric)
    assert torch.equal(i, i_ref)
    torch.testing.assert_close(d, d_ref)


def test_ties_are_broken_by_gallery_index():
    g = torch.tensor([[1.0, 0], [0, 1.0], [1.0, 0], [1.0, 0], [2.0, 0]])
    q = torch.tensor([[1.0, 0]])
    d, i = search(q, g, topk=2, metric='euclidean')
    assert i.tolist() == [[0, 2]]
    d, i = search(q, g, topk=10, metric='euclidean')  # k capped at the gallery size
    assert i.tolist() == [[0, 2, 3, 4, 1]]


def test_search_with_rerank_equals_argsort_of_reranked_distances():
    torch.manual_seed(1)
    q, g = torch.randn(12, 8), torch.randn(40, 8)
    rerank = dict(k1=6, k2=3, lambda_value=0.3)
    d, i = search(q, g, topk=5, metric='cosine', rerank=rerank, chunk_size=4)
    d_ref, i_ref = brute_force(q, g, 5, 'cosine', rerank)
    assert torch.equal(i, i_ref)
    torch.testing.assert_close(d, d_ref)


def test_bad_arguments():
    with pytest.raises(ValueError, match='dim'):
        search(torch.randn(2, 3), torch.randn(4, 5))
    with pytest.raises(ValueError, match='metric'):
        search(torch.randn(2, 3), torch.randn(4, 3), metric='l1')
    with pytest.raises(ValueError, match='backend'):
        search(torch.randn(2, 3), torch.randn(4, 3), backend='annoy')


@pytest.mark.skipif(not faiss_available(), reason='faiss not installed')
@pytest.mark.parametrize('metric', ['euclidean', 'cosine'])
def test_faiss_flat_index_equals_exact_search(metric):
    torch.manual_seed(2)
    q, g = torch.randn(20, 32), torch.randn(300, 32)
    d, i = search(q, g, topk=10, metric=metric, backend='faiss')
    d_ref, i_ref = search(q, g, topk=10, metric=metric)
    assert torch.equal(i, i_ref)
    torch.testing.assert_close(d, d_ref, rtol=1e-4, atol=1e-4)
