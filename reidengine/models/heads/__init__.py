"""Heads (BNNeck, single- and multi-feature heads) and identity classifiers."""
from .bnneck import BNNeck
from .bnneck_head import BNNeckHead
from .classifiers import ArcFace, CircleSoftmax, CosineClassifier, LinearClassifier
from .multi_feature_head import MultiFeatureHead

__all__ = ['BNNeck', 'BNNeckHead', 'MultiFeatureHead', 'LinearClassifier', 'CosineClassifier',
           'CircleSoftmax', 'ArcFace']
