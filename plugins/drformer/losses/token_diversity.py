"""Intra-model token diversity regulariser of DRFormer (Shu et al., Sec. 3.3, eq. 10-11):

    L_cos = 1 / (N - 1) * sum_{i=2..N} cos(f_1, f_i)

for the N learnable tokens' outputs f_1..f_N of one encoder (f_1 carries the camera embedding,
eq. 8-9), averaged over the batch. It is a raw cosine in [-1, 1] (the paper's text says [0, 1]);
minimising it pushes the other tokens away from the first. Undefined for N = 1 (no pair).
"""
import torch
import torch.nn.functional as F
from torch import nn

from reidengine.registry import MODELS


@MODELS.register_module()
class TokenDiversityLoss(nn.Module):
    """Args:
        loss_weight: lambda_2 of eq. 26 (applied per encoder, so the sum over encoders is
            lambda_2 * L_intra of eq. 12).
    """

    def __init__(self, loss_weight: float = 1.0):
        super().__init__()
        self.loss_weight = loss_weight

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """``tokens`` (B, N, D), N >= 2 -> scalar."""
        if not isinstance(tokens, torch.Tensor) or tokens.dim() != 3 or tokens.shape[1] < 2:
            shape = tuple(tokens.shape) if isinstance(tokens, torch.Tensor) else type(tokens).__name__
            raise ValueError(f'TokenDiversityLoss: expected learnable tokens (B, N >= 2, D), got {shape}'
                             ' (with N = 1 the cosine term of eq. 10 has no pair: switch it off)')
        with torch.autocast(tokens.device.type, enabled=False):
            tokens = tokens.float()
            cos = F.cosine_similarity(tokens[:, :1], tokens[:, 1:], dim=-1)  # (B, N - 1)
            return self.loss_weight * cos.mean()
