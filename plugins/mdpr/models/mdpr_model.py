"""MDPR network (Fu, Cui et al., "Mutual Distillation Learning For Person Re-Identification",
2024, Sec. III, Fig. 2): a ResNet whose stem..res-conv3 (layer2) is shared, a Hard and a
Soft Content Branch each with its own copy of res-conv4/res-conv5 (layer3/layer4, initialised from
the same pretrained weights), and the fusion module; the BNNecks, classifiers, predictors and
losses live in ``MDPRHead``.

Features given to the head (Table I): ``hard_global``, ``hard_part1..N``, ``soft_global5``,
``soft_global4`` (M each), ``fusion`` (4M) and, in training, ``bap5`` / ``bap4`` (K M, ID loss only)
with the per-map ``bap5_parts`` / ``bap4_parts`` (B, K, M) and the kept maps ``attn5`` / ``attn4``.
"""
import copy
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn

from reidengine.models.reid import ReIDModel
from reidengine.registry import MODELS
from reidengine.structures import ReIDDataSample
from .blocks import check_positive
from .fusion import FeatureFusion
from .hard_branch import HardContentBranch
from .soft_branch import SoftContentBranch

BRANCHES = ('hard', 'soft')
DISTILLED = ('hard_global', 'soft_global5')


def feature_layout(embed_dim: int, num_parts: int, num_attention: int, branches: Sequence[str],
                   fusion: bool) -> Tuple['OrderedDict[str, int]', List[str]]:
    """``(dims, bap_names)``: the head features in Table I's order with their sizes, BAP last."""
    dims = OrderedDict()
    if 'hard' in branches:
        dims['hard_global'] = embed_dim
        for i in range(num_parts):
            dims[f'hard_part{i + 1}'] = embed_dim
    if 'soft' in branches:
        dims['soft_global5'] = embed_dim
        dims['soft_global4'] = embed_dim
    if fusion:
        dims['fusion'] = 4 * embed_dim
    bap = []
    if 'soft' in branches:
        bap = ['bap5', 'bap4']
        for name in bap:
            dims[name] = num_attention * embed_dim
    return dims, bap


