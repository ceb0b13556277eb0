"""MSMT17 (Wei et al., "Person Transfer GAN to Bridge Domain Gap for Person Re-Identification", CVPR 2018,
Sec. 3): 1,041 training ids (32,621 images = list_train + list_val), 3,060 test ids (11,659 queries,
82,161 gallery images), 15 cameras.

The official release lists every split in a text file of lines ``<pid folder>/<image name> <pid>``,
e.g. ``0000/0000_000_01_0303morning_0015_0.jpg 0``; the camera is the third field of the image name.
V1 keeps the images in ``train/`` and ``test/``; V2 (faces blurred) in ``mask_train_v2/`` and ``mask_test_v2/``.
A folder-only copy (``bounding_box_train/``, ``query/``, ``bounding_box_test/``, no list files) is read
from the image names. Test ids restart at 0, so pid 0 is a real person here (no junk, no distractors).
"""
import os
import re
from pathlib import Path
from typing import List, Optional, Tuple

from reidengine.registry import DATASETS
from .base_dataset import BaseReIDDataset, DatasetNotFoundError

VERSION_DIRS = {'v1': ('MSMT17_V1', 'MSMT17'), 'v2': ('MSMT17_V2', )}
IMAGE_DIRS = {'v1': ('train', 'test'), 'v2': ('mask_train_v2', 'mask_test_v2')}
LIST_FILES = dict(train='list_train.txt', val='list_val.txt', query='list_query.txt', gallery='list_gallery.txt')
# '<pid>_<index>_<cam>_...' (official names) or '<pid>_c<cam>_...' (Market-style copies)
MSMT_NAME = r'^(?P<pid>\d+)_(?:c|\d+_)(?P<cam>\d+)_'


