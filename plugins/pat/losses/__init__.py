"""PAT losses: Cross-ID Similarity Learning (eq. 6) and Part-guided Self-Distillation (eq. 7-8)."""
from .csl import CrossIDSimilarityLoss
from .psd import PartGuidedSelfDistillation, psd_soft_labels

__all__ = ['CrossIDSimilarityLoss', 'PartGuidedSelfDistillation', 'psd_soft_labels']
