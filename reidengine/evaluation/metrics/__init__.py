"""Evaluation metrics registered in ``reidengine.registry.METRICS``."""
from .reid_metric import ReIDMetric

__all__ = ['ReIDMetric']
