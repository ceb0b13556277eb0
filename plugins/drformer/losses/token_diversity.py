"""Intra-model token diversity regulariser of DRFormer (Shu et al., Sec. 3.3, eq. 10-11):

    L_cos = 1 / (N - 1) * sum_{i=2..N} cos(f_1, f_i)

for the N learnable tokens' outputs f_1..f_N of one encoder (f_1 carries the camera embedding,
eq. 8-9), averaged over the batch. Eq. 10 is a raw cosine in [-1, 1], minimal when f_i = -f_1; the
paper's text (Sec. 4.1) says the term lies in [0, 1]: ``clamp_at_zero=True`` reads it that way,
``max(cos, 0)`` per pair, which stops pushing once the tokens are orthogonal. Undefined for N = 1.
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
        clamp_at_zero: ``max(cos, 0)`` per pair (the text's [0, 1] range) instead of eq. 10's raw cosine.
    """

    def __init__(self, loss_weight: float = 1.0, clamp_at_zero: bool = False):
        super().__init__()
        self.loss_weight = loss_weight
        self.clamp_at_zero = clamp_at_zero

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """``tokens`` (B, N, D), N >= 2 -> scalar."""
        if not isinstance(tokens, torch.Tensor) or tokens.dim() != 3 or tokens.shape[1] < 2:
            shape = tuple(tokens.shape) if isinstance(tokens, torch.Tensor) else type(tokens).__name__
            raise ValueError(f'TokenDiversityLoss: expected learnable tokens (B, N >= 2, D), got {shape}'
                             ' (with N = 1 the cosine term of eq. 10 has no pair: switch it off)')
        with torch.autocast(tokens.device.type, enabled=False):
            tokens = tokens.float()
            cos = F.cosine_similarity(tokens[:, :1], tokens[:, 1:], dim=-1)  # (B, N - 1)
            if self.clamp_at_zero:
                cos = cos.clamp(min=0)
            return self.loss_weight * cos.mean()
