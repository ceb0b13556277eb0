"""Evaluation: ReID metric (mAP, CMC, mINP), ranking, re-ranking."""
from .functional import evaluate_distmat, evaluate_features
from .metrics import ReIDMetric

__all__ = ['ReIDMetric', 'evaluate_features', 'evaluate_distmat']
