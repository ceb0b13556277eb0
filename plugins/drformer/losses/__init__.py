from .token_diversity import TokenDiversityLoss

__all__ = ['TokenDiversityLoss']
