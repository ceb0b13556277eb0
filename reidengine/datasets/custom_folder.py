"""A user's own ReID data in the Market-1501 layout (Zheng et al., ICCV 2015, Sec. 3): one folder per split,
images named ``<pid>_c<cam>...``, with configurable folder names and naming pattern."""
import re
from typing import Optional, Sequence

from reidengine.registry import DATASETS
from .base_dataset import BaseReIDDataset


@DATASETS.register_module()
class CustomReIDFolder(BaseReIDDataset):
    """Images in ``<data_root>/<dataset_dir>/{train_dir, query_dir, gallery_dir}``.

    Args:
        dataset_dir: folder under the data root ('' = the data root itself).
        train_dir, query_dir, gallery_dir: the split folders.
        name_pattern: regular expression matched at the start of each file name, with the named groups
            ``pid`` and ``cam`` (camera ids 1-based in the names).
        num_cameras: number of cameras (names use c1..cN); None: the largest camera id found.
        junk_pids: gallery ids ignored by the metric (dropped from train and query).
        distractor_pids: gallery-only ids with no query (dropped from train and query).
        dataset_name: name shown in logs and metainfo.
        **kwargs: see :class:`BaseReIDDataset` (``data_root``, ``split``, ``domain``, ``pipeline``, ...).
    """

    def __init__(self,
                 dataset_dir: str = '',
                 train_dir: str = 'bounding_box_train',
                 query_dir: str = 'query',
                 gallery_dir: str = 'bounding_box_test',
                 name_pattern: str = r'^(?P<pid>-1|\d+)_c(?P<cam>\d+)',
                 num_cameras: Optional[int] = None,
                 junk_pids: Sequence[int] = (-1, ),
                 distractor_pids: Sequence[int] = (0, ),
                 dataset_name: str = 'custom',
                 **kwargs):
        try:
            groups = re.compile(name_pattern).groupindex
        except re.error as err:
            raise ValueError(f'CustomReIDFolder: name_pattern {name_pattern!r} is not a valid regular '
                             f'expression: {err}') from err
        missing = [g for g in ('pid', 'cam') if g not in groups]
        if missing:
            raise ValueError(f'CustomReIDFolder: name_pattern {name_pattern!r} lacks the named group(s) '
                             + ', '.join(f'(?P<{g}>...)' for g in missing))
        if num_cameras is not None and num_cameras < 1:
            raise ValueError(f'CustomReIDFolder: num_cameras must be >= 1 or None, got {num_cameras!r}')
        self.split_dirs = dict(train=train_dir, query=query_dir, gallery=gallery_dir)
        self.name_pattern = name_pattern
        self.expected_name = f"the pattern '{name_pattern}' (groups pid and cam, cameras from 1)"
        self.num_cameras = num_cameras
        self.junk_pids = tuple(junk_pids)
        self.distractor_pids = tuple(distractor_pids)
        self.dataset_name = dataset_name
        self.layout_help = (f'{dataset_dir or "<data root>"}/\n'
                            f'  {train_dir}/  0001_c1_000001.jpg ...\n'
                            f'  {query_dir}/\n'
                            f'  {gallery_dir}/')
        super().__init__(dataset_dir=dataset_dir, **kwargs)
