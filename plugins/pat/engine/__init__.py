"""PAT training components: the released code's learning-rate schedule."""
from .released_cosine_lr import ReleasedPATCosineLR

__all__ = ['ReleasedPATCosineLR']
