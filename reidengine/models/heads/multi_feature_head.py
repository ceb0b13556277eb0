"""A head with several named features, each with its own BNNeck, classifier and losses.

For a model that supervises F features f_1..f_F (FusionReID's six, MDPR's five, AAformer's cls and
parts, MGN-style branches):

    L = sum_i w_i * (L_id(W_i BN_i(f_i), y) + L_metric(f_i or BN_i(f_i), y))        (reduction 'sum')

with 'mean' dividing each loss type by the number of features that have it (AAformer averages its
P + 1 ID losses). The test feature concatenates the listed features, each before or after its BN:

    f_test = [g_1(f_a); g_2(f_b); ...],   g = identity or BN_i,   optionally L2-normalised.

Each feature is a ``BNNeckHead`` (``branches[name]``), so ``loss_cls=None`` means no ID loss (and no
classifier) and ``loss_triplet=None`` no metric loss for that feature. A feature that only exists
for a metric loss (AAformer's concatenated parts) is a branch with ``bnneck=False, loss_cls=None``.
"""
from typing import Dict, List, Optional, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from reidengine.registry import MODELS
from reidengine.structures import ReIDDataSample
from .bnneck_head import BNNeckHead

_REDUCTIONS = ('sum', 'mean')


@MODELS.register_module()
class MultiFeatureHead(nn.Module):
    """Args:
        num_classes: number of training identities (shared by every classifier).
        features: ordered ``name -> BNNeckHead arguments`` (``in_channels`` required; ``bnneck``,
            ``classifier``, ``loss_cls``, ``loss_triplet``, ``triplet_feat``, ``test_feat``,
            ``loss_weight`` optional).
        defaults: arguments merged under every feature's own (e.g. one ``loss_triplet`` for all).
        reduction: 'sum' or 'mean' over the features that have a given loss.
        test_features: names concatenated, in this order, into the test feature (default: all).
        test_feat: 'before_bn' or 'after_bn' for features that do not set ``test_feat``.
        normalize_test: L2-normalise the concatenated test feature.

    Input of ``forward`` / ``loss``: a dict ``name -> (B, D_name)``; entries not in ``features``
    are ignored (a plugin's head subclass may use them).
    Loss keys: ``{name}_loss_cls``, ``{name}_loss_triplet``; ``{name}_acc`` is logged only.
    """

    def __init__(self,
                 num_classes: int,
                 features: Dict[str, dict],
                 defaults: Optional[dict] = None,
                 reduction: str = 'sum',
                 test_features: Optional[Sequence[str]] = None,
                 test_feat: str = 'before_bn',
                 normalize_test: bool = False):
        super().__init__()
        name = type(self).__name__
        if not isinstance(features, dict) or not features:
            raise ValueError(f'{name}: features must be a non-empty dict name -> feature config, '
                             f'got {features!r}')
        if reduction not in _REDUCTIONS:
            raise ValueError(f'{name}: reduction must be one of {_REDUCTIONS}, got {reduction!r}')
        self.num_classes = num_classes
        self.reduction = reduction
        self.normalize_test = normalize_test
        self.branches = nn.ModuleDict()
        for feat_name, cfg in features.items():
            if not isinstance(cfg, dict) or 'in_channels' not in cfg:
                raise ValueError(f'{name}: feature {feat_name!r} needs a dict with in_channels, '
                                 f'got {cfg!r}')
            args = {**dict(test_feat=test_feat), **(defaults or {}), **cfg}
            args.pop('type', None)
            self.branches[feat_name] = BNNeckHead(num_classes=num_classes, **args)
        self.test_features = list(test_features) if test_features is not None else list(features)
        unknown = [n for n in self.test_features if n not in self.branches]
        if unknown or not self.test_features:
            raise ValueError(f'{name}: test_features {unknown or self.test_features} must name '
                             f'features among {list(self.branches)}')
        # with 'mean', each loss type is divided by the number of features that have it
        self._loss_counts = {
            'loss_cls': sum(b.loss_cls is not None for b in self.branches.values()),
            'loss_triplet': sum(b.loss_triplet is not None for b in self.branches.values())}

    @property
    def out_channels(self) -> int:
        """Size of the test feature."""
        return sum(self.branches[n].in_channels for n in self.test_features)

    def _get(self, feats: Dict[str, torch.Tensor], name: str) -> torch.Tensor:
        if not isinstance(feats, dict):
            raise ValueError(f'{type(self).__name__}: expected a dict of features '
                             f'{list(self.branches)}, got {type(feats).__name__}')
        if name not in feats:
            raise KeyError(f'{type(self).__name__}: feature {name!r} missing from the model output '
                           f'(got {list(feats)})')
        return feats[name]

    def forward(self, feats: Dict[str, torch.Tensor]) -> torch.Tensor:
        """Test feature: the listed features concatenated (B, sum D)."""
        out = torch.cat([self.branches[n](self._get(feats, n)) for n in self.test_features], dim=1)
        return F.normalize(out, dim=1) if self.normalize_test else out

    def bn_feature(self, name: str, x: torch.Tensor) -> torch.Tensor:
        """BN_name(x), the after-BN feature of ``name``."""
        return self.branches[name].bnneck(x)

    def logits(self, name: str, x: torch.Tensor,
               labels: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Feature ``name``'s classifier applied to BN_name(x) (reuse a classifier on other inputs)."""
        return self.branches[name].logits(x, labels)

    def loss(self, feats: Dict[str, torch.Tensor],
             data_samples: List[ReIDDataSample]) -> Dict[str, torch.Tensor]:
        losses = {}
        for name, branch in self.branches.items():
            for key, value in branch.loss(self._get(feats, name), data_samples).items():
                if self.reduction == 'mean' and key in self._loss_counts:
                    value = value / self._loss_counts[key]
                losses[f'{name}_{key}'] = value
        return losses

