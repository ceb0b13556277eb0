"""ReID evaluation from features or from a distance matrix (the protocol of ``rank.py``).

Pipeline: drop junk gallery items -> optional average query expansion -> prepare features ->
query x gallery distances (plain or k-reciprocal re-ranked) -> accumulators (mAP / CMC / mINP,
optional single-gallery-shot CMC and ROC). The full query x gallery matrix never exists.

Every chunk of ``chunk_size`` query rows is handled by one of ``num_workers`` threads with
single-threaded torch ops (``parallel.py``): its distances (one matrix product, written into the
thread's reused buffer) and their ranking (``rank.py``: the native kernel, which reads each
distance once, where it builds), while they are still in the thread's cache. Peak
memory beyond the features: about ``num_workers x chunk_size x G x 4`` bytes plus the ranking's
cache-sized scratch (``positions.py``).

Ids are keyword-only (``q_pids=..., g_pids=..., q_camids=..., g_camids=...``), so that
Torchreid's ``(q_pids, g_pids, q_camids, g_camids)`` and other orders cannot be swapped silently.
"""
from typing import Callable, Dict, Optional, Sequence, Union

import torch

from .distance import check_features, check_metric, pairwise_distance, prepare_features
from .parallel import intra_op_threads, run_chunks, single_threaded_ops, thread_scratch
from .query_expansion import average_query_expansion, check_aqe_params
from .rank import RankAccumulator, drop_junk
from .rerank import KReciprocalReranker, check_rerank_params
from .roc import RocAccumulator
from .single_gallery_shot import SingleGalleryShotAccumulator

RERANK_KEYS = ('k1', 'k2', 'lambda_value')
AQE_KEYS = ('k', 'alpha')


def _check_ids(name: str, values, length: int) -> torch.Tensor:
    values = torch.as_tensor(values).long().reshape(-1)
    if len(values) != length:
        raise ValueError(f'{name} has {len(values)} entries, expected {length} (one per sample)')
    return values


def _check_options(name: str, options: Optional[dict], allowed: Sequence[str]) -> Optional[dict]:
    if options is None or options is False:
        return None
    if options is True:
        return {}
    unknown = set(options) - set(allowed)
    if unknown:
        raise ValueError(f'unknown {name} option(s) {sorted(unknown)}; allowed: {list(allowed)}')
    return dict(options)


def check_eval_options(metric: str, rerank: Optional[dict] = None, aqe: Optional[dict] = None,
                       ranks: Sequence[int] = (1, 5, 10)):
    """Validate the options of :func:`evaluate_features` without any feature; returns
    ``(rerank, aqe)`` normalised (None when off, a dict of the given keys when on).

    ``ReIDMetric`` calls it when it is built, so a typo fails before the test set is extracted.
    """
    check_metric(metric)
    ranks = list(ranks)
    if not ranks or any(isinstance(k, bool) or not isinstance(k, int) or k < 1 for k in ranks):
        raise ValueError(f'ranks must be a non-empty list of ints >= 1, got {ranks}')
    rerank = _check_options('rerank', rerank, RERANK_KEYS)
    aqe = _check_options('aqe', aqe, AQE_KEYS)
    if rerank is not None:
        check_rerank_params(**rerank)
    if aqe is not None:
        check_aqe_params(**aqe)
    return rerank, aqe


