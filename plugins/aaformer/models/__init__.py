"""AAformer models: patch-to-part assignment, auto-alignment attention, part-token neck and model."""
from .assignment import group_index, round_assignment, sinkhorn_log, stripe_assignment
from .auto_alignment import AutoAlignmentAttention

__all__ = ['group_index', 'round_assignment', 'sinkhorn_log', 'stripe_assignment',
           'AutoAlignmentAttention']
