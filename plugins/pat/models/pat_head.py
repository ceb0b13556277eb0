"""Head of PAT (Sec. 3.2-3.4): global ID + triplet losses on the cls token, CSL on the part tokens.

Input: the backbone's (B, T, D) tokens ``[cls, part_1 .. part_P, image tokens]`` after the final norm.
The cls token goes through the core ``BNNeckHead`` (BNNeck, bias-free classifier, metric loss):
- ID loss on BN(cls): PSD (eq. 7-8) by default, or plain label-smoothed CE (what the released code
  trains with: its PSD never runs).
- Soft-margin triplet with hard mining on the pre-BN cls feature (Euclidean distance, as the released
  code; eq. 9 writes it squared: ``TripletLoss(squared=True)``).
- CSL (eq. 6) of each part token against its memory bank (eq. 5), which is momentum-updated with the
  batch before the loss of the iteration.
Test feature (``forward``): the cls token before BN (the metric L2-normalises it).
"""
from typing import Dict, List

import torch

from reidengine.models.heads import BNNeckHead
from reidengine.registry import MODELS
from reidengine.structures import ReIDDataSample, stack_meta

from ..losses.psd import PartGuidedSelfDistillation
from .memory_bank import PartMemoryBank


def meta_tensor(data_samples: List[ReIDDataSample], key: str, device) -> torch.Tensor:
    missing = [i for i, s in enumerate(data_samples) if key not in s.metainfo]
    if missing:
        raise KeyError(f'PAT: data sample {missing[0]} has no meta field {key!r} (needed by '
                       'the memory bank / losses; the dataset must provide it)')
    return stack_meta(data_samples, key, device=device)


@MODELS.register_module()
class PATHead(BNNeckHead):
    """Args:
        in_channels: token size D.
        num_classes: number of training identities.
        num_parts: number of part tokens after the cls token (``PATModel`` sets it from its bands).
        memory_momentum: m of eq. 5.
        num_samples: memory-bank size; 0 lets ``PATMemoryBankHook`` size it from the training set.
        csl_loss: ``CrossIDSimilarityLoss`` config.
        bnneck, classifier: as ``BNNeckHead``.
        loss_cls: ``PartGuidedSelfDistillation`` (paper) or ``CrossEntropyLabelSmooth`` (released
            code) config.
        loss_triplet: config of the metric loss on the pre-BN cls feature.
    """

    def __init__(self,
                 in_channels: int,
                 num_classes: int,
                 num_parts: int = 3,
                 memory_momentum: float = 0.1,
                 num_samples: int = 0,
                 csl_loss: dict = dict(type='CrossIDSimilarityLoss'),
                 bnneck=True,
                 classifier: dict = dict(type='LinearClassifier'),
                 loss_cls: dict = dict(type='PartGuidedSelfDistillation'),
                 loss_triplet: dict = dict(type='TripletLoss', margin=None, hard_mining=True)):
        super().__init__(in_channels, num_classes, bnneck=bnneck, classifier=classifier,
                         loss_cls=loss_cls, loss_triplet=loss_triplet, triplet_feat='before_bn',
                         test_feat='before_bn')
        if not isinstance(num_parts, int) or num_parts <= 0:
            raise ValueError(f'PATHead: num_parts must be a positive int, got {num_parts!r}')
        self.num_parts = num_parts
        self.csl_loss = MODELS.build(csl_loss)
        self.memory_bank = PartMemoryBank(num_parts, in_channels, memory_momentum, num_samples)

    def _check_tokens(self, tokens: torch.Tensor) -> None:
        if not isinstance(tokens, torch.Tensor) or tokens.dim() != 3 \
                or tokens.shape[1] < 1 + self.num_parts:
            shape = tuple(tokens.shape) if isinstance(tokens, torch.Tensor) else type(tokens)
            raise ValueError(f'PATHead: expected tokens (B, T >= {1 + self.num_parts}, D) ordered '
                             f'[cls, {self.num_parts} part tokens, image tokens], got {shape}')

    def part_tokens(self, tokens: torch.Tensor) -> torch.Tensor:
        """(B, P, D) part features (what the memory bank stores)."""
        self._check_tokens(tokens)
        return tokens[:, 1:1 + self.num_parts]

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """Test feature: the cls token before BN, (B, D)."""
        self._check_tokens(tokens)
        return super().forward(tokens[:, 0])

    def loss(self, tokens: torch.Tensor,
             data_samples: List[ReIDDataSample]) -> Dict[str, torch.Tensor]:
        self._check_tokens(tokens)
        if not self.memory_bank.is_initialized:
            raise RuntimeError('PATHead: the memory bank is not initialised; add '
                               "dict(type='PATMemoryBankHook', ...) to custom_hooks (it fills the "
                               'bank from the training set before the first iteration)')
        labels = meta_tensor(data_samples, 'pid', tokens.device)
        indices = meta_tensor(data_samples, 'sample_idx', tokens.device)
        cls, parts = tokens[:, 0], tokens[:, 1:1 + self.num_parts]

        self.memory_bank.update(parts.detach(), indices, labels)  # eq. 5, before the loss
        loss_csl, neighbours = self.csl_loss(parts, self.memory_bank.features, indices,
                                             valid=self.memory_bank.filled)

        logits = self.logits(cls)
        if isinstance(self.loss_cls, PartGuidedSelfDistillation):
            neighbour_pids = self.memory_bank.pids[neighbours.flatten(1)]  # (B, P * k)
            loss_id = self.loss_cls(logits, labels, neighbour_pids)
        else:
            loss_id = self.loss_cls(logits, labels)
        return dict(loss_id=loss_id,
                    loss_triplet=self.loss_triplet(cls, labels),
                    loss_csl=loss_csl,
                    acc_id=(logits.detach().argmax(1) == labels).float().mean())
