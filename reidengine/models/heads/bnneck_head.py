"""BNNeck head (Luo et al. 2019, "Bag of Tricks and a Strong Baseline for Deep Person Re-ID",
sec. 3.5 and fig. 5): feature f -> BN -> bias-free classifier. The ID loss takes the logits of the
BN feature, the triplet loss f (or the BN feature), and the test feature is f or BN(f).
"""
from typing import List, Optional

import torch
import torch.nn as nn

from reidengine.registry import MODELS
from reidengine.structures import ReIDDataSample, stack_meta

_FEATURES = ('before_bn', 'after_bn')


@MODELS.register_module()
class BNNeckHead(nn.Module):
    """BNNeck + classifier + ID loss (+ metric loss).

    Args:
        in_channels: size D of the (B, D) input feature.
        num_classes: number of training identities (pids relabelled to [0, num_classes)).
        classifier: classifier config; ``in_channels`` and ``num_classes`` are filled in.
        loss_cls: ID loss config, called as ``loss(logits, labels)``.
        loss_triplet: metric loss config called as ``loss(feats, labels)`` (``TripletLoss``,
            ``PairwiseCircleLoss``), or None for none.
        triplet_feat: feature given to the metric loss: 'before_bn' or 'after_bn'.
        test_feat: feature returned by ``forward`` at test time: 'before_bn' or 'after_bn'.

    The loss weights are the ``loss_weight`` arguments of the loss configs.
    """

    def __init__(self,
                 in_channels: int,
                 num_classes: int,
                 classifier: Optional[dict] = None,
                 loss_cls: Optional[dict] = None,
                 loss_triplet: Optional[dict] = dict(type='TripletLoss', margin=0.3),
                 triplet_feat: str = 'before_bn',
                 test_feat: str = 'after_bn'):
        super().__init__()
        if not isinstance(num_classes, int) or num_classes <= 0:
            raise ValueError(f'BNNeckHead: num_classes must be a positive int (the number of '
                             f'training identities, model.head.num_classes), got {num_classes!r}')
        for key, value in (('triplet_feat', triplet_feat), ('test_feat', test_feat)):
            if value not in _FEATURES:
                raise ValueError(f'BNNeckHead: {key} must be one of {_FEATURES}, got {value!r}')
        self.in_channels = in_channels
        self.num_classes = num_classes
        self.triplet_feat = triplet_feat
        self.test_feat = test_feat
        self.bnneck = MODELS.build(dict(type='BNNeck', in_channels=in_channels))
        classifier = dict(classifier or dict(type='LinearClassifier'))
        classifier.update(in_channels=in_channels, num_classes=num_classes)
        self.classifier = MODELS.build(classifier)
        self.loss_cls = MODELS.build(loss_cls or dict(type='CrossEntropyLabelSmooth',
                                                      epsilon=0.1))
        self.loss_triplet = MODELS.build(loss_triplet) if loss_triplet is not None else None

    def _check(self, feats: torch.Tensor) -> None:
        if not isinstance(feats, torch.Tensor) or feats.dim() != 2 \
                or feats.shape[1] != self.in_channels:
            shape = (tuple(feats.shape) if isinstance(feats, torch.Tensor)
                     else type(feats).__name__)
            raise ValueError(f'BNNeckHead: expected features of shape (B, {self.in_channels}) '
                             f'(pool the backbone output with a neck), got {shape}')

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        """Test feature (B, D)."""
        self._check(feats)
        return self.bnneck(feats) if self.test_feat == 'after_bn' else feats

    def loss(self, feats: torch.Tensor, data_samples: List[ReIDDataSample]) -> dict:
        """``loss_cls``, ``loss_triplet`` (if configured) and the top-1 train accuracy ``acc``."""
        self._check(feats)
        labels = stack_meta(data_samples, 'pid', device=feats.device)
        if labels.min() < 0 or labels.max() >= self.num_classes:
            raise ValueError(f'BNNeckHead: training pids must be relabelled to [0, '
                             f'{self.num_classes}), got min {int(labels.min())}, '
                             f'max {int(labels.max())}')
        bn_feats = self.bnneck(feats)
        losses = dict(loss_cls=self.loss_cls(self.classifier(bn_feats, labels), labels))
        if self.loss_triplet is not None:
            metric_feats = feats if self.triplet_feat == 'before_bn' else bn_feats
            losses['loss_triplet'] = self.loss_triplet(metric_feats, labels)
        with torch.no_grad():
            # Margin-free logits: a margin classifier's training logits understate accuracy.
            pred = self.classifier(bn_feats.detach()).argmax(dim=1)
            losses['acc'] = (pred == labels).float().mean()
        return losses
