"""The ReID model: composable backbone -> neck -> head (losses live in the head).

Modes (mmengine ``BaseModel``): ``loss`` returns a dict of losses, ``predict`` returns the data
samples with ``pred_feature`` set, ``tensor`` returns the head's test feature tensor.
Test-time flip (``test_cfg=dict(flip=True)``) averages the features of the image and its mirror.
"""
from typing import Dict, List, Optional, Union

import torch
from mmengine.model import BaseModel

from reidengine.registry import MODELS
from reidengine.structures import ReIDDataSample, stack_meta


def camera_kwargs(backbone, inputs: torch.Tensor,
                  data_samples: Optional[List[ReIDDataSample]]) -> dict:
    """``dict(camids=(B,) LongTensor)`` for a backbone with ``uses_camera``, else ``{}``."""
    if not getattr(backbone, 'uses_camera', False):
        return {}
    if data_samples is None:
        raise ValueError(f'{type(backbone).__name__} uses camera ids (SIE) but no data samples '
                         'were given')
    return dict(camids=stack_meta(data_samples, 'camid', device=inputs.device))


@MODELS.register_module()
class ReIDModel(BaseModel):
    """Backbone -> (neck) -> head.

    Args:
        backbone: config of the backbone (the contract: ``reidengine.models.backbones``). It is
            called with ``backbone_kwargs()``: ``camids=`` from the data samples when its
            ``uses_camera`` is true (ViT with SIE). None only for subclasses that build their
            own (``MultiBackboneReIDModel``).
        neck: optional config of the neck (pooling, token selection).
        head: config of the head; it implements ``loss(feats, data_samples)`` and
            ``predict(feats, data_samples)``.
        data_preprocessor: defaults to ``ReIDDataPreprocessor``.
        test_cfg: ``dict(flip=bool)``.
    """

    def __init__(self,
                 backbone: dict,
                 head: dict,
                 neck: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 test_cfg: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        if data_preprocessor is None:
            data_preprocessor = dict(type='ReIDDataPreprocessor')
        if isinstance(data_preprocessor, dict):
            data_preprocessor = MODELS.build(data_preprocessor)
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.backbone = MODELS.build(backbone) if backbone is not None else None
        self.neck = MODELS.build(neck) if neck is not None else None
        self.head = MODELS.build(head)
        self.test_cfg = dict(test_cfg or {})

    def backbone_kwargs(self, inputs: torch.Tensor,
                        data_samples: Optional[List[ReIDDataSample]] = None) -> dict:
        """Keyword arguments of the backbone's forward taken from the data samples.

        Default: ``camids`` (B,) for a backbone whose ``uses_camera`` is true (SIE). A plugin
        overrides this (PAT adds its attention mask) instead of copying ``extract_feat``.
        """
        return camera_kwargs(self.backbone, inputs, data_samples)

    def extract_feat(self, inputs: torch.Tensor,
                     data_samples: Optional[List[ReIDDataSample]] = None):
        """Backbone (with ``backbone_kwargs``) then neck."""
        x = self.backbone(inputs, **self.backbone_kwargs(inputs, data_samples))
        if self.neck is not None:
            x = self.neck(x)
        return x

    def forward(self,
                inputs: torch.Tensor,
                data_samples: Optional[List[ReIDDataSample]] = None,
                mode: str = 'tensor') -> Union[Dict[str, torch.Tensor], list, torch.Tensor]:
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            return self.head(self.extract_feat(inputs, data_samples))
        raise ValueError(f'Invalid mode "{mode}": expected "loss", "predict" or "tensor"')

    def loss(self, inputs: torch.Tensor, data_samples: List[ReIDDataSample]) -> dict:
        feats = self.extract_feat(inputs, data_samples)
        return self.head.loss(feats, data_samples)

    def predict(self, inputs: torch.Tensor,
                data_samples: Optional[List[ReIDDataSample]] = None) -> List[ReIDDataSample]:
        if data_samples is None:
            data_samples = [ReIDDataSample() for _ in range(inputs.shape[0])]
        feats = self.head(self.extract_feat(inputs, data_samples))
        if self.test_cfg.get('flip', False):
            feats = (feats + self.head(self.extract_feat(inputs.flip(-1), data_samples))) / 2
        for sample, feat in zip(data_samples, feats):
            sample.pred_feature = feat.detach()
        return data_samples
