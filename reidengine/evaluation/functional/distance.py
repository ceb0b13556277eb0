"""Query-gallery distances used by ReID evaluation (Torchreid / FastReID conventions).

``euclidean`` is the SQUARED Euclidean distance ``|q|^2 + |g|^2 - 2 q.g`` computed with one
``addmm`` (the formula and operation order of Torchreid's ``compute_distance_matrix`` and
FastReID's ``compute_euclidean_distance``, so that re-ranking, which squares its input as in
Zhong et al. CVPR 2017, sees the same numbers). ``cosine`` is ``1 - cos(q, g)`` on L2-normalised
features. Both are monotone in the true distance, so rankings do not depend on the choice.
"""
import math

import numpy as np
import torch
import torch.nn.functional as F

DISTANCE_METRICS = ('euclidean', 'cosine')
_ONE = torch.tensor(1.0)


def check_metric(metric: str) -> str:
    if metric not in DISTANCE_METRICS:
        raise ValueError(f'distance metric must be one of {DISTANCE_METRICS}, got {metric!r}')
    return metric


def _report_non_finite(feats: torch.Tensor, name: str) -> None:
    bad = (~torch.isfinite(feats)).any(1).nonzero()[:5, 0].tolist()
    if bad:
        raise ValueError(f'{name} has NaN or infinite values (rows {bad}...)')


def check_features(feats: torch.Tensor, name: str, check_finite: bool = True) -> torch.Tensor:
    """Return ``feats`` (tensor or numpy array) as a 2-D fp32 CPU tensor; reject other shapes,
    non-numeric and (unless ``check_finite`` is off: ``prepare_features`` checks then) non-finite
    values."""
    if isinstance(feats, np.ndarray) and feats.dtype.kind in 'fiu':
        feats = torch.from_numpy(feats)
    if not isinstance(feats, torch.Tensor) or feats.dim() != 2:
        raise ValueError(f'{name} must be a 2-D tensor or numpy array (num_samples, dim), got '
                         f'{type(feats).__name__} of shape {getattr(feats, "shape", None)}')
    feats = feats.detach().to('cpu', torch.float32).contiguous()
    # a finite sum proves every value finite (one pass, no temporary); else look for the rows
    if check_finite and not math.isfinite(float(feats.sum(dtype=torch.float64))):
        _report_non_finite(feats, name)
    return feats


def row_sqnorm(feats: torch.Tensor, block: int = 512) -> torch.Tensor:
    """``feats.pow(2).sum(1)``, bit-identical (each row reduced alike), in blocks of rows: the
    cache-sized temporaries avoid the page faults of one (N, D) temporary, 5x the time at Market
    scale."""
    out = feats.new_empty(len(feats))
    for start in range(0, len(feats), block):
        torch.sum(feats[start:start + block].pow(2), 1, out=out[start:start + block])
    return out


def prepare_features(feats: torch.Tensor, metric: str, normalize: bool = False,
                     name: str = None):
    """L2-normalise rows for ``cosine`` (always) or when ``normalize`` is set.

    With ``name`` the features are also checked (every value finite, and small enough that no
    distance overflows fp32) from the row norms, which cost far less than a pass of their own,
    and ``(feats, sqnorm)`` is returned: the squared norms ``|x|^2`` of the returned rows for
    ``euclidean`` (as ``pairwise_distance`` computes them), None for ``cosine``.
    """
    unit = check_metric(metric) == 'cosine' or normalize
    if unit:  # F.normalize written out, to check its norms: the same values
        norm = feats.norm(2, dim=1, keepdim=True)
        checked = norm
        feats = feats / norm.clamp_min(1e-12).expand_as(feats)
    if name is None:
        return feats
    sqnorm = row_sqnorm(feats) if metric == 'euclidean' else None
    if not unit:
        checked = sqnorm
    if len(feats) and not math.isfinite(float(checked.max())):
        _report_non_finite(feats, name)  # else a norm overflowed:
        raise ValueError(f'{name} are too large for fp32 distances (a row norm overflows); '
                         'scale them down')
    if sqnorm is not None and len(feats) and float(sqnorm.max()) > 1e37:  # |q|^2+|g|^2+2|q.g|
        raise ValueError(f'{name} are too large for fp32 squared Euclidean distances (squared '
                         f'norm up to {float(sqnorm.max()):.3g}, at most 1e37); scale them down')
    return feats, sqnorm


def pairwise_distance(x: torch.Tensor, y: torch.Tensor, metric: str,
                      x_sqnorm: torch.Tensor = None, y_sqnorm: torch.Tensor = None,
                      out: torch.Tensor = None) -> torch.Tensor:
    """Distances between every row of ``x`` (M, D) and of ``y`` (N, D) -> (M, N).

    ``x``/``y`` must already be prepared (normalised for cosine). The squared norms can be passed
    in to avoid recomputing them for every query chunk; ``out``: an (M, N) fp32 buffer to write.
    """
    if metric == 'euclidean':
        if x_sqnorm is None:
            x_sqnorm = x.pow(2).sum(1)
        if y_sqnorm is None:
            y_sqnorm = y.pow(2).sum(1)
        dist = torch.add(x_sqnorm[:, None], y_sqnorm[None, :], out=out)
        return dist.addmm_(x, y.t(), beta=1, alpha=-2)
    check_metric(metric)
    dist = torch.mm(x, y.t(), out=out)
    return torch.sub(_ONE, dist, out=dist)  # 1 - x.y in one pass (same rounding as -d + 1)


def paired_distance(x: torch.Tensor, y: torch.Tensor, metric: str,
                    x_sqnorm: torch.Tensor = None, y_sqnorm: torch.Tensor = None) -> torch.Tensor:
    """Distances between matching rows, ``x[i]`` and ``y[i]`` -> (M,), same formula as above."""
    dot = torch.bmm(x[:, None, :], y[:, :, None]).view(-1)
    if metric == 'euclidean':
        if x_sqnorm is None:
            x_sqnorm = x.pow(2).sum(1)
        if y_sqnorm is None:
            y_sqnorm = y.pow(2).sum(1)
        return (x_sqnorm + y_sqnorm).sub_(dot, alpha=2)
    return dot.neg_().add_(1.0)
