"""SynergyReID (DeepSportradar player re-identification; Van Zandycke et al., "DeepSportradar-v1:
Computer Vision Dataset for Sports Understanding with High Quality Annotations", MMSports 2022).

Crops of basketball players, referees and coaches from 20-frame sequences of professional games:
436 training ids (8,569 images); test split 50 queries (the first frame of a sequence) and 910
gallery images (frames 2..20 of the same sequences), 50 ids. File names ``<pid>_<seq>_<frame>.jpeg``
(person id, sequence, frame). There is no camera id: as the challenge toolkit does, the queries
are camera 0 and the gallery camera 1, so no gallery image is excluded from a query's ranking
(every sequence is seen by one broadcast camera). The challenge split (``reid_challenge/``) has
no identity labels and is not parsed.
"""
import os
import re
from pathlib import Path
from typing import List

from reidengine.registry import DATASETS
from .base_dataset import IMG_EXTENSIONS, BaseReIDDataset


@DATASETS.register_module()
class SynergyReID(BaseReIDDataset):
    """SynergyReID under ``<data_root>/synergyreid/`` (optionally inside ``data_reid/`` or
    ``synergyreid_data/``, the folders the toolkit's zip extracts to)."""

    dataset_dir = 'synergyreid'
    dataset_name = 'synergyreid'
    inner_dirs = ('data_reid', 'synergyreid_data', '.')
    split_dirs = dict(train='reid_training', query='reid_test/query', gallery='reid_test/gallery')
    layout_help = ('synergyreid/\n'
                   '  data_reid/                    (this level is optional; also synergyreid_data/)\n'
                   '    reid_training/       <pid>_<seq>_<frame>.jpeg ...   436 ids, 8,569 images\n'
                   '    reid_test/query/     <pid>_<seq>_<frame>.jpeg ...   50 images (first frames)\n'
                   '    reid_test/gallery/   <pid>_<seq>_<frame>.jpeg ...   910 images\n'
                   '    reid_challenge/      (unlabelled challenge set, not read)')
    name_pattern = r'^(?P<pid>\d+)_(?P<seq>\d+)_(?P<frame>\d+)\.'
    expected_name = "'<pid>_<sequence>_<frame>.jpeg', e.g. '123_4_1.jpeg'"
    num_cameras = 2  # 0 = query, 1 = gallery (no camera ids in the data)
    junk_pids = ()
    distractor_pids = ()

    def parse_folder(self, folder: Path, split: str) -> List[dict]:
        """Every image of ``folder``; camid 1 for the gallery, 0 otherwise."""
        pattern = re.compile(self.name_pattern)
        names = sorted(e.name for e in os.scandir(folder)
                       if e.name.lower().endswith(IMG_EXTENSIONS) and e.is_file())
        if not names:
            raise ValueError(f'{type(self).__name__}: the {split} split is empty: no images '
                             f'({", ".join(IMG_EXTENSIONS)}) in {folder}')
        camid = 1 if split == 'gallery' else 0
        items, skipped = [], 0
        for name in names:
            match = pattern.match(name)
            path = os.path.join(str(folder), name)
            if match is None:
                self.malformed(path, 'file name', self.expected_name)
                skipped += 1
                continue
            items.append(dict(img_path=path, pid=int(match['pid']), camid=camid))
        self.log_skipped(skipped, str(folder))
        return items
