"""Part-guided Self-Distillation of PAT (Sec. 3.3, eq. 7-8).

The ids of the k nearest memory-bank entries of each of the P part tokens (P * k "similar ids",
found by CSL) give the soft label of the global feature (eq. 7):

    Y_s = (1 - alpha) onehot(y) + alpha * n_i / (P k)       (n_i: how often id i is among them)

and the ID loss on the classifier logits is (eq. 8, hard term label-smoothed as in the released code)

    L_s = lambda * CE(Y_s) + (1 - lambda) * CE_label_smoothing(y, epsilon)

Averaged over the batch (eq. 10 sums it; the mean keeps the loss scale independent of the batch).
"""
import torch
from torch import nn

from reidengine.registry import MODELS
from reidengine.utils.amp import float32_forward


def psd_soft_labels(labels: torch.Tensor, neighbour_pids: torch.Tensor, num_classes: int,
                    alpha: float) -> torch.Tensor:
    """Eq. 7. ``labels`` (B,), ``neighbour_pids`` (B, M) with M = P * k -> (B, num_classes)."""
    if neighbour_pids.dim() != 2 or neighbour_pids.shape[0] != labels.shape[0]:
        raise ValueError(f'psd_soft_labels: neighbour pids of shape {tuple(neighbour_pids.shape)},'
                         f' expected ({labels.shape[0]}, P * k)')
    for name, ids in (('labels', labels), ('neighbour pids', neighbour_pids)):
        if ids.numel() and (int(ids.min()) < 0 or int(ids.max()) >= num_classes):
            raise ValueError(f'psd_soft_labels: {name} must lie in [0, {num_classes}), got min '
                             f'{int(ids.min())}, max {int(ids.max())}')
    num_neighbours = neighbour_pids.shape[1]
    soft = torch.zeros(labels.shape[0], num_classes, device=labels.device)
    soft.scatter_add_(1, neighbour_pids,
                      torch.full(neighbour_pids.shape, alpha / num_neighbours, device=labels.device))
    soft.scatter_add_(1, labels[:, None], torch.full((labels.shape[0], 1), 1.0 - alpha,
                                                     device=labels.device))
    return soft


@MODELS.register_module()
class PartGuidedSelfDistillation(nn.Module):
    """ID loss with part-guided soft labels (eq. 8).

    Args:
        alpha: weight of the similar ids in the soft label (eq. 7).
        lam: lambda of eq. 8, weight of the soft-label term.
        epsilon: label smoothing of the hard-label term.
        loss_weight: factor on the loss.
    """

    def __init__(self, alpha: float = 0.5, lam: float = 0.5, epsilon: float = 0.1,
                 loss_weight: float = 1.0):
        super().__init__()
        for name, value in (('alpha', alpha), ('lam', lam)):
            if not 0.0 <= value <= 1.0:
                raise ValueError(f'PartGuidedSelfDistillation {name}={value}: expected [0, 1]')
        self.alpha = alpha
        self.lam = lam
        self.loss_weight = loss_weight
        self.soft_ce = MODELS.build(dict(type='CrossEntropyLabelSmooth', epsilon=0.0))
        self.hard_ce = MODELS.build(dict(type='CrossEntropyLabelSmooth', epsilon=epsilon))

    @float32_forward  # float32 under mixed precision (reidengine.utils.amp)
    def forward(self, logits: torch.Tensor, labels: torch.Tensor,
                neighbour_pids: torch.Tensor) -> torch.Tensor:
        """``logits`` (B, C), ``labels`` (B,), ``neighbour_pids`` (B, P * k) train ids."""
        soft = psd_soft_labels(labels, neighbour_pids, logits.shape[1], self.alpha)
        loss = (self.lam * self.soft_ce(logits, soft.to(logits.dtype))
                + (1 - self.lam) * self.hard_ce(logits, labels))
        return self.loss_weight * loss
