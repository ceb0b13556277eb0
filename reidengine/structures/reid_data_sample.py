"""The data-sample object that travels with every image: identity, camera, domain, path.

Meta fields (set once per image): ``pid`` (int, -1 junk, 0 distractor where the dataset has
them), ``camid`` (int, 0-based), ``domain`` (int, index of the source dataset), ``img_path`` (str),
``is_query`` (bool, test sets only). Data field: ``pred_feature`` (1-D tensor) set by ``predict``.
"""
from typing import List

import torch
from mmengine.structures import BaseDataElement


class ReIDDataSample(BaseDataElement):
    """Meta fields are read as attributes (``sample.pid``); ``pred_feature`` is a data field."""

    @property
    def pred_feature(self) -> torch.Tensor:
        return self._pred_feature

    @pred_feature.setter
    def pred_feature(self, value: torch.Tensor) -> None:
        self.set_field(value, '_pred_feature', dtype=torch.Tensor)

    @pred_feature.deleter
    def pred_feature(self) -> None:
        del self._pred_feature


def stack_meta(data_samples: List[ReIDDataSample], key: str, device=None) -> torch.Tensor:
    """Stack an integer meta field (``pid``, ``camid``, ``domain``) of a batch into a tensor."""
    return torch.tensor([s.metainfo[key] for s in data_samples], dtype=torch.long, device=device)
