"""Attention and Grad-CAM maps, and their overlays on the images.

Protocol: a model may implement ``attention_maps(inputs, data_samples=None) -> {name: (B, K, h, w)}``
(non-negative, any scale; ``inputs`` as given to the model after the data preprocessor). For ViT
backbones, :func:`capture_attention` records the softmax attention of one block, A =
softmax(q k^T / sqrt(d) + mask) (Vaswani et al., NeurIPS 2017, eq. 1), averaged over heads.
CNN models without maps get Grad-CAM (Selvaraju et al., ICCV 2017; the ``grad-cam`` package):
the target is the feature's projection on its own direction, f . stopgrad(f) / |f|.
"""
import contextlib
from typing import Dict, List, Optional, Sequence

import cv2
import numpy as np
import torch


class _AttentionRecord:
    weights: Optional[torch.Tensor] = None


@contextlib.contextmanager
def capture_attention(attn_module: torch.nn.Module):
    """Record the head-averaged attention weights (B, T, T) of a timm ``Attention`` module.

    Recomputed from the module's input (qkv, q/k norms, scale, the boolean or additive mask), so
    the forward pass itself keeps its fused kernel.
    """
    record = _AttentionRecord()
    for name in ('qkv', 'num_heads', 'scale'):
        if not hasattr(attn_module, name):
            raise TypeError(f'capture_attention: {type(attn_module).__name__} has no {name!r}; '
                            'expected a timm Attention module')

    def hook(module, args, kwargs):
        x = args[0]
        mask = kwargs.get('attn_mask', args[1] if len(args) > 1 else None)
        b, n, _ = x.shape
        qkv = module.qkv(x).reshape(b, n, 3, module.num_heads, -1).permute(2, 0, 3, 1, 4)
        q, k = module.q_norm(qkv[0]), module.k_norm(qkv[1])
        logits = (q * module.scale) @ k.transpose(-2, -1)
        if mask is not None:
            logits = logits.masked_fill(~mask, float('-inf')) if mask.dtype == torch.bool \
                else logits + mask
        record.weights = logits.float().softmax(-1).mean(1).detach()

    handle = attn_module.register_forward_pre_hook(hook, with_kwargs=True)
    try:
        yield record
    finally:
        handle.remove()


def grad_cam_maps(model, inputs: torch.Tensor, data_samples=None,
                  target_layer: Optional[torch.nn.Module] = None) -> Dict[str, torch.Tensor]:
    """{'grad_cam': (B, 1, H, W)} of the model's test feature (``grad-cam`` package).

    ``target_layer`` defaults to the backbone's ``layer4`` (ResNet-like backbones).
    """
    try:
        from pytorch_grad_cam import GradCAM
    except ImportError as err:
        raise ImportError('Grad-CAM pictures need the grad-cam package: pip install grad-cam '
                          '(or pip install -e ".[vis]")') from err
    if target_layer is None:
        target_layer = getattr(model.backbone, 'layer4', None)
        if target_layer is None:
            raise ValueError(f'{type(model.backbone).__name__} has no layer4: pass target_layer= '
                             '(a convolutional stage) for Grad-CAM')

    class Features(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.model = model

        def forward(self, x):
            return self.model(x, data_samples, mode='tensor')

    def self_similarity(feature):
        return (feature * feature.detach()).sum() / feature.detach().norm().clamp_min(1e-12)

    with GradCAM(model=Features(), target_layers=[target_layer]) as cam:
        maps = cam(input_tensor=inputs.float().contiguous(),
                   targets=[self_similarity] * len(inputs))
    return {'grad_cam': torch.from_numpy(np.asarray(maps))[:, None]}


def overlay(image: np.ndarray, heat: np.ndarray, alpha: float = 0.5) -> np.ndarray:
    """``heat`` (h, w, any scale, non-negative) min-max normalised, resized to the image, jet
    colour map, blended with the RGB image."""
    heat = np.asarray(heat, dtype=np.float32)
    span = float(heat.max() - heat.min())
    heat = (heat - heat.min()) / span if span > 0 else np.zeros_like(heat)
    heat = cv2.resize(heat, (image.shape[1], image.shape[0]), interpolation=cv2.INTER_CUBIC)
    colour = cv2.applyColorMap(np.uint8(np.clip(heat, 0, 1) * 255), cv2.COLORMAP_JET)[..., ::-1]
    return np.uint8(np.clip((1 - alpha) * image + alpha * colour, 0, 255))


def draw_attention(images: Sequence[np.ndarray], maps: Dict[str, torch.Tensor],
                   scale: int = 2, title: str = 'Attention') -> np.ndarray:
    """Grid (HxWx3 uint8 RGB): one row per image, the image then one overlay per map channel
    (columns named ``name`` or ``name[i]``)."""
    from .ranked_list import _text
    columns: List[tuple] = []
    for name, m in maps.items():
        m = torch.as_tensor(m).detach().float().cpu()
        if m.dim() != 4 or m.shape[0] != len(images):
            raise ValueError(f'attention map {name!r} must be (B={len(images)}, K, h, w), got '
                             f'{tuple(m.shape)}')
        for c in range(m.shape[1]):
            columns.append((name if m.shape[1] == 1 else f'{name}[{c}]', m[:, c].numpy()))
    h, w = images[0].shape[0] * scale, images[0].shape[1] * scale
    gap, head = 6, 40
    title_w = cv2.getTextSize(title, cv2.FONT_HERSHEY_SIMPLEX, 0.45, 1)[0][0] + 2 * gap
    canvas = np.full((head + len(images) * (h + gap),
                      max((len(columns) + 1) * (w + gap) + gap, title_w), 3), 255, np.uint8)
    _text(canvas, title, gap, 16, 0.45)
    for c, (label, _) in enumerate([('image', None)] + columns):
        _text(canvas, label, gap + c * (w + gap), head - 6, 0.36)
    for r, img in enumerate(images):
        img = cv2.resize(np.asarray(img, np.uint8), (w, h), interpolation=cv2.INTER_LINEAR)
        top = head + r * (h + gap)
        canvas[top:top + h, gap:gap + w] = img
        for c, (_, m) in enumerate(columns, 1):
            left = gap + c * (w + gap)
            canvas[top:top + h, left:left + w] = overlay(img, m[r])
    return canvas
