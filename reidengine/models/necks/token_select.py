"""Selects one token of a transformer's (B, T, D) output, e.g. the [CLS] token used as the global
feature (Dosovitskiy et al., ICLR 2021, eq. 4; He et al. 2021, "TransReID", sec. 3.1).
"""
import torch
import torch.nn as nn

from reidengine.registry import MODELS


@MODELS.register_module()
class TokenSelect(nn.Module):
    """(B, T, D) -> (B, D): the token at ``index`` (0 = [CLS]; negative counts from the end)."""

    def __init__(self, index: int = 0):
        super().__init__()
        self.index = index

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not isinstance(x, torch.Tensor) or x.dim() != 3:
            shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
            raise ValueError(f'TokenSelect: expected tokens of shape (B, T, D), got {shape}')
        if not -x.shape[1] <= self.index < x.shape[1]:
            raise IndexError(f'TokenSelect: index {self.index} out of range for '
                             f'{x.shape[1]} tokens')
        return x[:, self.index]

    def extra_repr(self) -> str:
        return f'index={self.index}'
