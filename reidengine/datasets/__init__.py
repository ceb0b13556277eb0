"""Datasets: real-layout parsers, SynthReID, multi-source, transforms, samplers."""
from . import samplers, synthreid, transforms  # noqa: F401
