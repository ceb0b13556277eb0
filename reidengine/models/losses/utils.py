"""Pairwise helpers shared by the metric losses: distance matrices and same-identity masks."""
import torch
import torch.nn.functional as F

# Clamp of squared distances before the square root: keeps the gradient finite at d = 0.
_MIN_SQUARED_DIST = 1e-12


def pairwise_euclidean(x: torch.Tensor, squared: bool = False) -> torch.Tensor:
    """(B, D) -> (B, B) Euclidean distances (or their squares), from |a|^2 + |b|^2 - 2 a.b."""
    sq_norm = x.pow(2).sum(dim=1, keepdim=True)
    dist = (sq_norm + sq_norm.t() - 2 * x @ x.t()).clamp(min=_MIN_SQUARED_DIST)
    return dist if squared else dist.sqrt()


def pairwise_cosine(x: torch.Tensor) -> torch.Tensor:
    """(B, D) -> (B, B) cosine similarities."""
    x = F.normalize(x, dim=1)
    return x @ x.t()


def identity_masks(labels: torch.Tensor):
    """(B,) labels -> (is_pos, is_neg) boolean (B, B) masks; ``is_pos`` excludes the diagonal."""
    same = labels.view(-1, 1) == labels.view(1, -1)
    eye = torch.eye(len(labels), dtype=torch.bool, device=labels.device)
    return same & ~eye, ~same


def check_pairwise_inputs(name: str, feats: torch.Tensor, labels: torch.Tensor) -> None:
    """Clear errors for metric-loss inputs: (B, D) features and (B,) integer labels."""
    if feats.dim() != 2:
        raise ValueError(f'{name}: expected features of shape (B, D), got {tuple(feats.shape)}')
    if labels.dim() != 1 or len(labels) != len(feats):
        raise ValueError(f'{name}: expected labels of shape ({len(feats)},), '
                         f'got {tuple(labels.shape)}')
