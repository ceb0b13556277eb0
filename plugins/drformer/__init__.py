"""DRFormer plugin: dual-regularized bidirectional transformer over a DINOv2 and a CLIP encoder
(Shu et al., "DRFormer: A Dual-Regularized Bidirectional Transformer for Person Re-identification").

Importing it registers ``DRFormerModel``, ``DRFormerFusion``, ``DRFormerHead`` and
``TokenDiversityLoss`` in the core MODELS registry. Configs load it with
``custom_imports = dict(imports=['plugins.drformer'], allow_failed_imports=False)``.
"""
from .losses import TokenDiversityLoss
from .models import DRFormerFusion, DRFormerHead, DRFormerModel, FusionTransformer

__all__ = ['DRFormerModel', 'DRFormerFusion', 'FusionTransformer', 'DRFormerHead', 'TokenDiversityLoss']
