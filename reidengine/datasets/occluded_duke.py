"""Occluded-DukeMTMC (Miao et al., "Pose-Guided Feature Alignment for Occluded Person
Re-Identification", ICCV 2019, Sec. 4.1): a re-split of DukeMTMC-reID with occluded queries.

702 training ids (15,618 images), 2,210 queries, 17,661 gallery images, 8 cameras; Duke file names.
"""
from reidengine.registry import DATASETS
from .base_dataset import BaseReIDDataset


@DATASETS.register_module()
class OccludedDuke(BaseReIDDataset):
    """Occluded-DukeMTMC under ``<data_root>/Occluded_Duke/``."""

    dataset_dir = 'Occluded_Duke'
    dataset_name = 'occluded_duke'
    inner_dirs = ('.', )
    layout_help = ('Occluded_Duke/\n'
                   '  bounding_box_train/  0001_c2_f0046182.jpg ...\n'
                   '  query/\n'
                   '  bounding_box_test/')
    name_pattern = r'^(?P<pid>\d+)_c(?P<cam>\d+)_'
    expected_name = "'<pid>_c<cam>_f<frame>.jpg', e.g. '0001_c2_f0046182.jpg'"
    num_cameras = 8
    junk_pids = ()
    distractor_pids = ()