def evaluate_blocks(block_fn: Callable[[int, int], torch.Tensor], *, q_pids, g_pids, q_camids,
                    g_camids, ranks: Sequence[int] = (1, 5, 10),
                    single_gallery_shot: Optional[dict] = None, roc: bool = False,
                    chunk_size: int = 256, num_workers: Optional[int] = None,
                    return_per_query: bool = False,
                    cmc_max_rank: int = 50) -> Dict[str, Union[float, torch.Tensor]]:
    """Metrics from ``block_fn(start, end)``, the (end - start, G) distances of those queries.

    ``block_fn`` is called for each chunk inside the worker threads (with single-threaded ops)
    and the chunk is ranked by the same thread right after; the block may be a buffer that the
    thread reuses for its next chunk. Chunks have at most ``chunk_size`` rows and are equal in
    size, their number a multiple of ``num_workers`` (no worker is left with an extra chunk).

    Args:
        single_gallery_shot: None, or dict(num_repeats=10, seed=0) to replace the CMC keys by
            the CUHK03 single-gallery-shot CMC.
        return_per_query, cmc_max_rank: see :func:`evaluate_features`.
    """
    if chunk_size < 1:
        raise ValueError(f'chunk_size must be positive, got {chunk_size}')
    num_workers = num_workers or torch.get_num_threads()
    ids = (q_pids, q_camids, g_pids, g_camids)
    rank_acc = RankAccumulator(*ids, ranks=ranks)
    accumulators = [rank_acc]
    if single_gallery_shot is not None:
        accumulators.append(SingleGalleryShotAccumulator(*ids, ranks=ranks,
                                                         **single_gallery_shot))
    if roc:
        accumulators.append(RocAccumulator(*ids))

    def update(start, block):
        for acc in accumulators:
            acc.update(start, block)

    # at most chunk_size rows per chunk, and as many chunks for every worker (equal sizes)
    num_chunks = -(-len(q_pids) // chunk_size)
    num_chunks = -(-num_chunks // num_workers) * num_workers
    rows = max(1, -(-len(q_pids) // num_chunks))
    run_chunks(lambda start, end: update(start, block_fn(start, end)), len(q_pids), rows,
               num_workers)
    out = {}
    for acc in accumulators:
        out.update(acc.summary())  # single-gallery-shot CMC overrides the multi-shot CMC
    if return_per_query:
        out.update(rank_acc.details(cmc_max_rank))
    return out


def evaluate_features(query, gallery, *, q_pids, g_pids, q_camids, g_camids,
                      metric: str = 'euclidean', normalize_feat: bool = False,
                      ranks: Sequence[int] = (1, 5, 10), rerank: Optional[dict] = None,
                      aqe: Optional[dict] = None, single_gallery_shot: Optional[dict] = None,
                      roc: bool = False, chunk_size: int = 256, num_workers: Optional[int] = None,
                      return_per_query: bool = False,
                      cmc_max_rank: int = 50) -> Dict[str, Union[float, torch.Tensor]]:
    """mAP, CMC@ranks (``R1``...), mINP, ``num_skipped_queries`` (+ ROC keys) from features.

    Args:
        query, gallery: (Q, D) and (G, D) features, torch tensors or numpy arrays (any float
            dtype; evaluated in float32).
        q_pids, g_pids, q_camids, g_camids: keyword-only identity and camera ids (sequences,
            numpy arrays or tensors); gallery pid -1 marks junk items.
        metric: ``euclidean`` (squared) or ``cosine`` (features L2-normalised here).
        rerank: None or dict(k1=20, k2=6, lambda_value=0.3) (k-reciprocal re-ranking).
        aqe: None or dict(k=5, alpha=3.0) (alpha-weighted average query expansion).
        single_gallery_shot: None or dict(num_repeats=10, seed=0).
        chunk_size: query rows per task; num_workers: threads (default: torch's count).
        return_per_query: also return ``AP`` and ``INP`` (float64 (Q,) tensors, NaN for
            queries without a valid positive), ``first_rank`` (long (Q,), 0-based rank of the
            first positive, -1 without one) and ``CMC`` (float64 (cmc_max_rank,): the
            multi-shot CMC curve, ``CMC[k - 1]`` = fraction of valid queries matched within k).
    """
    num_workers = num_workers or torch.get_num_threads()
    with single_threaded_ops():  # small setup ops too: no per-op thread barriers (parallel.py)
        query = check_features(query, 'query features', check_finite=False)
        gallery = check_features(gallery, 'gallery features', check_finite=False)
        if query.shape[1] != gallery.shape[1]:
            raise ValueError(f'query features have dim {query.shape[1]} but gallery features '
                             f'{gallery.shape[1]}')
        q_pids = _check_ids('query pids', q_pids, len(query))
        q_camids = _check_ids('query camids', q_camids, len(query))
        g_pids = _check_ids('gallery pids', g_pids, len(gallery))
        g_camids = _check_ids('gallery camids', g_camids, len(gallery))
        rerank, aqe = check_eval_options(metric, rerank, aqe, ranks)

        gallery, g_pids, g_camids = drop_junk(gallery, g_pids, g_camids)
        if aqe is not None:  # on the features as given (checked first)
            with intra_op_threads(num_workers):
                prepare_features(query, 'euclidean', name='query features')
                prepare_features(gallery, 'euclidean', name='gallery features')
            query, gallery = average_query_expansion(query, gallery, chunk_size=chunk_size,
                                                     num_workers=num_workers, **aqe)
        with intra_op_threads(num_workers):  # large passes over the features
            # checked (finite, no overflow) from the row norms; normalised for cosine
            query, q_sqnorm = prepare_features(query, metric, normalize_feat, 'query features')
            gallery, g_sqnorm = prepare_features(gallery, metric, normalize_feat,
                                                 'gallery features')
        if rerank is not None:
            block_fn = KReciprocalReranker(query, gallery, metric, chunk_size=chunk_size,
                                           num_workers=num_workers, **rerank).block
        else:
            def block_fn(start, end):  # in a worker thread: into its reused buffer
                out = thread_scratch('distances', (end - start, len(gallery)))
                x_sqnorm = None if q_sqnorm is None else q_sqnorm[start:end]
                return pairwise_distance(query[start:end], gallery, metric, x_sqnorm=x_sqnorm,
                                         y_sqnorm=g_sqnorm, out=out)
        return evaluate_blocks(block_fn, q_pids=q_pids, g_pids=g_pids, q_camids=q_camids,
                               g_camids=g_camids, ranks=ranks,
                               single_gallery_shot=single_gallery_shot, roc=roc,
                               chunk_size=chunk_size, num_workers=num_workers,
                               return_per_query=return_per_query, cmc_max_rank=cmc_max_rank)


def evaluate_distmat(distmat, *, q_pids, g_pids, q_camids, g_camids,
                     ranks: Sequence[int] = (1, 5, 10), single_gallery_shot: Optional[dict] = None,
                     roc: bool = False, chunk_size: int = 256, num_workers: Optional[int] = None,
                     return_per_query: bool = False,
                     cmc_max_rank: int = 50) -> Dict[str, Union[float, torch.Tensor]]:
    """The same metrics from a precomputed (Q, G) distance matrix (tensor or numpy array; junk
    columns, gallery pid -1, dropped); keyword-only ids as in :func:`evaluate_features`."""
    num_workers = num_workers or torch.get_num_threads()
    with single_threaded_ops():
        distmat = torch.as_tensor(distmat)
        if distmat.dim() != 2:
            raise ValueError(f'distmat must be 2-D (num_query, num_gallery), got '
                             f'{tuple(distmat.shape)}')
        q_pids = _check_ids('query pids', q_pids, distmat.shape[0])
        q_camids = _check_ids('query camids', q_camids, distmat.shape[0])
        g_pids = _check_ids('gallery pids', g_pids, distmat.shape[1])
        g_camids = _check_ids('gallery camids', g_camids, distmat.shape[1])
        keep = g_pids != -1
        if not bool(keep.all()):
            distmat, g_pids, g_camids = distmat[:, keep], g_pids[keep], g_camids[keep]
        distmat = distmat.float()
        return evaluate_blocks(lambda start, end: distmat[start:end], q_pids=q_pids,
                               g_pids=g_pids, q_camids=q_camids, g_camids=g_camids, ranks=ranks,
                               single_gallery_shot=single_gallery_shot, roc=roc,
                               chunk_size=chunk_size, num_workers=num_workers,
                               return_per_query=return_per_query, cmc_max_rank=cmc_max_rank)
