"""MDPR models: blocks, the two content branches, the fusion module, the network and its head."""
from .blocks import (AttentionGenerator, BilinearAttentionPooling, EmbeddingBlock, FusionBlock,
                     keep_foreground_maps)
from .fusion import FeatureFusion
from .hard_branch import HardContentBranch
from .mdpr_head import MDPRHead
from .mdpr_model import MDPRModel, feature_layout
from .soft_branch import SoftContentBranch

__all__ = ['AttentionGenerator', 'BilinearAttentionPooling', 'EmbeddingBlock', 'FusionBlock',
           'keep_foreground_maps', 'FeatureFusion', 'HardContentBranch', 'SoftContentBranch',
           'MDPRHead', 'MDPRModel', 'feature_layout']
