"""Data samplers (registered in ``reidengine.registry.DATA_SAMPLERS``)."""
from .pk_sampler import DomainBalancedPKSampler, PKSampler, read_labels

__all__ = ['PKSampler', 'DomainBalancedPKSampler', 'read_labels']