@DATASETS.register_module()
class MSMT17(BaseReIDDataset):
    """MSMT17 under ``<data_root>/msmt17/`` (inside ``MSMT17_V1/`` or ``MSMT17_V2/``, or directly).

    Args:
        version: ``'v1'``, ``'v2'`` or None to detect it from the folders (an error if both are present).
        include_val: add ``list_val.txt`` to the training split (the standard 32,621-image training set,
            as in the dataset paper and TransReID); False reads ``list_train.txt`` only (30,248 images).
    """

    dataset_dir = 'msmt17'
    dataset_name = 'msmt17'
    layout_help = ('msmt17/\n'
                   '  MSMT17_V1/                    (or MSMT17_V2/ with mask_train_v2/, mask_test_v2/)\n'
                   '    train/0000/0000_000_01_0303morning_0015_0.jpg ...\n'
                   '    test/0000/0000_000_01_0303morning_0035_0.jpg ...\n'
                   '    list_train.txt  list_val.txt  list_query.txt  list_gallery.txt\n'
                   '                    (lines like "0000/0000_000_01_0303morning_0015_0.jpg 0")\n'
                   '  or a folder-only copy: bounding_box_train/  query/  bounding_box_test/')
    name_pattern = MSMT_NAME
    expected_name = ("'<pid>_<index>_<cam>_<date><time>_<frame>_<box>.jpg', e.g. "
                     "'0000_000_01_0303morning_0015_0.jpg' (or '<pid>_c<cam>_...')")
    num_cameras = 15
    junk_pids = ()
    distractor_pids = ()

    def __init__(self, version: Optional[str] = None, include_val: bool = True, **kwargs):
        if version not in (None, 'v1', 'v2'):
            raise ValueError(f"MSMT17: version must be 'v1', 'v2' or None (detect), got {version!r}")
        self.version = version
        self.include_val = include_val
        self.layout: Optional[str] = None  # 'lists' or 'folders', set by locate()
        super().__init__(**kwargs)

    # ------------------------------------------------------------------ locating
    def _versions(self) -> Tuple[str, ...]:
        return (self.version, ) if self.version else ('v1', 'v2')

    def candidate_dirs(self) -> List[Path]:
        base = self.root / self.dataset_dir
        return [base / name for v in self._versions() for name in VERSION_DIRS[v]] + [base]

    def detect(self, path: Path) -> Optional[Tuple[Optional[str], str]]:
        """(version or None if unknown, 'lists' | 'folders') of the copy in ``path``; None if there is none."""
        if not path.is_dir():
            return None
        if (path / LIST_FILES['train']).is_file() or (path / LIST_FILES['query']).is_file():
            for v in self._versions():
                if all((path / d).is_dir() for d in IMAGE_DIRS[v]):
                    return v, 'lists'
        if any((path / d).is_dir() for d in self.split_dirs.values()):
            named = [v for v in self._versions() if path.name in VERSION_DIRS[v]]
            return (named[0] if named else self.version), 'folders'
        return None

    def looks_like_dataset(self, path: Path) -> bool:
        return self.detect(path) is not None

    def locate(self) -> Path:
        found = [(path, self.detect(path)) for path in self.candidate_dirs()]
        found = [(path, det) for path, det in found if det is not None]
        if not found:
            raise DatasetNotFoundError(self.not_found_message(self.candidate_dirs(), 'dataset folder'))
        versions = {det[0] for _, det in found if det[0] is not None}
        if len(versions) > 1:
            raise ValueError('MSMT17: found both versions ('
                             + ', '.join(f'{det[0]}: {path}' for path, det in found)
                             + "); choose one with version='v1' or version='v2'")
        path, (self.detected_version, self.layout) = found[0]
        return path

    # ------------------------------------------------------------------ parsing
    def parse_split(self, split: str) -> List[dict]:
        if self.layout == 'folders':
            return super().parse_split(split)
        train_dir, test_dir = IMAGE_DIRS[self.detected_version]
        if split == 'train':
            items = self.parse_list(self.dataset_path / train_dir, LIST_FILES['train'], split)
            if self.include_val:
                items += self.parse_list(self.dataset_path / train_dir, LIST_FILES['val'], split)
            return items
        return self.parse_list(self.dataset_path / test_dir, LIST_FILES[split], split)

    def parse_list(self, image_dir: Path, list_name: str, split: str) -> List[dict]:
        """Read ``<relative image path> <pid>`` lines; the camera comes from the image name."""
        list_file = self.dataset_path / list_name
        if not list_file.is_file():
            raise DatasetNotFoundError(self.not_found_message([list_file], f'list file {list_name}'))
        pattern = re.compile(MSMT_NAME)
        expected = f'"<pid folder>/<image name> <pid>" with image names {self.expected_name}'
        items, skipped, prefix = [], 0, str(image_dir)
        for lineno, line in enumerate(list_file.read_text().splitlines(), start=1):
            if not line.strip():
                continue
            fields = line.split()
            match = pattern.match(os.path.basename(fields[0])) if len(fields) == 2 else None
            if match is None or not fields[1].isdigit():
                self.malformed(f'{list_file}, line {lineno}: {line!r}', 'line', expected)
                skipped += 1
                continue
            items.append(dict(img_path=os.path.join(prefix, fields[0]), pid=int(fields[1]),
                              camid=int(match['cam']) - 1))
        self.log_skipped(skipped, str(list_file))
        if not items:
            raise ValueError(f'MSMT17: the {split} split is empty: {list_file} lists no images')
        first = Path(items[0]['img_path'])
        if not first.is_file():
            raise DatasetNotFoundError(
                f'MSMT17: {list_file} lists {first}, which does not exist: the image folder {image_dir} does not '
                'match the list file (V1 keeps images in train/ and test/, V2 in mask_train_v2/ and mask_test_v2/)')
        return items

    def load_data_list(self) -> List[dict]:
        items = super().load_data_list()
        self._metainfo.update(version=self.detected_version, layout=self.layout)
        return items
