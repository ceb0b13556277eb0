"""MDPR head: BNNeck per feature (eq. 4 and Fig. 3's BNs) and the objective of eq. 9,
    L = L_circle + L_triplet + L_attention + L_distillation,
on the core ``MultiFeatureHead``.

- Circle loss (eq. 5, gamma = 64, m = 0.35) on every after-BN head feature. ``circle_form``:
  'pairwise' is eq. 5 (``PairwiseCircleLoss`` over the batch); 'classifier' is the released code's
  form, a ``CircleSoftmax`` classifier (s = 64, m = 0.35) with label-smoothed cross entropy.
- Batch-hard triplet (eq. 6, margin 0.05) on the after-BN features, not on the BAP features (they
  get the circle / ID term only, as released).
- Attention diversity (eq. 7) on each BAP level (``AttentionDiversityLoss``).
- Mutual distillation (eq. 8) between the after-BN ``hard_global`` and ``soft_global5`` features
  (``MutualDistillationLoss``).
Test feature (Table I): the after-BN non-BAP features concatenated (4,608-d for M = 512, N = 2).
"""
from typing import Dict, List, Optional, Sequence

import torch
import torch.nn.functional as F

from reidengine.models.heads import MultiFeatureHead
from reidengine.registry import MODELS
from reidengine.structures import ReIDDataSample, stack_meta

CIRCLE_FORMS = ('pairwise', 'classifier')


def bn_without_stat_update(bn: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    """``bn(x)`` without touching its running statistics: in training mode the output (and its
    gradient) is the batch-statistics BN that ``bn`` itself computed in the same step."""
    if not (isinstance(bn, torch.nn.modules.batchnorm._BatchNorm) and bn.training):
        return bn(x)
    return F.batch_norm(x, None, None, bn.weight, bn.bias, True, 0.0, bn.eps)


@MODELS.register_module()
class MDPRHead(MultiFeatureHead):
    """Args:
        num_classes: training identities.
        feature_dims: ordered ``{name: size}`` of the features (filled in by ``MDPRModel``).
        bap_features: names among them that are BAP features: no triplet, not in the test feature.
        distill_features: ``(hard, soft)`` names for eq. 8, or None (distillation off).
        circle_form: 'pairwise' (eq. 5) or 'classifier' (released CircleSoftmax + smoothed CE).
        circle: ``dict(scale=64.0, margin=0.35)`` (gamma and m).
        label_smoothing: epsilon of the classifier form's cross entropy.
        loss_triplet: metric loss config for the non-BAP features (None: none).
        diversity: ``AttentionDiversityLoss`` config (None: none).
        distillation: ``MutualDistillationLoss`` config (``dim`` is filled in).
        test_features: names concatenated into the test feature (None: every non-BAP feature in
            order, Table I; a subset evaluates single features and combinations, Table VIII).
        normalize_test: L2-normalise the concatenated test feature.
    """

    def __init__(self,
                 num_classes: int,
                 feature_dims: Dict[str, int],
                 bap_features: Sequence[str] = (),
                 distill_features: Optional[Sequence[str]] = None,
                 circle_form: str = 'classifier',
                 circle: Optional[dict] = None,
                 label_smoothing: float = 0.1,
                 loss_triplet: Optional[dict] = dict(type='TripletLoss', margin=0.05, hard_mining=True),
                 diversity: Optional[dict] = dict(type='AttentionDiversityLoss', beta=0.001),
                 distillation: Optional[dict] = dict(type='MutualDistillationLoss'),
                 test_features: Optional[Sequence[str]] = None,
                 normalize_test: bool = False):
        if circle_form not in CIRCLE_FORMS:
            raise ValueError(f'MDPRHead: circle_form={circle_form!r}; expected one of {CIRCLE_FORMS}')
        unknown = [n for n in list(bap_features) + list(distill_features or ()) if n not in feature_dims]
        if unknown:
            raise ValueError(f'MDPRHead: {unknown} are not among the features {list(feature_dims)}')
        circle = dict(dict(scale=64.0, margin=0.35), **(circle or {}))
        if circle_form == 'classifier':
            ident = dict(classifier=dict(type='CircleSoftmax', **circle),
                         loss_cls=dict(type='CrossEntropyLabelSmooth', epsilon=label_smoothing))
        else:
            ident = dict(classifier=None, loss_cls=None)
        features = {}
        for name, dim in feature_dims.items():
            is_bap = name in bap_features
            features[name] = dict(ident, in_channels=dim, bnneck=True, triplet_feat='after_bn',
                                  loss_triplet=None if is_bap else loss_triplet)
        if test_features is None:
            test_features = [n for n in feature_dims if n not in bap_features]
        super().__init__(num_classes=num_classes, features=features, reduction='sum',
                         test_features=test_features, test_feat='after_bn', normalize_test=normalize_test)
        self.circle_form = circle_form
        self.bap_features = list(bap_features)
        self.pairwise_circle = (MODELS.build(dict(type='PairwiseCircleLoss', gamma=circle['scale'],
                                                  margin=circle['margin']))
                                if circle_form == 'pairwise' else None)
        self.diversity = MODELS.build(diversity) if diversity is not None and bap_features else None
        self.distill_features = tuple(distill_features) if distill_features else None
        self.distillation = None
        if self.distill_features is not None and distillation is not None:
            dim = feature_dims[self.distill_features[0]]
            self.distillation = MODELS.build(dict(distillation, dim=dim))

    def after_bn(self, name: str, x: torch.Tensor) -> torch.Tensor:
        """The feature after its BNNeck, without a second update of the running statistics."""
        return bn_without_stat_update(self.branches[name].bnneck, x)

    def loss(self, feats: Dict[str, torch.Tensor], data_samples: List[ReIDDataSample]) -> dict:
        """All terms of eq. 9. The head (BNNecks, classifiers with s = 64, predictors, losses) runs
        in fp32 even under autocast: it is small, and bf16 logits at scale 64 are off by ~0.25."""
        device = next(iter(feats.values())).device
        with torch.autocast(device.type, enabled=False):
            return self._loss({k: v.float() for k, v in feats.items()}, data_samples)

    def _loss(self, feats: Dict[str, torch.Tensor], data_samples: List[ReIDDataSample]) -> dict:
        losses = super().loss(feats, data_samples)
        if self.pairwise_circle is not None:
            labels = stack_meta(data_samples, 'pid', device=next(iter(feats.values())).device)
            for name in self.branches:
                losses[f'{name}_loss_circle'] = self.pairwise_circle(self.after_bn(name, feats[name]), labels)
        if self.diversity is not None:
            for level in ('5', '4'):
                if f'attn{level}' in feats:
                    losses[f'attn{level}_loss_diversity'] = self.diversity(
                        feats[f'bap{level}_parts'], feats[f'attn{level}'])
        if self.distillation is not None:
            hard, soft = self.distill_features
            losses['distill_loss'] = self.distillation(self.after_bn(hard, feats[hard]),
                                                       self.after_bn(soft, feats[soft]))
        return losses
