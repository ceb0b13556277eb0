"""FusionReID models: Local Refinement Unit, Heterogenous Transmission Module, the fusion neck and
the model."""
from .dmf import FEATURES, LRU_MODES, DualAttentionMutualFusion
from .fusionreid_model import FusionReIDModel
from .htm import (ORDERS, HeterogenousTransmissionModule, HTMLayer, MutualFusionUnit,
                  SharedEncodingUnit, block_attention)
from .lru import LocalRefinementUnit

__all__ = ['FEATURES', 'LRU_MODES', 'ORDERS', 'DualAttentionMutualFusion', 'FusionReIDModel',
           'HeterogenousTransmissionModule', 'HTMLayer', 'MutualFusionUnit', 'SharedEncodingUnit',
           'block_attention', 'LocalRefinementUnit']
