"""Multi-head Auto-Alignment (MAA) of AAformer (Zhu et al., IEEE TNNLS 2023, Sec. III-B, eq. 1-5).

Tokens: ``[cls, part_1 .. part_P, patches (row-major grid)]``. In every head:

- cls and patches: ordinary self-attention (eq. 1) over ``[cls, patches]``; they do not see the parts,
  so this path is exactly the plain ViT's.
- part p: eq. 2, ``softmax(q_p K_{Phi_p}^T / sqrt(d)) V_{Phi_p}``, where Phi_p is the set of patches
  assigned to p (optionally p itself too, ``part_sees_itself``). A part with no patch (possible with the
  nearest-neighbour switch) gets a zero attention output, so the residual passes its token on unchanged.
- Phi: per image, head and group, the rounded optimal-transport plan between the part queries and the
  patch keys (eq. 3-5, :mod:`.assignment`), without gradient, in float32 even under autocast; or the
  nearest-neighbour / fixed-stripe assignment of Tables IV-V.

The layer subclasses timm's ``Attention`` and keeps its parameters (``qkv``, ``proj``, ...), so the
backbone's checkpoint keys are unchanged. ``forward`` moves the parts in front of [cls, patches], projects
all tokens with one ``qkv`` product (rows are independent, so a part never changes a cls / patch value),
runs timm's attention on the [cls, patches] slice, and merges the heads of all tokens, back in their
order, for one output projection. The last forward's assignment is kept (detached) in
``last_assignment`` (B, H, P, N) bool and its part attention weights in ``last_part_attention``
(B, H, P, N).
"""
from typing import Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from timm.layers import Attention

from reidengine.registry import MODELS
from .assignment import (check_granularities, group_membership, round_assignment, stripe_assignment,
                         transport_assignment)

ASSIGNMENTS = ('optimal_transport', 'nearest_neighbour', 'stripes')
SCORES = ('cosine', 'dot')


