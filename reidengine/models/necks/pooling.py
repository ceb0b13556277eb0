"""Global pooling of a (B, C, *spatial) feature map to (B, C).

``GeneralizedMeanPooling`` / ``GeM``: f_c = (mean_i x_ci^p)^(1/p) (Radenovic et al., TPAMI 2018,
"Fine-tuning CNN Image Retrieval with No Human Annotation", eq. 1), p learnable; p = 1 is average
pooling, p -> inf max pooling. Used by BoT-style baselines, FusionReID and MDPR.
``GlobalAvgPool``: the mean over the spatial positions (Luo et al. 2019, "Bag of Tricks", sec. 3).
"""
import torch
import torch.nn as nn

from reidengine.registry import MODELS


def _check_map(name: str, x) -> None:
    if not isinstance(x, torch.Tensor) or x.dim() < 3:
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f'{name}: expected a feature map of shape (B, C, *spatial), got {shape}')


@MODELS.register_module(name=['GeneralizedMeanPooling', 'GeM'])
class GeneralizedMeanPooling(nn.Module):
    """Generalized-mean pooling.

    Args:
        p: initial exponent (> 0).
        learnable: train p with the network.
        eps: activations are clamped to at least eps before the power (keeps x^p defined).
    """

    def __init__(self, p: float = 3.0, learnable: bool = True, eps: float = 1e-6):
        super().__init__()
        if p <= 0:
            raise ValueError(f'GeneralizedMeanPooling: p must be > 0, got {p}')
        self.p = nn.Parameter(torch.tensor(float(p)), requires_grad=learnable)
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_map('GeneralizedMeanPooling', x)
        return x.clamp(min=self.eps).pow(self.p).flatten(2).mean(dim=2).pow(1.0 / self.p)

    def extra_repr(self) -> str:
        return f'p={self.p.item():.4f}, learnable={self.p.requires_grad}, eps={self.eps}'


@MODELS.register_module()
class GlobalAvgPool(nn.Module):
    """Average over all spatial positions."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_map('GlobalAvgPool', x)
        return x.flatten(2).mean(dim=2)
