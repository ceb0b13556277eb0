"""BNNeck head (Luo et al. 2019, "Bag of Tricks and a Strong Baseline for Deep Person Re-ID",
sec. 3.5 and fig. 5): feature f -> BN -> bias-free classifier.

    loss = w * (L_id(W BN(f), y) + L_metric(f or BN(f), y))        test feature = f or BN(f)

Either loss may be absent (``loss_cls=None``: no ID loss and no classifier; ``loss_triplet=None``:
no metric loss). ``MultiFeatureHead`` runs one of these per named feature.
"""
from typing import List, Optional, Union

import torch
import torch.nn as nn

from reidengine.registry import MODELS
from reidengine.structures import ReIDDataSample, stack_meta

_FEATURES = ('before_bn', 'after_bn')


def check_labels(labels: torch.Tensor, num_classes: int, owner: str) -> None:
    """Raise unless every training pid is in ``[0, num_classes)``."""
    if labels.numel() and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f'{owner}: training pids must be relabelled to [0, {num_classes}) '
                         f'(model.head.num_classes={num_classes}), got pids '
                         f'{int(labels.min())}..{int(labels.max())}: set model.head.num_classes to '
                         "the training set's number of identities")


@MODELS.register_module()
class BNNeckHead(nn.Module):
    """BNNeck + classifier + ID loss (+ metric loss) on one (B, D) feature.

    Args:
        in_channels: size D of the (B, D) input feature.
        num_classes: number of training identities (pids relabelled to [0, num_classes)); needed
            only with an ID loss.
        bnneck: True (``BNNeck``), False (identity: the "after BN" feature is f itself) or a config.
        classifier: classifier config; ``in_channels`` and ``num_classes`` are filled in. Built only
            with an ID loss.
        loss_cls: ID loss config, called as ``loss(logits, labels)``; None: no ID loss.
        loss_triplet: metric loss config called as ``loss(feats, labels)`` (``TripletLoss``,
            ``PairwiseCircleLoss``); None: no metric loss.
        triplet_feat: feature given to the metric loss: 'before_bn' or 'after_bn'.
        test_feat: feature returned by ``forward`` at test time: 'before_bn' or 'after_bn'.
        loss_weight: scales both losses of this head (the loss configs' own ``loss_weight`` too).
    """

    def __init__(self,
                 in_channels: int,
                 num_classes: Optional[int] = None,
                 bnneck: Union[bool, dict] = True,
                 classifier: Optional[dict] = dict(type='LinearClassifier'),
                 loss_cls: Optional[dict] = dict(type='CrossEntropyLabelSmooth', epsilon=0.1),
                 loss_triplet: Optional[dict] = dict(type='TripletLoss', margin=0.3),
                 triplet_feat: str = 'before_bn',
                 test_feat: str = 'after_bn',
                 loss_weight: float = 1.0):
        super().__init__()
        name = type(self).__name__
        if not isinstance(in_channels, int) or in_channels <= 0:
            raise ValueError(f'{name}: in_channels must be a positive int, got {in_channels!r}')
        if loss_cls is not None and (not isinstance(num_classes, int) or num_classes <= 0):
            raise ValueError(f'{name}: num_classes must be a positive int (the number of training '
                             f'identities, model.head.num_classes), got {num_classes!r}')
        if loss_cls is not None and classifier is None:
            raise ValueError(f'{name}: an ID loss (loss_cls) needs a classifier config')
        for key, value in (('triplet_feat', triplet_feat), ('test_feat', test_feat)):
            if value not in _FEATURES:
                raise ValueError(f'{name}: {key} must be one of {_FEATURES}, got {value!r}')
        self.in_channels = in_channels
        self.num_classes = num_classes
        self.triplet_feat = triplet_feat
        self.test_feat = test_feat
        self.loss_weight = loss_weight
        if bnneck is True:
            bnneck = dict(type='BNNeck')
        self.bnneck = (MODELS.build(dict(bnneck, in_channels=in_channels)) if bnneck
                       else nn.Identity())
        self.classifier = None
        if loss_cls is not None:
            self.classifier = MODELS.build(dict(classifier, in_channels=in_channels,
                                                num_classes=num_classes))
        self.loss_cls = MODELS.build(loss_cls) if loss_cls is not None else None
        self.loss_triplet = MODELS.build(loss_triplet) if loss_triplet is not None else None

    def _check(self, feats: torch.Tensor) -> None:
        if not isinstance(feats, torch.Tensor) or feats.dim() != 2 \
                or feats.shape[1] != self.in_channels:
            shape = (tuple(feats.shape) if isinstance(feats, torch.Tensor)
                     else type(feats).__name__)
            raise ValueError(f'{type(self).__name__}: expected features of shape '
                             f'(B, {self.in_channels}) (pool the backbone output with a neck), '
                             f'got {shape}')

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        """Test feature (B, D)."""
        self._check(feats)
        return self.bnneck(feats) if self.test_feat == 'after_bn' else feats

    def logits(self, feats: torch.Tensor, labels: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Classifier logits of BN(feats): the same weights can score other inputs (margin
        classifiers apply their margin when ``labels`` are given)."""
        if self.classifier is None:
            raise RuntimeError(f'{type(self).__name__}: no classifier (loss_cls=None)')
        self._check(feats)
        return self.classifier(self.bnneck(feats), labels)

    def loss(self, feats: torch.Tensor, data_samples: List[ReIDDataSample]) -> dict:
        """``loss_cls``, ``loss_triplet`` (those configured) and the top-1 accuracy ``acc``."""
        self._check(feats)
        labels = stack_meta(data_samples, 'pid', device=feats.device)
        bn_feats = self.bnneck(feats)
        losses = {}
        if self.loss_cls is not None:
            check_labels(labels, self.num_classes, type(self).__name__)
            logits = self.classifier(bn_feats, labels)
            losses['loss_cls'] = self.loss_weight * self.loss_cls(logits, labels)
            with torch.no_grad():
                # Margin-free logits: a margin classifier's training logits understate accuracy.
                pred = self.classifier(bn_feats.detach()).argmax(dim=1)
                losses['acc'] = (pred == labels).float().mean()
        if self.loss_triplet is not None:
            metric_feats = feats if self.triplet_feat == 'before_bn' else bn_feats
            losses['loss_triplet'] = self.loss_weight * self.loss_triplet(metric_feats, labels)
        return losses
