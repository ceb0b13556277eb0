"""AAformer plugin: Auto-Aligned Transformer for person ReID (Zhu et al., IEEE TNNLS 2023).

Importing it registers ``AAformerModel``, ``AutoAlignmentAttention`` and ``PartTokenSplit`` (MODELS) in
the core registries. Configs load it with
``custom_imports = dict(imports=['plugins.aaformer'], allow_failed_imports=False)``.
"""
from .models import AAformerModel, AutoAlignmentAttention, PartTokenSplit

__all__ = ['AAformerModel', 'AutoAlignmentAttention', 'PartTokenSplit']
