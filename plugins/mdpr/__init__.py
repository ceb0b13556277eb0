"""MDPR plugin: Mutual Distillation Learning for person re-identification (Fu, Cui et al., 2024).

Importing it registers ``MDPRModel``, ``MDPRHead``, ``AttentionDiversityLoss`` and
``MutualDistillationLoss`` (MODELS) in the core registries. Configs load it with
``custom_imports = dict(imports=['plugins.mdpr'], allow_failed_imports=False)``.
"""
from .losses import AttentionDiversityLoss, MutualDistillationLoss
from .models import (FeatureFusion, HardContentBranch, MDPRHead, MDPRModel, SoftContentBranch,
                     feature_layout)

__all__ = ['MDPRModel', 'MDPRHead', 'HardContentBranch', 'SoftContentBranch', 'FeatureFusion',
           'AttentionDiversityLoss', 'MutualDistillationLoss', 'feature_layout']
