"""Head of DRFormer (Shu et al., Sec. 3.2-3.5): the losses of eq. 26,

    L_total = L_ID + L_Tri + lambda_1 L_inter + lambda_2 L_intra

- L_ID, L_Tri (eq. 6-7) on the fused feature z_f = [H_{D->C}; H_{C->D}] (eq. 5, 13): a
  ``MultiFeatureHead`` with one feature ``fused`` (BNNeck, bias-free linear classifier, label-smoothed
  CE on BN(z_f), batch-hard triplet on z_f).
- L_inter (eq. 23-25): the SAME classifier (and BNNeck) applied to each direction duplicated to
  the classifier's width,

      y_D = f_linear([H_{D->C}; H_{D->C}]),   y_C = f_linear([H_{C->D}; H_{C->D}]),
      L_inter = L_ID(y_D) + L_ID(y_C)

- L_intra (eq. 10-12): ``TokenDiversityLoss`` on each encoder's learnable tokens, summed.

Loss keys: ``fused_loss_cls``, ``fused_loss_triplet``, ``<direction>_loss_inter`` (each x lambda_1),
``<encoder>_loss_intra`` (each x lambda_2); accuracies ``fused_acc`` and ``<direction>_acc`` (the
per-model accuracies of the paper's Fig. 2 d-e) are logged only.
"""
from typing import Dict, List, Optional, Sequence

import torch
from mmengine.logging import MMLogger

from reidengine.models.heads import MultiFeatureHead
from reidengine.registry import MODELS
from reidengine.structures import ReIDDataSample, stack_meta


@MODELS.register_module()
class DRFormerHead(MultiFeatureHead):
    """Args:
        num_classes: number of training identities.
        in_channels: width of the fused feature (D_a + D_b).
        directions: names of the two direction features of the fusion module (``dino_to_clip``,
            ``clip_to_dino``); each must be half of ``in_channels`` wide (eq. 23's duplication).
        encoders: encoder names whose ``tokens_<name>`` (B, N, D) get the intra-model term.
        fused: extra ``MultiFeatureHead`` feature arguments of ``fused`` (bnneck, classifier,
            loss_cls, loss_triplet, triplet_feat).
        loss_inter: ID loss of eq. 25 (its ``loss_weight`` is lambda_1), or None: no L_inter.
        loss_intra: ``TokenDiversityLoss`` config (``loss_weight`` = lambda_2), or None: no L_intra.
        test_feat, normalize_test: test feature (``MultiFeatureHead``): z_f before or after BN,
            optionally L2-normalised.
    """

    def __init__(self,
                 num_classes: int,
                 in_channels: int,
                 directions: Sequence[str] = ('dino_to_clip', 'clip_to_dino'),
                 encoders: Sequence[str] = ('dino', 'clip'),
                 fused: Optional[dict] = None,
                 loss_inter: Optional[dict] = dict(type='CrossEntropyLabelSmooth', epsilon=0.1,
                                                   loss_weight=0.5),
                 loss_intra: Optional[dict] = dict(type='TokenDiversityLoss', loss_weight=5.0),
                 test_feat: str = 'before_bn',
                 normalize_test: bool = True):
        super().__init__(num_classes=num_classes,
                         features=dict(fused=dict(fused or {}, in_channels=in_channels)),
                         test_feat=test_feat, normalize_test=normalize_test)
        if len(directions) != 2:
            raise ValueError(f'DRFormerHead: directions must name the two fusion outputs, got {directions!r}')
        if in_channels % 2:
            raise ValueError(f'DRFormerHead: in_channels={in_channels} must be twice the width of '
                             'each direction (eq. 23 duplicates one direction to the fused width)')
        self.directions = tuple(directions)
        self.encoders = tuple(encoders)
        self.loss_inter = MODELS.build(loss_inter) if loss_inter is not None else None
        self.loss_intra = MODELS.build(loss_intra) if loss_intra is not None else None
        if self.loss_inter is not None and self.branches['fused'].classifier is None:
            raise ValueError('DRFormerHead: the inter-model term reuses the fused classifier; '
                             'fused.loss_cls must not be None')
        self._intra_off_logged = False

    def inter_logits(self, feats: Dict[str, torch.Tensor],
                     labels: Optional[torch.Tensor] = None) -> Dict[str, torch.Tensor]:
        """Eq. 23-24: the fused feature's classifier on each direction duplicated, (B, C) each."""
        logits = {}
        for direction in self.directions:
            h = self._get(feats, direction)
            logits[direction] = self.logits('fused', torch.cat([h, h], dim=1), labels)
        return logits

    def loss(self, feats: Dict[str, torch.Tensor],
             data_samples: List[ReIDDataSample]) -> Dict[str, torch.Tensor]:
        """All terms in fp32, also under autocast (BN, classifier, softmax and cosines of a few
        (B, 2D) features: negligible next to the encoders)."""
        device = self._get(feats, 'fused').device
        with torch.autocast(device.type, enabled=False):
            return self._loss({k: v.float() for k, v in feats.items()}, data_samples)

    def _loss(self, feats: Dict[str, torch.Tensor],
              data_samples: List[ReIDDataSample]) -> Dict[str, torch.Tensor]:
        losses = super().loss(feats, data_samples)
        labels = stack_meta(data_samples, 'pid', device=feats['fused'].device)
        if self.loss_inter is not None:
            for direction, logits in self.inter_logits(feats, labels).items():
                losses[f'{direction}_loss_inter'] = self.loss_inter(logits, labels)
                losses[f'{direction}_acc'] = (logits.detach().argmax(1) == labels).float().mean()
        if self.loss_intra is not None:
            for encoder in self.encoders:
                tokens = self._get(feats, f'tokens_{encoder}')
                if tokens.shape[1] < 2:
                    self._log_intra_off(tokens.shape[1])
                    continue
                losses[f'{encoder}_loss_intra'] = self.loss_intra(tokens)
        return losses

    def _log_intra_off(self, num_tokens: int) -> None:
        if not self._intra_off_logged:
            MMLogger.get_current_instance().warning(
                f'DRFormerHead: intra-model regulariser (L_intra, eq. 10-12) OFF: {num_tokens} '
                'learnable token per encoder leaves no pair to compare (N = 1)')
            self._intra_off_logged = True
