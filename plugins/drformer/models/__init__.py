from .drformer_head import DRFormerHead
from .drformer_model import DRFormerModel, last_block_attention
from .fusion import DRFormerFusion, FusionTransformer

__all__ = ['DRFormerModel', 'DRFormerFusion', 'FusionTransformer', 'DRFormerHead', 'last_block_attention']
