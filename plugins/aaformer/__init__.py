"""AAformer plugin: Auto-Aligned Transformer for person ReID (Zhu et al., IEEE TNNLS 2023).

Importing it registers ``AutoAlignmentAttention`` (MODELS) in the core registries.
Configs load it with ``custom_imports = dict(imports=['plugins.aaformer'], allow_failed_imports=False)``.
"""
from .models import AutoAlignmentAttention

__all__ = ['AutoAlignmentAttention']
