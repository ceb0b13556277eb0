"""Necks: global pooling (GeM, average) and token selection."""
from .pooling import GeneralizedMeanPooling, GlobalAvgPool
from .token_select import TokenSelect

GeM = GeneralizedMeanPooling

__all__ = ['GeneralizedMeanPooling', 'GeM', 'GlobalAvgPool', 'TokenSelect']
