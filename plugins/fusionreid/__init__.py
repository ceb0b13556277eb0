"""FusionReID plugin: CNN + Transformer mutual fusion (Wang et al., "Unity is Strength: Unifying
Convolutional and Transformeral Features for Better Person Re-Identification", IEEE T-ITS 2025).

Importing it registers ``FusionReIDModel`` and ``DualAttentionMutualFusion`` (MODELS) in the core
registry. Configs load it with ``custom_imports = dict(imports=['plugins.fusionreid'],
allow_failed_imports=False)``.
"""
from .models import (DualAttentionMutualFusion, FusionReIDModel, HeterogenousTransmissionModule,
                     LocalRefinementUnit, MutualFusionUnit, SharedEncodingUnit)

__all__ = ['FusionReIDModel', 'DualAttentionMutualFusion', 'HeterogenousTransmissionModule',
           'LocalRefinementUnit', 'MutualFusionUnit', 'SharedEncodingUnit']
