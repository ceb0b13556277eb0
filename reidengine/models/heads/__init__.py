"""Heads and identity classifiers."""
from .bnneck_head import BNNeckHead
from .classifiers import ArcFace, CircleSoftmax, CosineClassifier, LinearClassifier

__all__ = ['BNNeckHead', 'LinearClassifier', 'CosineClassifier', 'CircleSoftmax', 'ArcFace']
