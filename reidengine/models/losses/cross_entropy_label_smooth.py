"""Cross entropy with label smoothing (Szegedy et al., CVPR 2016, sec. 7; Luo et al. 2019 "Bag of
Tricks", eq. 2): q = (1 - eps) onehot(y) + eps / C, loss = -sum_c q_c log p_c, batch mean.

Soft targets: a (B, C) float tensor is used as the target distribution as given (no smoothing), as
needed for distillation with soft labels (e.g. PAT's part-guided self-distillation, eq. 8).
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from reidengine.registry import MODELS
from reidengine.utils.amp import float32_forward


@MODELS.register_module()
class CrossEntropyLabelSmooth(nn.Module):
    """Label-smoothed cross entropy.

    Args:
        epsilon: smoothing weight in [0, 1); 0 gives the plain cross entropy.
        loss_weight: factor applied to the loss.
    """

    def __init__(self, epsilon: float = 0.1, loss_weight: float = 1.0):
        super().__init__()
        if not 0 <= epsilon < 1:
            raise ValueError(f'CrossEntropyLabelSmooth: epsilon must be in [0, 1), got {epsilon}')
        self.epsilon = epsilon
        self.loss_weight = loss_weight

    @float32_forward  # float32 under mixed precision (reidengine.utils.amp)
    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """``logits`` (B, C); ``target`` (B,) class indices or (B, C) target distributions."""
        if logits.dim() != 2:
            raise ValueError('CrossEntropyLabelSmooth: expected logits of shape (B, C), '
                             f'got {tuple(logits.shape)}')
        num_classes = logits.shape[1]
        if target.dim() == 1 and not target.is_floating_point():
            if len(target) != len(logits):
                raise ValueError(f'CrossEntropyLabelSmooth: {len(target)} labels for '
                                 f'{len(logits)} logits')
            if target.numel() and (target.min() < 0 or target.max() >= num_classes):
                raise ValueError('CrossEntropyLabelSmooth: labels must lie in '
                                 f'[0, {num_classes}), got min {int(target.min())}, '
                                 f'max {int(target.max())}')
            onehot = F.one_hot(target, num_classes).to(logits.dtype)
            target = (1 - self.epsilon) * onehot + self.epsilon / num_classes
        elif target.shape != logits.shape:
            raise ValueError('CrossEntropyLabelSmooth: target must be (B,) class indices or '
                             f'(B, C) = {tuple(logits.shape)} distributions, '
                             f'got {tuple(target.shape)} ({target.dtype})')
        loss = -(target * F.log_softmax(logits, dim=1)).sum(dim=1).mean()
        return self.loss_weight * loss
