"""PAT hooks: memory-bank fill before training."""
from .memory_bank_hook import PATMemoryBankHook, dataset_with_pipeline

__all__ = ['PATMemoryBankHook', 'dataset_with_pipeline']
