"""Soft Content Branch of MDPR (Sec. III-B, Fig. 5).

With C4 and C5 the outputs of the branch's own res-conv4 and res-conv5:
    A5 = keep_K(softmax(phi5(C5)))                                   (eq. 2, K + 1 maps, first K kept)
    A4 = keep_K(softmax(phi4([C4, G(phi5(C5))])))                    (attention guidance, Table VII)
       = keep_K(softmax(phi4(C4)))                                   (guidance off)
    f_bap5 = [GeM_i(E_i(A5_i . C5))]_i,  f_bap4 = [GeM_i(E_i(A4_i . C4^))]_i          (eq. 3)
    f_g5 = GeM(E(C5)),  f_g4 = GeM(E(C4^))
G is the guidance layer (1x1 convolution K+1 -> K+1 + ReLU on the raw pre-softmax A5 maps,
resized to C4's grid when it differs); C4^ = ReLU(BN(conv1x1(C4))) (C4 -> C4 channels), the
"Conv" of Fig. 5, or C4 itself with ``layer3_conv=False``. The BNs of eq. 4 are the head's BNNecks.
"""
from typing import Dict

import torch
import torch.nn as nn
import torch.nn.functional as F

from reidengine.models.necks import GeneralizedMeanPooling
from .blocks import (AttentionGenerator, BilinearAttentionPooling, EmbeddingBlock, check_positive,
                     kaiming_init, keep_foreground_maps)


class SoftContentBranch(nn.Module):
    """Args:
        layer3, layer4: this branch's copies of the backbone stages (res-conv4, res-conv5).
        layer3_channels, layer4_channels: channels of C4 and C5.
        embed_dim: M.
        num_attention: K kept attention maps (K + 1 generated).
        attention_guidance: generate A4 from C4 concatenated with the guided A5 maps.
        layer3_conv: the 1x1 conv + BN + ReLU on C4 before BAP4 and the layer3 global feature.
        bap_shared_gem: one GeM exponent shared by the K maps of a BAP (released code) or one per map.
        gem_p: initial exponent of every GeM (learnable).

    ``forward`` returns pooled features ``soft_global5``, ``soft_global4`` (B, M), ``bap5``,
    ``bap4`` (B, K, M), the kept attention maps ``attn5`` (B, K, h5, w5) and ``attn4`` (B, K, h4, w4)
    and, for the fusion module, the embedded maps ``soft_global5_map`` and ``soft_global4_map``.
    """

    def __init__(self, layer3: nn.Module, layer4: nn.Module, layer3_channels: int, layer4_channels: int,
                 embed_dim: int = 512, num_attention: int = 2, attention_guidance: bool = True,
                 layer3_conv: bool = True, bap_shared_gem: bool = True, gem_p: float = 3.0):
        super().__init__()
        check_positive('SoftContentBranch', layer3_channels=layer3_channels,
                       layer4_channels=layer4_channels, embed_dim=embed_dim, num_attention=num_attention)
        c4, c5, k = layer3_channels, layer4_channels, num_attention
        self.num_attention = k
        self.attention_guidance = attention_guidance
        self.layer3, self.layer4 = layer3, layer4
        self.attn5 = AttentionGenerator(c5, k + 1)
        if attention_guidance:
            self.guide = nn.Sequential(nn.Conv2d(k + 1, k + 1, 1, bias=False), nn.ReLU(inplace=True))
            kaiming_init(self.guide)
            self.attn4 = AttentionGenerator(c4 + k + 1, k + 1)
        else:
            self.attn4 = AttentionGenerator(c4, k + 1)
        self.layer3_conv = EmbeddingBlock(c4, c4) if layer3_conv else nn.Identity()
        self.global5_embed = EmbeddingBlock(c5, embed_dim)
        self.global4_embed = EmbeddingBlock(c4, embed_dim)
        self.global5_pool = GeneralizedMeanPooling(p=gem_p)
        self.global4_pool = GeneralizedMeanPooling(p=gem_p)
        self.bap5 = BilinearAttentionPooling(c5, embed_dim, k, gem_p, shared_gem=bap_shared_gem)
        self.bap4 = BilinearAttentionPooling(c4, embed_dim, k, gem_p, shared_gem=bap_shared_gem)

    def raw_attention(self, c4: torch.Tensor, c5: torch.Tensor):
        """Pre-softmax (B, K + 1, h, w) maps ``(a4, a5)``."""
        a5 = self.attn5(c5)
        if not self.attention_guidance:
            return self.attn4(c4), a5
        guide = a5
        if guide.shape[-2:] != c4.shape[-2:]:
            guide = F.interpolate(guide, size=c4.shape[-2:], mode='bilinear', align_corners=True)
        return self.attn4(torch.cat([c4, self.guide(guide)], dim=1)), a5

    def attention(self, x: torch.Tensor):
        """Kept maps ``(A4, A5)`` from the shared features ``x``."""
        c4 = self.layer3(x)
        a4, a5 = self.raw_attention(c4, self.layer4(c4))
        return keep_foreground_maps(a4, self.num_attention), keep_foreground_maps(a5, self.num_attention)

    def forward(self, x: torch.Tensor, with_bap: bool = True) -> Dict[str, torch.Tensor]:
        """Features from the shared features ``x``; ``with_bap=False`` (inference) skips the
        attention maps and BAP, which the test feature does not use."""
        c4 = self.layer3(x)
        c5 = self.layer4(c4)
        out = {}
        if with_bap:
            a4, a5 = self.raw_attention(c4, c5)
            attn4 = keep_foreground_maps(a4, self.num_attention)
            attn5 = keep_foreground_maps(a5, self.num_attention)
        c4 = self.layer3_conv(c4)
        global5_map, global4_map = self.global5_embed(c5), self.global4_embed(c4)
        out.update(soft_global5=self.global5_pool(global5_map),
                   soft_global4=self.global4_pool(global4_map),
                   soft_global5_map=global5_map, soft_global4_map=global4_map)
        if with_bap:
            out.update(bap5=self.bap5(attn5, c5), bap4=self.bap4(attn4, c4), attn5=attn5, attn4=attn4)
        return out
