"""ReID evaluation from features or from a distance matrix (the protocol of ``rank.py``).

Pipeline: drop junk gallery items -> optional average query expansion -> prepare features ->
distance blocks of ``chunk_size`` queries (plain or k-reciprocal re-ranked) -> accumulators
(mAP / CMC / mINP, optional single-gallery-shot CMC and ROC). The full query x gallery matrix
never exists: peak memory is ``num_workers`` blocks plus the re-ranking's sparse neighbour sets.
Blocks are produced and consumed in ``num_workers`` threads (``parallel.run_chunks``).
"""
from typing import Callable, Dict, Optional, Sequence

import torch

from .distance import check_features, check_metric, prepare_features
from .query_expansion import average_query_expansion, check_aqe_params
from .distance import pairwise_distance
from .parallel import run_chunks, single_threaded_ops
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


def evaluate_blocks(block_fn: Callable[[int, int], torch.Tensor], q_pids, q_camids, g_pids,
                    g_camids, ranks: Sequence[int] = (1, 5, 10),
                    single_gallery_shot: Optional[dict] = None, roc: bool = False,
                    chunk_size: int = 256, num_workers: Optional[int] = None) -> Dict[str, float]:
    """Metrics from ``block_fn(start, end)``, the (end - start, G) distances of those queries.

    ``single_gallery_shot``: None, or dict(num_repeats=10, seed=0) to replace the CMC keys by
    the CUHK03 single-gallery-shot CMC.
    """
    ids = (q_pids, q_camids, g_pids, g_camids)
    accumulators = [RankAccumulator(*ids, ranks=ranks)]
    if single_gallery_shot is not None:
        accumulators.append(SingleGalleryShotAccumulator(*ids, ranks=ranks,
                                                         **single_gallery_shot))
    if roc:
        accumulators.append(RocAccumulator(*ids))

    def consume(start, end):
        block = block_fn(start, end)
        for acc in accumulators:
            acc.update(start, block)

    run_chunks(consume, len(q_pids), chunk_size, num_workers)
    out = {}
    for acc in accumulators:
        out.update(acc.summary())  # single-gallery-shot CMC overrides the multi-shot CMC
    return out


def evaluate_features(query: torch.Tensor, gallery: torch.Tensor, q_pids, q_camids, g_pids,
                      g_camids, metric: str = 'euclidean', normalize_feat: bool = False,
                      ranks: Sequence[int] = (1, 5, 10), rerank: Optional[dict] = None,
                      aqe: Optional[dict] = None, single_gallery_shot: Optional[dict] = None,
                      roc: bool = False, chunk_size: int = 256,
                      num_workers: Optional[int] = None) -> Dict[str, float]:
    """mAP, CMC@ranks (``R1``...), mINP, ``num_skipped_queries`` (+ ROC keys) from features.

    Args:
        rerank: None or dict(k1=20, k2=6, lambda_value=0.3) (k-reciprocal re-ranking).
        aqe: None or dict(k=5, alpha=3.0) (alpha-weighted average query expansion).
        single_gallery_shot: None or dict(num_repeats=10, seed=0).
        chunk_size: queries per distance block; num_workers: threads (default: torch's count).
    """
    num_workers = num_workers or torch.get_num_threads()
    with single_threaded_ops():  # small setup ops too: no per-op thread barriers (parallel.py)
        return _evaluate_features(query, gallery, q_pids, q_camids, g_pids, g_camids, metric,
                                  normalize_feat, ranks, rerank, aqe, single_gallery_shot, roc,
                                  chunk_size, num_workers)


def _evaluate_features(query, gallery, q_pids, q_camids, g_pids, g_camids, metric,
                       normalize_feat, ranks, rerank, aqe, single_gallery_shot, roc, chunk_size,
                       num_workers):
    rerank, aqe = check_eval_options(metric, rerank, aqe, ranks)
    query = check_features(query, 'query features')
    gallery = check_features(gallery, 'gallery features')
    if query.shape[1] != gallery.shape[1]:
        raise ValueError(f'query features have dim {query.shape[1]} but gallery features '
                         f'{gallery.shape[1]}')
    q_pids = _check_ids('query pids', q_pids, len(query))
    q_camids = _check_ids('query camids', q_camids, len(query))
    g_pids = _check_ids('gallery pids', g_pids, len(gallery))
    g_camids = _check_ids('gallery camids', g_camids, len(gallery))

    gallery, g_pids, g_camids = drop_junk(gallery, g_pids, g_camids)
    if aqe is not None:
        query, gallery = average_query_expansion(query, gallery, chunk_size=chunk_size,
                                                 num_workers=num_workers, **aqe)
    query = prepare_features(query, metric, normalize_feat)
    gallery = prepare_features(gallery, metric, normalize_feat)
    if rerank is not None:
        block_fn = KReciprocalReranker(query, gallery, metric, chunk_size=chunk_size,
                                       num_workers=num_workers, **rerank).block
    else:
        g_sqnorm = gallery.pow(2).sum(1) if metric == 'euclidean' else None

        def block_fn(start, end):
            return pairwise_distance(query[start:end], gallery, metric, y_sqnorm=g_sqnorm)

    return evaluate_blocks(block_fn, q_pids, q_camids, g_pids, g_camids, ranks,
                           single_gallery_shot, roc, chunk_size, num_workers)


def evaluate_distmat(distmat: torch.Tensor, q_pids, q_camids, g_pids, g_camids,
                     ranks: Sequence[int] = (1, 5, 10), single_gallery_shot: Optional[dict] = None,
                     roc: bool = False, chunk_size: int = 256,
                     num_workers: Optional[int] = None) -> Dict[str, float]:
    """The same metrics from a precomputed (Q, G) distance matrix (junk columns dropped)."""
    num_workers = num_workers or torch.get_num_threads()
    with single_threaded_ops():
        return _evaluate_distmat(distmat, q_pids, q_camids, g_pids, g_camids, ranks,
                                 single_gallery_shot, roc, chunk_size, num_workers)


def _evaluate_distmat(distmat, q_pids, q_camids, g_pids, g_camids, ranks, single_gallery_shot,
                      roc, chunk_size, num_workers):
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
    return evaluate_blocks(lambda start, end: distmat[start:end], q_pids, q_camids, g_pids,
                           g_camids, ranks, single_gallery_shot, roc, chunk_size, num_workers)
