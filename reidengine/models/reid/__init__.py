"""ReID model bases: one backbone (``ReIDModel``) or several (``MultiBackboneReIDModel``)."""
from .multi_backbone_model import EncoderInput, MultiBackboneReIDModel
from .reid_model import ReIDModel, camera_kwargs

__all__ = ['ReIDModel', 'MultiBackboneReIDModel', 'EncoderInput', 'camera_kwargs']
