"""AAformer models: patch-to-part assignment, auto-alignment attention, part-token neck and model."""
from .aaformer import AAformerModel
from .assignment import group_membership, round_assignment, sinkhorn_log, stripe_assignment
from .auto_alignment import AutoAlignmentAttention
from .part_token_neck import PartTokenSplit, part_names

__all__ = ['AAformerModel', 'AutoAlignmentAttention', 'PartTokenSplit', 'part_names', 'group_membership',
           'round_assignment', 'sinkhorn_log', 'stripe_assignment']
