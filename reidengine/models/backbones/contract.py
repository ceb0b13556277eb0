"""The backbone contract, checked in one place (see the package docstring)."""
from typing import Sequence

from torch import nn


def check_backbone(backbone: nn.Module, required: Sequence[str] = ('grid_size', 'num_prefix_tokens'),
                   owner: str = 'model') -> None:
    """Raise a ``TypeError`` naming every attribute of the contract that ``backbone`` lacks."""
    missing = [name for name in required if not hasattr(backbone, name)]
    if missing:
        raise TypeError(f'{owner}: backbone {type(backbone).__name__} lacks {missing} of the backbone '
                        'contract (reidengine.models.backbones); expected a backbone that has them, '
                        'e.g. ViTReID for token attributes')
