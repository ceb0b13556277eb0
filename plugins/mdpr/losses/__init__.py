"""MDPR losses: attention diversity (eq. 7) and mutual distillation (eq. 8)."""
from .attention_diversity import AttentionDiversityLoss
from .mutual_distillation import MutualDistillationLoss, Predictor, negative_cosine

__all__ = ['AttentionDiversityLoss', 'MutualDistillationLoss', 'Predictor', 'negative_cosine']
