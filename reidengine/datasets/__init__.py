"""Datasets: real-layout parsers, SynthReID, multi-source, transforms, samplers."""
from .base_dataset import BaseReIDDataset, DatasetNotFoundError
from .cuhk03np import CUHK03NP
from .custom_folder import CustomReIDFolder
from .data_root import resolve_data_root
from .dukemtmc import DukeMTMCreID
from .market1501 import Market1501
from .msmt17 import MSMT17
from .multi_source import MultiSourceDataset
from .occluded_duke import OccludedDuke
from .synergyreid import SynergyReID
from .own_data import ReIDCSVList, ReIDIdentityFolders
from . import samplers, synthreid, transforms  # noqa: F401

__all__ = [
    'BaseReIDDataset', 'DatasetNotFoundError', 'CUHK03NP', 'CustomReIDFolder', 'DukeMTMCreID', 'Market1501',
    'MSMT17', 'MultiSourceDataset', 'OccludedDuke', 'ReIDCSVList', 'ReIDIdentityFolders',
    'SynergyReID', 'resolve_data_root'
]
