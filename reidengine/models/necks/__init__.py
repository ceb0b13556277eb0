"""Necks: global pooling (GeM, average), token selection, BNNeck."""
from .bnneck import BNNeck
from .pooling import GeneralizedMeanPooling, GlobalAvgPool
from .token_select import TokenSelect

GeM = GeneralizedMeanPooling

__all__ = ['GeneralizedMeanPooling', 'GeM', 'GlobalAvgPool', 'TokenSelect', 'BNNeck']