@MODELS.register_module()
class MDPRModel(ReIDModel):
    """Args:
        backbone: ``ResNetReID`` config (ResNet-101-IBN-a, last stride 1, LUPerson weights in the
            paper); it must offer ``forward_stages``, ``stage`` and ``out_channels_of``.
        head: ``MDPRHead`` config; the feature sizes, BAP names and the distilled pair are filled in.
        embed_dim: M (Table V).
        num_parts: N horizontal parts of the hard branch.
        num_attention: K attention maps of the soft branch (Table VI).
        branches: ('hard', 'soft'), or one of them for the single-branch networks of Table VIII.
        fusion: the fusion module and f_fusion (Table IX; needs both branches).
        distillation: the mutual distillation loss (Table IX; needs both branches).
        attention_guidance: A5 guides A4 (Table VII).
        layer3_conv, bap_shared_gem: see ``SoftContentBranch``.
        fusion_convs: 'sequential' | 'summed', see ``FusionBlock``.
        gem_p: initial exponent of every GeM.
        data_preprocessor, test_cfg, init_cfg: as ``ReIDModel``.

    The backbone's own layer3/layer4 are replaced by ``nn.Identity`` once the branches have copied
    them: nothing unused stays in the model (DDP) or in its checkpoints.
    """

    def __init__(self,
                 backbone: dict,
                 head: dict,
                 embed_dim: int = 512,
                 num_parts: int = 2,
                 num_attention: int = 2,
                 branches: Sequence[str] = BRANCHES,
                 fusion: bool = True,
                 distillation: bool = True,
                 attention_guidance: bool = True,
                 layer3_conv: bool = True,
                 bap_shared_gem: bool = True,
                 fusion_convs: str = 'sequential',
                 gem_p: float = 3.0,
                 data_preprocessor: Optional[dict] = None,
                 test_cfg: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        check_positive('MDPRModel', embed_dim=embed_dim, num_parts=num_parts, num_attention=num_attention)
        branches = tuple(branches)
        if not branches or any(b not in BRANCHES for b in branches) or len(set(branches)) != len(branches):
            raise ValueError(f'MDPRModel: branches={branches!r}; expected distinct names of {BRANCHES}')
        for switch, value in (('fusion', fusion), ('distillation', distillation)):
            if value and len(branches) < 2:
                raise ValueError(f'MDPRModel: {switch}=True needs both branches, got branches={branches!r}; '
                                 f'set {switch}=False for a single-branch network')
        dims, bap = feature_layout(embed_dim, num_parts, num_attention, branches, fusion)
        head = dict(head, feature_dims=dims, bap_features=bap,
                    distill_features=DISTILLED if distillation else None)
        super().__init__(backbone=backbone, head=head, data_preprocessor=data_preprocessor,
                         test_cfg=test_cfg, init_cfg=init_cfg)
        for name in ('forward_stages', 'stage', 'out_channels_of'):
            if not hasattr(self.backbone, name):
                raise TypeError(f'MDPRModel: backbone {type(self.backbone).__name__} has no {name!r}; '
                                'expected a ResNetReID-like backbone with stages')
        self.branch_names = branches
        self.embed_dim, self.num_parts, self.num_attention = embed_dim, num_parts, num_attention
        c4, c5 = self.backbone.out_channels_of(3), self.backbone.out_channels_of(4)
        layer3, layer4 = self.backbone.stage(3), self.backbone.stage(4)
        self.hard = self.soft = self.fusion = None
        if 'hard' in branches:
            self.hard = HardContentBranch(copy.deepcopy(layer3), copy.deepcopy(layer4), c5, embed_dim,
                                          num_parts, gem_p)
        if 'soft' in branches:
            self.soft = SoftContentBranch(copy.deepcopy(layer3), copy.deepcopy(layer4), c4, c5, embed_dim,
                                          num_attention, attention_guidance, layer3_conv, bap_shared_gem, gem_p)
        if fusion:
            self.fusion = FeatureFusion(embed_dim, fusion_convs, gem_p)
        self.backbone.layer3 = nn.Identity()
        self.backbone.layer4 = nn.Identity()

    def shared_features(self, inputs: torch.Tensor) -> torch.Tensor:
        """Output of the shared stem..layer2."""
        return self.backbone.forward_stages(inputs, 0, 2)

    def extract_feat(self, inputs: torch.Tensor,
                     data_samples: Optional[List[ReIDDataSample]] = None) -> Dict[str, torch.Tensor]:
        """The head's features (see the module doc); BAP features and maps only in training."""
        x = self.shared_features(inputs)
        feats = {}
        if self.hard is not None:
            feats.update(self.hard(x))
        if self.soft is not None:
            soft = self.soft(x, with_bap=self.training)
            for level in ('5', '4'):
                if f'bap{level}' in soft:
                    parts = soft.pop(f'bap{level}')
                    soft[f'bap{level}_parts'] = parts
                    soft[f'bap{level}'] = parts.flatten(1)
            feats.update(soft)
        if self.fusion is not None:
            feats['fusion'] = self.fusion(feats)
        return feats

    @torch.no_grad()
    def attention_maps(self, inputs: torch.Tensor,
                       data_samples: Optional[List[ReIDDataSample]] = None) -> Dict[str, torch.Tensor]:
        """The kept soft-branch maps ``{'A5': (B, K, h5, w5), 'A4': (B, K, h4, w4)}`` (Fig. 9)."""
        if self.soft is None:
            raise ValueError('MDPRModel.attention_maps: this network has no soft branch '
                             f'(branches={self.branch_names!r})')
        attn4, attn5 = self.soft.attention(self.shared_features(inputs))
        return {'A5': attn5, 'A4': attn4}
