"""BNNeck (Luo et al. 2019, "Bag of Tricks and a Strong Baseline for Deep Person Re-ID", sec. 3.5):
a BatchNorm1d between the feature and the classifier, weight 1, bias 0 and frozen (no shift), so
the triplet loss can act on the feature before it and the ID loss on the normalised one after it.
"""
import torch
import torch.nn as nn

from reidengine.registry import MODELS


@MODELS.register_module()
class BNNeck(nn.BatchNorm1d):
    """BatchNorm1d over (B, C) features with a frozen zero bias.

    Args:
        in_channels: feature size C.
        freeze_bias: keep the bias at 0 (the BoT design); False trains it like a plain BN.
    """

    def __init__(self, in_channels: int, freeze_bias: bool = True):
        super().__init__(in_channels)
        nn.init.ones_(self.weight)
        nn.init.zeros_(self.bias)
        self.bias.requires_grad_(not freeze_bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 2 or x.shape[1] != self.num_features:
            raise ValueError(f'BNNeck: expected features of shape (B, {self.num_features}), '
                             f'got {tuple(x.shape)}')
        return super().forward(x)
