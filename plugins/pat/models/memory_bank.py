"""Per-part memory bank of PAT's Cross-ID Similarity Learning (Sec. 3.2, eq. 5).

One entry per training image and part token: the last-layer part token after the final norm (not
L2-normalised), with the train pid of the image. Filled once before training (t = 0 in eq. 5, see
``PATMemoryBankHook``), then momentum-updated ``w = (1 - m) w + m f`` with the current batch.

The bank is training state: its tensors are persistent buffers, so checkpoints save them and
``--resume`` restores them. Under distributed training every update is all-gathered first, so all
ranks hold the same bank (the model excludes these buffers from DDP's buffer broadcast).
"""
import torch
from mmengine import dist
from torch import nn


class PartMemoryBank(nn.Module):
    """Args:
        num_parts: number of part tokens.
        feat_dim: feature size D.
        momentum: m of eq. 5.
        num_samples: number of training images; 0 leaves the bank empty until ``resize`` (the hook
            sizes it from the training set; loading a checkpoint takes the checkpoint's size).
    """

    def __init__(self, num_parts: int, feat_dim: int, momentum: float = 0.1, num_samples: int = 0):
        super().__init__()
        if not 0.0 < momentum <= 1.0:
            raise ValueError(f'memory bank momentum={momentum}: expected 0 < m <= 1')
        self.momentum = momentum
        self.register_buffer('features', torch.zeros(num_parts, num_samples, feat_dim))
        self.register_buffer('pids', torch.full((num_samples,), -1, dtype=torch.long))
        self.register_buffer('initialized', torch.tensor(False))

    @property
    def num_samples(self) -> int:
        return self.features.shape[1]

    @property
    def is_initialized(self) -> bool:
        return bool(self.initialized)

    def mark_initialized(self) -> None:
        self.initialized.fill_(True)

    def resize(self, num_samples: int) -> None:
        """Re-allocate an empty (uninitialised) bank for ``num_samples`` images."""
        num_parts, _, feat_dim = self.features.shape
        device = self.features.device
        self.features = torch.zeros(num_parts, num_samples, feat_dim, device=device)
        self.pids = torch.full((num_samples,), -1, dtype=torch.long, device=device)
        self.initialized.fill_(False)

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        """Take the size of a checkpoint's bank (a resumed run, or a test of a trained model)."""
        saved = state_dict.get(prefix + 'features')
        if isinstance(saved, torch.Tensor) and saved.dim() == 3 \
                and saved.shape[0] == self.features.shape[0] \
                and saved.shape[2] == self.features.shape[2] \
                and saved.shape[1] != self.num_samples:
            self.resize(saved.shape[1])
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def _check(self, feats: torch.Tensor, indices: torch.Tensor, pids: torch.Tensor) -> None:
        num_parts, num_samples, feat_dim = self.features.shape
        if feats.dim() != 3 or feats.shape[1:] != (num_parts, feat_dim):
            raise ValueError(f'memory bank: features of shape {tuple(feats.shape)}, expected '
                             f'(batch, {num_parts}, {feat_dim})')
        if indices.shape != (feats.shape[0],) or pids.shape != indices.shape:
            raise ValueError(f'memory bank: {feats.shape[0]} features but indices of shape '
                             f'{tuple(indices.shape)} and pids of shape {tuple(pids.shape)}')
        if indices.numel() and (int(indices.min()) < 0 or int(indices.max()) >= num_samples):
            raise IndexError(f'memory bank: sample_idx out of range [0, {num_samples}) '
                             f'(min {int(indices.min())}, max {int(indices.max())}); is the bank '
                             'sized for this training set?')

    @staticmethod
    def _gather(*tensors: torch.Tensor):
        """All-gather along the batch axis (identity when not distributed)."""
        if dist.get_world_size() == 1:
            return tensors
        return tuple(torch.cat(dist.all_gather(t.contiguous()), dim=0) for t in tensors)

    @torch.no_grad()
    def fill(self, feats: torch.Tensor, indices: torch.Tensor, pids: torch.Tensor,
             gather: bool = True) -> None:
        """Write entries directly (eq. 5, t = 0). ``feats``: (B, P, D)."""
        if gather:
            feats, indices, pids = self._gather(feats, indices, pids)
        self._check(feats, indices, pids)
        indices = indices.to(self.features.device)
        self.features[:, indices] = feats.detach().to(self.features).transpose(0, 1)
        self.pids[indices] = pids.to(self.pids.device)

    @torch.no_grad()
    def update(self, feats: torch.Tensor, indices: torch.Tensor, pids: torch.Tensor,
               gather: bool = True) -> None:
        """Momentum update of eq. 5 (t > 0): ``w = (1 - m) w + m f`` for every entry of the batch;
        an entry not filled yet (``pids < 0``: left out of a fill over the identity-sampled
        training loader) takes ``f`` itself, as the released code adds an image when first seen.

        An image drawn twice in one (gathered) batch is updated once per occurrence, in batch
        order, exactly as a per-sample loop would do.
        """
        if gather:
            feats, indices, pids = self._gather(feats, indices, pids)
        self._check(feats, indices, pids)
        feats = feats.detach().to(self.features).transpose(0, 1)  # (P, B, D)
        indices = indices.to(self.features.device)
        pids = pids.to(self.pids.device)
        occurrence = _occurrence_rank(indices)
        for rank in range(int(occurrence.max()) + 1 if indices.numel() else 0):
            sel = occurrence == rank
            idx = indices[sel]
            momentum = torch.where(self.pids[idx] < 0, 1.0, self.momentum).to(self.features)
            momentum = momentum.view(1, -1, 1)
            self.features[:, idx] = ((1 - momentum) * self.features[:, idx]
                                     + momentum * feats[:, sel])
            self.pids[idx] = pids[sel]

    @property
    def filled(self) -> torch.Tensor:
        """(N,) bool: entries holding a feature (CSL compares against these only)."""
        return self.pids >= 0


def _occurrence_rank(indices: torch.Tensor) -> torch.Tensor:
    """For each position, how many earlier positions hold the same index (0 for a first one)."""
    same = indices[:, None] == indices[None, :]
    earlier = torch.ones_like(same).tril(-1)
    return (same & earlier).sum(1)
