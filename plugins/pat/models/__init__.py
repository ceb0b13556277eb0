"""PAT models: part-aware attention mask, memory bank, head and model."""
from .memory_bank import PartMemoryBank
from .part_attention import PartAttentionMask, band_rows, part_attention_mask, region_masks
from .pat_head import PATHead
from .pat_model import PATModel
from .self_distillation import BlockSelfDistillationModel, SelfDistillationHead

__all__ = ['PartMemoryBank', 'PartAttentionMask', 'band_rows', 'part_attention_mask',
           'region_masks', 'PATHead', 'PATModel', 'BlockSelfDistillationModel', 'SelfDistillationHead']