@MODELS.register_module()
class AutoAlignmentAttention(Attention):
    """timm ``Attention`` whose part tokens attend only to the patches assigned to them.

    Args:
        dim, num_heads, qkv_bias, qk_norm, proj_bias, attn_drop, proj_drop, norm_layer: timm's.
        layer_index: index of the block (given by the backbone; kept for the assignment records).
        granularities: part groups, e.g. ``[2, 3]`` = 5 parts; each group partitions the patches.
        num_cls_tokens: tokens before the parts (1: [cls]).
        assignment: ``'optimal_transport'`` (AAformer), ``'nearest_neighbour'`` (Table V) or
            ``'stripes'`` (Table IV, fixed horizontal bands; needs ``grid_size``).
        score: similarity the assignment is computed on: ``'cosine'`` (L2-normalised queries and keys,
            the scale eps = 0.05 is meant for, as in SwAV) or ``'dot'`` (raw q . k of eq. 3).
        sinkhorn_eps: eps of eq. 3. sinkhorn_iterations: Sinkhorn-Knopp iterations.
        part_sees_itself: part p also attends to its own key / value (eq. 2 has only Phi_p).
        grid_size: (rows, cols) of the patch grid; required for ``'stripes'``.
    """

    def __init__(self,
                 dim: int,
                 num_heads: int = 8,
                 qkv_bias: bool = False,
                 qk_norm: bool = False,
                 proj_bias: bool = True,
                 attn_drop: float = 0.,
                 proj_drop: float = 0.,
                 norm_layer: Optional[type] = None,
                 layer_index: int = 0,
                 granularities: Sequence[int] = (2, 3),
                 num_cls_tokens: int = 1,
                 assignment: str = 'optimal_transport',
                 score: str = 'cosine',
                 sinkhorn_eps: float = 0.05,
                 sinkhorn_iterations: int = 3,
                 part_sees_itself: bool = False,
                 grid_size: Optional[Tuple[int, int]] = None,
                 **kwargs):
        super().__init__(dim, num_heads=num_heads, qkv_bias=qkv_bias, qk_norm=qk_norm,
                         proj_bias=proj_bias, attn_drop=attn_drop, proj_drop=proj_drop,
                         norm_layer=norm_layer, **kwargs)
        name = type(self).__name__
        if assignment not in ASSIGNMENTS:
            raise ValueError(f'{name}: assignment must be one of {ASSIGNMENTS}, got {assignment!r}')
        if score not in SCORES:
            raise ValueError(f'{name}: score must be one of {SCORES}, got {score!r}')
        if sinkhorn_eps <= 0 or sinkhorn_iterations < 0:
            raise ValueError(f'{name}: sinkhorn_eps must be > 0 and sinkhorn_iterations >= 0, got '
                             f'{sinkhorn_eps} and {sinkhorn_iterations}')
        if num_cls_tokens < 0:
            raise ValueError(f'{name}: num_cls_tokens must be >= 0, got {num_cls_tokens}')
        self.layer_index = layer_index
        self.granularities = check_granularities(granularities, f'{name}: granularities')
        self.num_parts = sum(self.granularities)
        self.num_cls_tokens = num_cls_tokens
        self.assignment = assignment
        self.score = score
        self.sinkhorn_eps = float(sinkhorn_eps)
        self.sinkhorn_iterations = int(sinkhorn_iterations)
        self.part_sees_itself = part_sees_itself
        self.register_buffer('group_member', group_membership(self.granularities), persistent=False)
        if assignment == 'stripes':
            if grid_size is None:
                raise ValueError(f'{name}: assignment="stripes" needs grid_size=(rows, cols)')
            self.register_buffer('stripes', stripe_assignment(self.granularities, tuple(grid_size)),
                                 persistent=False)
        self.last_assignment: Optional[torch.Tensor] = None
        self.last_part_attention: Optional[torch.Tensor] = None

    # ------------------------------------------------------------------ assignment (eq. 3-5)
    @torch.no_grad()
    def assign(self, part_q: torch.Tensor, patch_k: torch.Tensor) -> torch.Tensor:
        """(B, H, P, d), (B, H, N, d) -> (B, H, P, N) bool: Phi_p per image and head (no gradient)."""
        batch, heads, num_parts, _ = part_q.shape
        num_patches = patch_k.shape[2]
        if self.assignment == 'stripes':
            if self.stripes.shape[1] != num_patches:
                raise ValueError(f'{type(self).__name__}: stripes built for {self.stripes.shape[1]} '
                                 f'patches (grid_size), got {num_patches}')
            return self.stripes.expand(batch, heads, num_parts, num_patches)
        with torch.autocast(device_type=part_q.device.type, enabled=False):
            q, k = part_q.float(), patch_k.float()
            scores = q @ k.transpose(-2, -1)
            if self.score == 'cosine':  # divide the (P, N) scores, cheaper than normalising the keys
                scores = scores / (torch.linalg.vector_norm(q, dim=-1).clamp_min(1e-6)[..., :, None] *
                                   torch.linalg.vector_norm(k, dim=-1).clamp_min(1e-6)[..., None, :])
            if self.assignment == 'optimal_transport':
                return transport_assignment(scores, self.group_member, self.sinkhorn_eps,
                                            self.sinkhorn_iterations)
            return round_assignment(scores, self.group_member)

    # ------------------------------------------------------------------ attention (eq. 1-2)
    def _qkv(self, x: torch.Tensor):
        """(B, L, C) -> q, k, v (B, H, L, d), as timm's ``Attention``."""
        batch, length, _ = x.shape
        qkv = self.qkv(x).reshape(batch, length, 3, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)
        return self.q_norm(q), self.k_norm(k), v

    def attend_main(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """Eq. 1 for cls + patches among themselves: (B, H, c + N, d) each -> (B, H, c + N, d)."""
        return F.scaled_dot_product_attention(q, k, v, dropout_p=self.attn_drop.p if self.training else 0.)

    def attend_parts(self, part_q: torch.Tensor, part_k: torch.Tensor, part_v: torch.Tensor,
                     patch_k: torch.Tensor, patch_v: torch.Tensor) -> torch.Tensor:
        """Eq. 2 for the parts: (B, H, P, d) part q / k / v and (B, H, N, d) patch k / v -> (B, H, P, d).

        Records the assignment and the part attention weights of this call.
        """
        allowed = self.assign(part_q, patch_k)
        self.last_assignment = allowed.detach()
        logits = (part_q * self.scale) @ patch_k.transpose(-2, -1)
        if self.part_sees_itself:  # one more column: the part's own key
            logits = torch.cat([logits, (part_q * self.scale * part_k).sum(-1, keepdim=True)], dim=-1)
            allowed = torch.cat([allowed, allowed.new_ones(allowed.shape[:-1] + (1,))], dim=-1)
        weights = logits.masked_fill(~allowed, torch.finfo(logits.dtype).min).softmax(dim=-1)
        weights = weights * allowed  # exact zeros off Phi_p; a part with no patch gets all zeros
        self.last_part_attention = weights[..., :patch_k.shape[2]].detach()
        weights = self.attn_drop(weights).to(patch_v.dtype)
        if self.part_sees_itself:
            return weights[..., :-1] @ patch_v + weights[..., -1:] * part_v
        return weights @ patch_v

    def attend(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """Per-head outputs (B, H, T, d) of all tokens from their q, k, v (B, H, T, d) (for analysis;
        ``forward`` computes the same from the two token sets without concatenating q, k, v)."""
        c, p = self.num_cls_tokens, self.num_parts
        main = self.attend_main(*(torch.cat([t[:, :, :c], t[:, :, c + p:]], dim=2) for t in (q, k, v)))
        parts = self.attend_parts(q[:, :, c:c + p], k[:, :, c:c + p], v[:, :, c:c + p],
                                  k[:, :, c + p:], v[:, :, c + p:])
        return torch.cat([main[:, :, :c], parts, main[:, :, c:]], dim=2)

    def _project(self, x: torch.Tensor, gate: Optional[torch.Tensor]) -> torch.Tensor:
        """(B, L, C) merged heads -> (B, L, C): timm's norm, gate, projection and dropout."""
        x = self.norm(x)
        if gate is not None:
            x = x * gate
        return self.proj_drop(self.proj(x))

    def forward(self, x: torch.Tensor, attn_mask: Optional[torch.Tensor] = None, **kwargs) -> torch.Tensor:
        if attn_mask is not None:
            raise ValueError(f'{type(self).__name__} builds its own part masks; the backbone must not '
                             'be given attn_mask')
        c, p = self.num_cls_tokens, self.num_parts
        if x.shape[1] <= c + p:
            raise ValueError(f'{type(self).__name__}: {x.shape[1]} tokens, expected {c} cls + {p} part '
                             'tokens + patches (backbone num_extra_tokens must equal sum(granularities))')
        # parts first, then [cls, patches]: one qkv product for all tokens, and the cls / patch
        # q, k, v are a slice (a view) on which eq. 1 is exactly timm's attention
        q, k, v = self._qkv(torch.cat([x[:, c:c + p], x[:, :c], x[:, c + p:]], dim=1))
        main = self.attend_main(q[:, :, p:], k[:, :, p:], v[:, :, p:])
        # parts: attention restricted to their assigned patches (eq. 2-5); patch keys / values as
        # contiguous (B, H, N, d), which the part products would otherwise copy each time
        patch_k, patch_v = k[:, :, p + c:].contiguous(), v[:, :, p + c:].contiguous()
        parts = self.attend_parts(q[:, :, :p], k[:, :, :p], v[:, :, :p], patch_k, patch_v)
        # back to [cls, parts, patches], heads merged by the same copy (B, T, H, d), then one
        # projection of every token
        main, parts = main.transpose(1, 2), parts.transpose(1, 2)
        merged = torch.cat([main[:, :c], parts, main[:, c:]], dim=1).flatten(2)
        gate = getattr(self, 'gate', None)
        return self._project(merged, None if gate is None else gate(x).sigmoid())

    def extra_repr(self) -> str:
        return (f'granularities={list(self.granularities)}, assignment={self.assignment!r}, '
                f'score={self.score!r}, eps={self.sinkhorn_eps}, iterations={self.sinkhorn_iterations}, '
                f'part_sees_itself={self.part_sees_itself}')
