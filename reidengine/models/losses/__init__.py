"""Losses: label-smoothed cross entropy, triplet (batch hard / all), pairwise circle loss."""
from .circle_loss import PairwiseCircleLoss
from .cross_entropy_label_smooth import CrossEntropyLabelSmooth
from .triplet_loss import TripletLoss

__all__ = ['CrossEntropyLabelSmooth', 'TripletLoss', 'PairwiseCircleLoss']
