"""A ReID model with several backbones on the same image (FusionReID's ResNet + ViT, DRFormer's
DINOv2 + CLIP), each with its own input size and normalisation:

    x_e = (resize_e(x) - mean_e) / std_e        for every encoder e (x decoded once, RGB, 0-255)
    o_e = backbone_e(x_e, **backbone_kwargs)
    feats = neck({e: o_e}),   then the head as in ``ReIDModel``.

The pipeline decodes and resizes each image once (to the largest encoder size); the data
preprocessor only stacks and converts BGR -> RGB (mean 0, std 1), and each encoder's resizing
(bilinear) and normalisation run on the batch inside the model, so exported graphs carry them too.
"""
from typing import Dict, List, Optional, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from reidengine.registry import MODELS
from reidengine.structures import ReIDDataSample
from .reid_model import ReIDModel, camera_kwargs


class EncoderInput(nn.Module):
    """resize (bilinear, optional) then ``(x - mean) / std`` per channel, on 0-255 RGB batches."""

    def __init__(self, mean: Sequence[float], std: Sequence[float],
                 img_size: Optional[Sequence[int]] = None):
        super().__init__()
        if len(mean) != 3 or len(std) != 3 or any(v <= 0 for v in std):
            raise ValueError(f'EncoderInput: mean and std must be 3 values each (0-255 scale, std '
                             f'> 0), got mean={mean!r}, std={std!r}')
        if img_size is not None and (len(img_size) != 2 or min(img_size) <= 0):
            raise ValueError(f'EncoderInput: img_size must be (H, W) or None, got {img_size!r}')
        self.register_buffer('mean', torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1),
                             persistent=False)
        self.register_buffer('std', torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1),
                             persistent=False)
        self.img_size = tuple(img_size) if img_size is not None else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.img_size is not None and tuple(x.shape[-2:]) != self.img_size:
            x = F.interpolate(x, size=self.img_size, mode='bilinear', align_corners=False)
        return (x - self.mean) / self.std

    def extra_repr(self) -> str:
        return f'img_size={self.img_size}'


@MODELS.register_module()
class MultiBackboneReIDModel(ReIDModel):
    """Args:
        backbones: ordered ``name -> dict(backbone=<config>, mean=(r, g, b), std=(r, g, b),
            img_size=(H, W) or None)``; mean/std on the 0-255 scale.
        neck: the fusion module, called as ``neck({name: backbone output}, data_samples=...)``.
        head: as ``ReIDModel``.
        data_preprocessor: must not normalise (default: ``ReIDDataPreprocessor`` with mean 0,
            std 1, BGR -> RGB).
        test_cfg, init_cfg: as ``ReIDModel``.
    """

    def __init__(self,
                 backbones: Dict[str, dict],
                 neck: dict,
                 head: dict,
                 data_preprocessor: Optional[dict] = None,
                 test_cfg: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        if data_preprocessor is None:
            data_preprocessor = dict(type='ReIDDataPreprocessor', mean=(0, 0, 0), std=(1, 1, 1))
        super().__init__(backbone=None, head=head, neck=neck, data_preprocessor=data_preprocessor,
                         test_cfg=test_cfg, init_cfg=init_cfg)
        self._check_preprocessor()
        if not isinstance(backbones, dict) or not backbones:
            raise ValueError('MultiBackboneReIDModel: backbones must be a non-empty dict name -> '
                             f'dict(backbone=..., mean=..., std=..., img_size=...), got {backbones!r}')
        self.backbones = nn.ModuleDict()
        self.encoder_inputs = nn.ModuleDict()
        for name, cfg in backbones.items():
            unknown = sorted(set(cfg) - {'backbone', 'mean', 'std', 'img_size'})
            if unknown or 'backbone' not in cfg or 'mean' not in cfg or 'std' not in cfg:
                raise ValueError(f'MultiBackboneReIDModel: backbones.{name} must be dict(backbone=, '
                                 f'mean=, std=[, img_size=]); got keys {sorted(cfg)}')
            self.backbones[name] = MODELS.build(cfg['backbone'])
            self.encoder_inputs[name] = EncoderInput(cfg['mean'], cfg['std'], cfg.get('img_size'))

    def _check_preprocessor(self) -> None:
        pre = self.data_preprocessor
        mean, std = getattr(pre, 'mean', None), getattr(pre, 'std', None)
        if getattr(pre, '_enable_normalize', False) and (
                mean is not None and bool((mean != 0).any()) or std is not None and bool((std != 1).any())):
            raise ValueError('MultiBackboneReIDModel: the data preprocessor must not normalise '
                             '(mean=(0, 0, 0), std=(1, 1, 1)); each encoder normalises its own '
                             'input (backbones.<name>.mean / std)')

    def backbone_kwargs(self, name: str, inputs: torch.Tensor,
                        data_samples: Optional[List[ReIDDataSample]] = None) -> dict:
        """Forward keyword arguments of backbone ``name`` (``camids`` for SIE backbones)."""
        return camera_kwargs(self.backbones[name], inputs, data_samples)

    def encoder_images(self, inputs: torch.Tensor) -> Dict[str, torch.Tensor]:
        """Each encoder's input: the batch resized and normalised its own way."""
        return {name: adapt(inputs) for name, adapt in self.encoder_inputs.items()}

    def extract_feat(self, inputs: torch.Tensor,
                     data_samples: Optional[List[ReIDDataSample]] = None):
        """Every backbone on its own input, then the fusion neck on ``{name: output}``."""
        outputs = {name: self.backbones[name](x, **self.backbone_kwargs(name, x, data_samples))
                   for name, x in self.encoder_images(inputs).items()}
        return self.neck(outputs, data_samples=data_samples)
