"""Functional ReID evaluation: distances, positive ranks, mAP/CMC/mINP, re-ranking, AQE, ROC."""
from .distance import (DISTANCE_METRICS, paired_distance, pairwise_distance,
                       prepare_features)
from .evaluate import check_eval_options, evaluate_blocks, evaluate_distmat, evaluate_features
from .positions import sorted_positions
from .query_expansion import average_query_expansion
from .parallel import run_chunks, run_tasks, single_threaded_ops
from .rank import GalleryIdentities, RankAccumulator, drop_junk, matrix_blocks, rank_statistics
from .rerank import KReciprocalReranker
from .roc import RocAccumulator
from .single_gallery_shot import SingleGalleryShotAccumulator

__all__ = [
    'DISTANCE_METRICS', 'pairwise_distance', 'paired_distance', 'prepare_features',
    'sorted_positions', 'GalleryIdentities', 'rank_statistics', 'RankAccumulator',
    'matrix_blocks', 'run_chunks', 'run_tasks', 'single_threaded_ops', 'drop_junk',
    'KReciprocalReranker',
    'average_query_expansion', 'RocAccumulator', 'SingleGalleryShotAccumulator',
    'check_eval_options', 'evaluate_blocks', 'evaluate_features', 'evaluate_distmat'
]
