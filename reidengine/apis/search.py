"""Ranked gallery matches of query features (the evaluator's distances, memory-bounded).

For each block of ``chunk_size`` queries the (chunk x G) distances are computed with the
evaluator's kernel (``evaluation.functional.pairwise_distance``, or the k-reciprocal re-ranked
block of ``KReciprocalReranker``) and only the ``topk`` smallest are kept (``torch.topk``: a
partial selection, no full sort of the gallery). The result is the first ``topk`` columns of a
stable argsort of each distance row (ties by gallery index).

``backend='faiss'`` uses an exact flat faiss index (``IndexFlatL2`` on the squared Euclidean
distance, ``IndexFlatIP`` for cosine: distance = 1 - inner product), for galleries searched
many times or on a GPU (``faiss-gpu``). Same results up to float rounding; no re-ranking.
"""
from typing import Optional, Tuple

import torch

from reidengine.evaluation.functional import (KReciprocalReranker, pairwise_distance,
                                              prepare_features, run_chunks)
from reidengine.evaluation.functional.distance import check_features, check_metric
from reidengine.evaluation.functional.parallel import single_threaded_ops

SEARCH_BACKENDS = ('torch', 'faiss')


def _stable_topk(dist: torch.Tensor, k: int) -> Tuple[torch.Tensor, torch.Tensor]:
    """The k smallest of each row, ordered by (distance, column), ties at the k-th value
    resolved by the lowest columns, as the first k of a stable argsort."""
    values, _ = torch.topk(dist, k, dim=1, largest=False, sorted=True)
    kth = values[:, -1:]
    below = dist < kth
    # every column below the k-th value, then the lowest columns equal to it
    num_below = below.sum(1, keepdim=True)
    equal_rank = (dist == kth).cumsum(1)
    take = below | ((dist == kth) & (equal_rank <= k - num_below))
    cols = take.nonzero()[:, 1].view(dist.shape[0], k)
    d = dist.gather(1, cols)
    order = torch.sort(d, dim=1, stable=True).indices  # cols ascending, so ties stay by column
    return d.gather(1, order), cols.gather(1, order)


def search(query_feats: torch.Tensor, gallery_feats: torch.Tensor, topk: int = 10,
           metric: str = 'euclidean', rerank: Optional[dict] = None,
           normalize_feat: bool = False, chunk_size: int = 256,
           num_workers: Optional[int] = None,
           backend: str = 'torch') -> Tuple[torch.Tensor, torch.Tensor]:
    """``(distances, indices)``, both (Q, k) with k = min(topk, G), nearest first.

    Args:
        query_feats, gallery_feats: (Q, D) and (G, D) features.
        topk: matches kept per query.
        metric: ``'euclidean'`` (squared, as the evaluator) or ``'cosine'`` (1 - cos).
        rerank: None, True or dict(k1=20, k2=6, lambda_value=0.3): k-reciprocal re-ranking
            (Zhong et al., CVPR 2017); the distances returned are the re-ranked ones.
        normalize_feat: L2-normalise before the Euclidean distance (always done for cosine).
        chunk_size: queries per block (memory: chunk_size x G floats per worker).
        num_workers: threads (default: torch's count).
        backend: ``'torch'`` (reference) or ``'faiss'`` (exact flat index; needs faiss-cpu or
            faiss-gpu).
    """
    check_metric(metric)
    if backend not in SEARCH_BACKENDS:
        raise ValueError(f'search backend must be one of {SEARCH_BACKENDS}, got {backend!r}')
    query = check_features(query_feats, 'query features')
    gallery = check_features(gallery_feats, 'gallery features')
    if query.shape[1] != gallery.shape[1]:
        raise ValueError(f'query features have dim {query.shape[1]} but gallery features '
                         f'{gallery.shape[1]}')
    if len(gallery) == 0:
        raise ValueError('the gallery is empty')
    if topk < 1:
        raise ValueError(f'topk must be positive, got {topk}')
    k = min(topk, len(gallery))
    query = prepare_features(query, metric, normalize_feat)
    gallery = prepare_features(gallery, metric, normalize_feat)
    if backend == 'faiss':
        if rerank:
            raise ValueError("re-ranking needs the full neighbour sets: use backend='torch'")
        return _faiss_search(query, gallery, k, metric)

    num_workers = num_workers or torch.get_num_threads()
    dists = torch.empty(len(query), k)
    indices = torch.empty(len(query), k, dtype=torch.long)
    with single_threaded_ops():
        if rerank:
            options = {} if rerank is True else dict(rerank)
            block_fn = KReciprocalReranker(query, gallery, metric, chunk_size=chunk_size,
                                           num_workers=num_workers, **options).block
        else:
            g_sqnorm = gallery.pow(2).sum(1) if metric == 'euclidean' else None

            def block_fn(start, end):
                return pairwise_distance(query[start:end], gallery, metric, y_sqnorm=g_sqnorm)

        def consume(start, end):
            d, i = _stable_topk(block_fn(start, end), k)
            dists[start:end], indices[start:end] = d, i

        run_chunks(consume, len(query), chunk_size, num_workers)
    return dists, indices


def faiss_available() -> bool:
    try:
        import faiss  # noqa: F401
    except ImportError:
        return False
    return True


def _faiss_search(query: torch.Tensor, gallery: torch.Tensor, k: int, metric: str):
    try:
        import faiss
    except ImportError as err:
        raise ImportError("search(backend='faiss') needs faiss: pip install faiss-cpu "
                          '(or faiss-gpu), or pip install -e ".[faiss]"') from err
    dim = gallery.shape[1]
    index = faiss.IndexFlatL2(dim) if metric == 'euclidean' else faiss.IndexFlatIP(dim)
    index.add(gallery.numpy())
    dists, indices = index.search(query.numpy(), k)
    dists, indices = torch.from_numpy(dists), torch.from_numpy(indices).long()
    if metric == 'cosine':
        dists = 1.0 - dists
    return dists, indices
