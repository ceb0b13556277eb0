"""``ReIDMetric``: mAP, CMC (R1/R5/R10) and mINP of a query/gallery test set (Market protocol).

Protocol and formulas: ``functional/rank.py`` (Zheng et al., ICCV 2015; mINP: Ye et al.,
TPAMI 2021). Options: k-reciprocal re-ranking (Zhong et al., CVPR 2017), alpha-weighted average
query expansion (FastReID ``aqe``), CUHK03 single-gallery-shot CMC, TPR at fixed FPR.

Distributed testing: every rank keeps its own ``results``; ``BaseMetric.evaluate`` gathers them
with ``mmengine.dist.collect_results``, which interleaves the per-rank lists in the order of
``DefaultSampler``'s strided shards (rank r holds samples r, r + W, ...) and truncates to the
dataset size, so the samples the sampler repeated to pad the last round are dropped and the
gathered list is the dataset order. Only the main process computes the metrics.
"""
from typing import Dict, List, Optional, Sequence

import torch
from mmengine.evaluator import BaseMetric

from reidengine.registry import METRICS
from ..functional import check_eval_options, evaluate_features

REQUIRED_KEYS = ('pred_feature', 'pid', 'camid', 'is_query')


@METRICS.register_module()
class ReIDMetric(BaseMetric):
    """Query-gallery retrieval metrics; one instance per test set (``prefix`` names the keys).

    Args:
        metric: ``euclidean`` (squared, as Torchreid/FastReID) or ``cosine``.
        normalize_feat: L2-normalise features first (always done for ``cosine``).
        ranks: CMC ranks reported as ``R{k}``.
        rerank: e.g. ``dict(k1=20, k2=6, lambda_value=0.3)`` for k-reciprocal re-ranking.
        aqe: e.g. ``dict(k=5, alpha=3.0)`` for average query expansion.
        cuhk03_single_gallery_shot: report the CUHK03 classic single-gallery-shot CMC
            (``single_gallery_shot_repeats`` draws, generator seeded with ``seed``).
        roc: also report ``TPR@FPR=1e-04``, ``1e-03``, ``1e-02`` over all valid pairs.
        chunk_size: queries per distance block (bounds memory: chunk_size x gallery floats).
        num_workers: evaluation threads (default: torch's thread count; ``functional/parallel.py``).
        same_camera_filter: drop the gallery items of the query's identity AND camera (Market
            protocol). None: on unless the test set's metainfo says ``has_cameras=False`` (own
            data without camera ids: every same-identity gallery item is then a true match).
        collect_device, prefix, collect_dir: see ``mmengine.evaluator.BaseMetric``.
    """

    def __init__(self, metric: str = 'euclidean', normalize_feat: bool = False,
                 ranks: Sequence[int] = (1, 5, 10), rerank: Optional[dict] = None,
                 aqe: Optional[dict] = None, cuhk03_single_gallery_shot: bool = False,
                 single_gallery_shot_repeats: int = 10, seed: int = 0, roc: bool = False,
                 chunk_size: int = 256, num_workers: Optional[int] = None,
                 same_camera_filter: Optional[bool] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None, collect_dir: Optional[str] = None):
        super().__init__(collect_device=collect_device, prefix=prefix, collect_dir=collect_dir)
        # checked now, not after the whole test set has been extracted
        check_eval_options(metric, rerank, aqe, ranks)
        self.options = dict(metric=metric, normalize_feat=normalize_feat, ranks=tuple(ranks),
                            rerank=rerank, aqe=aqe, roc=roc, chunk_size=chunk_size,
                            num_workers=num_workers)
        self.single_gallery_shot = dict(num_repeats=single_gallery_shot_repeats, seed=seed) \
            if cuhk03_single_gallery_shot else None
        self.same_camera_filter = same_camera_filter

    def uses_camera_filter(self) -> bool:
        if self.same_camera_filter is not None:
            return bool(self.same_camera_filter)
        return (self.dataset_meta or {}).get('has_cameras', True) is not False

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            missing = [k for k in REQUIRED_KEYS if k not in sample]
            if missing:
                raise KeyError(f'ReIDMetric needs data samples with {list(REQUIRED_KEYS)}; '
                               f'{sample.get("img_path", "a sample")} lacks {missing}')
            feature = sample['pred_feature']
            if not isinstance(feature, torch.Tensor) or feature.dim() != 1:
                raise ValueError(f'pred_feature of {sample.get("img_path", "a sample")} must be a '
                                 f'1-D tensor, got {getattr(feature, "shape", type(feature))}')
            self.results.append(dict(feature=feature.detach().to('cpu', torch.float32),
                                     pid=int(sample['pid']), camid=int(sample['camid']),
                                     is_query=bool(sample['is_query'])))

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        is_query = torch.tensor([r['is_query'] for r in results], dtype=torch.bool)
        if not bool(is_query.any()) or bool(is_query.all()):
            raise ValueError(f'ReIDMetric needs both query and gallery samples, got '
                             f'{int(is_query.sum())} queries among {len(results)} samples '
                             '(is_query flags of the test set)')
        feats = torch.stack([r['feature'] for r in results])
        pids = torch.tensor([r['pid'] for r in results])
        camids = torch.tensor([r['camid'] for r in results])
        q, g = is_query, ~is_query
        q_camids, g_camids = camids[q], camids[g]
        if not self.uses_camera_filter():
            if self.single_gallery_shot is not None:
                raise ValueError('ReIDMetric: the CUHK03 single-gallery-shot CMC draws one gallery '
                                 'image per camera and needs camera ids; this test set has none '
                                 '(has_cameras=False)')
            # distinct query and gallery cameras: the same-camera filter removes nothing
            q_camids, g_camids = torch.zeros_like(q_camids), torch.ones_like(g_camids)
        return evaluate_features(feats[q], feats[g], q_pids=pids[q], q_camids=q_camids,
                                 g_pids=pids[g], g_camids=g_camids,
                                 single_gallery_shot=self.single_gallery_shot, **self.options)
