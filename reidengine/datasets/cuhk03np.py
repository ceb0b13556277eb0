"""CUHK03-NP: CUHK03 (Li et al., CVPR 2014) under the new protocol of Zhong et al., "Re-ranking Person
Re-identification with k-reciprocal Encoding", CVPR 2017, Sec. 5.1.

767 training ids, 700 test ids, 2 cameras per id; detected subset 7,365 train / 1,400 query / 5,332 gallery
images, labeled subset 7,368 / 1,400 / 5,328. File names ``<pid>_c<cam>_<index>.png``.
"""
from reidengine.registry import DATASETS
from .base_dataset import BaseReIDDataset

SUBSETS = ('detected', 'labeled')


@DATASETS.register_module()
class CUHK03NP(BaseReIDDataset):
    """CUHK03-NP under ``<data_root>/cuhk03-np/<subset>/``.

    Args:
        subset: ``'detected'`` (DPM boxes, the usual choice in domain-generalisation protocols)
            or ``'labeled'`` (hand-drawn boxes).
    """

    dataset_dir = 'cuhk03-np'
    layout_help = ('cuhk03-np/\n'
                   '  detected/\n'
                   '    bounding_box_train/  0001_c1_1.png ...\n'
                   '    query/\n'
                   '    bounding_box_test/\n'
                   '  labeled/\n'
                   '    (same three folders)')
    name_pattern = r'^(?P<pid>\d+)_c(?P<cam>\d+)_'
    expected_name = "'<pid>_c<cam>_<index>.png', e.g. '0001_c1_1.png'"
    num_cameras = 2
    junk_pids = ()
    distractor_pids = ()

    def __init__(self, subset: str = 'detected', **kwargs):
        if subset not in SUBSETS:
            raise ValueError(f'CUHK03NP: subset must be one of {SUBSETS}, got {subset!r}')
        self.subset = subset
        self.inner_dirs = (subset, )
        self.dataset_name = f'cuhk03np_{subset}'
        super().__init__(**kwargs)
