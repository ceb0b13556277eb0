"""PAT plugin: Part-Aware Transformer for generalizable person ReID (Ni et al., ICCV 2023).

Importing it registers ``PATModel``, ``PATHead`` (MODELS), ``CrossIDSimilarityLoss``,
``PartGuidedSelfDistillation`` (MODELS), ``PATMemoryBankHook`` (HOOKS) and ``ReleasedPATCosineLR``
(PARAM_SCHEDULERS) in the core registries.
Configs load it with ``custom_imports = dict(imports=['plugins.pat'], allow_failed_imports=False)``.
"""
from .engine import ReleasedPATCosineLR
from .hooks import PATMemoryBankHook
from .losses import CrossIDSimilarityLoss, PartGuidedSelfDistillation
from .models import PartAttentionMask, PartMemoryBank, PATHead, PATModel

__all__ = ['PATModel', 'PATHead', 'PartAttentionMask', 'PartMemoryBank', 'CrossIDSimilarityLoss',
           'PartGuidedSelfDistillation', 'PATMemoryBankHook', 'ReleasedPATCosineLR']
