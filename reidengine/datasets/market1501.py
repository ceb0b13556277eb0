"""Market-1501 (Zheng et al., "Scalable Person Re-identification: A Benchmark", ICCV 2015, Sec. 3).

751 training ids (12,936 images), 3,368 queries, 19,732 gallery images, 6 cameras. File names
``<pid>_c<cam>s<seq>_<frame>_<box>.jpg``; in the gallery pid ``-1`` marks junk and ``0000`` distractors.
"""
from reidengine.registry import DATASETS
from .base_dataset import BaseReIDDataset


@DATASETS.register_module()
class Market1501(BaseReIDDataset):
    """Market-1501 under ``<data_root>/market1501/`` (optionally inside ``Market-1501-v15.09.15/``)."""

    dataset_dir = 'market1501'
    dataset_name = 'market1501'
    inner_dirs = ('Market-1501-v15.09.15', '.')
    layout_help = ('market1501/\n'
                   '  Market-1501-v15.09.15/        (this level is optional)\n'
                   '    bounding_box_train/  0002_c1s1_000451_03.jpg ...\n'
                   '    query/               0001_c1s1_001051_00.jpg ...\n'
                   '    bounding_box_test/   0001_c1s1_001051_03.jpg, 0000_... (distractors), -1_... (junk)')
    name_pattern = r'^(?P<pid>-1|\d+)_c(?P<cam>\d+)s\d+_'
    expected_name = "'<pid>_c<cam>s<seq>_<frame>_<box>.jpg', e.g. '0002_c1s1_000451_03.jpg' (pid -1: junk)"
    num_cameras = 6
    junk_pids = (-1, )
    distractor_pids = (0, )
