"""Blocks shared by several methods (as fast-reid's ``layers/``)."""
from .cross_attention import CrossAttentionBlock

__all__ = ['CrossAttentionBlock']
