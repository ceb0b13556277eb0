"""A user's own ReID data: one folder per identity, or CSV lists (path, pid, camid).

Both give the split protocol of :class:`BaseReIDDataset` (training ids relabelled 0..P-1, query
and gallery keep theirs, gallery junk pid -1 and distractors pid 0).

Data without camera ids (a documented protocol of its own): every item gets camid 0 and the
metainfo ``has_cameras=False``; ``ReIDMetric`` then switches the same-camera filter off (every
gallery image of the query's identity counts as a true match, so a user's own gallery works), which
also means the same image must not be both a query and a gallery item. Camera embeddings (SIE)
see every image as camera 0; the CUHK03 single-gallery-shot CMC, which needs cameras, raises.
"""
import csv
import os
import re
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from reidengine.registry import DATASETS
from .base_dataset import IMG_EXTENSIONS, BaseReIDDataset, DatasetNotFoundError

JUNK_FOLDER, DISTRACTOR_FOLDER = 'junk', 'distractors'


class OwnDataMixin:
    """``has_cameras`` in the metainfo; a clear message when a test set lacks query or gallery."""

    has_cameras: bool = True

    def load_data_list(self) -> List[dict]:
        items = super().load_data_list()
        self._metainfo['has_cameras'] = self.has_cameras
        return items

    def missing_split(self, split: str, where: Path) -> DatasetNotFoundError:
        hint = ''
        if split in ('query', 'gallery'):
            hint = ('\nEvaluation needs a labelled query AND gallery. To rank an unlabelled gallery, '
                    'use tools/extract_features.py and tools/search.py instead.')
        return DatasetNotFoundError(self.not_found_message([where], f'{split} split') + hint)


@DATASETS.register_module()
class ReIDIdentityFolders(OwnDataMixin, BaseReIDDataset):
    """``<data_root>/<dataset_dir>/<split folder>/<identity>/<image>``: one folder per identity.

    Identity folders named with a positive integer keep it as pid; other names get ids above the
    largest integer one, in sorted name order over all splits (so a query and a gallery folder of
    the same name share the id). A gallery folder named ``junk`` holds junk images (pid -1, ignored
    by the metric), one named ``distractors`` distractors (pid 0, counted as wrong matches).

    Args:
        train_dir, query_dir, gallery_dir: the split folders.
        cam_pattern: regular expression searched in each file name with a group ``cam`` (1-based
            camera id, as Market's ``c3``), e.g. ``r'_c(?P<cam>\\d+)'``; None: no camera ids.
        dataset_name: name shown in logs and metainfo.
        **kwargs: see :class:`BaseReIDDataset`.
    """

    def __init__(self, dataset_dir: str = '', train_dir: str = 'train', query_dir: str = 'query',
                 gallery_dir: str = 'gallery', cam_pattern: Optional[str] = None,
                 dataset_name: str = 'identity_folders', **kwargs):
        self.split_dirs = dict(train=train_dir, query=query_dir, gallery=gallery_dir)
        self.cam_regex = None
        if cam_pattern is not None:
            try:
                self.cam_regex = re.compile(cam_pattern)
            except re.error as err:
                raise ValueError(f'ReIDIdentityFolders: cam_pattern {cam_pattern!r} is not a valid '
                                 f'regular expression: {err}') from err
            if 'cam' not in self.cam_regex.groupindex:
                raise ValueError(f'ReIDIdentityFolders: cam_pattern {cam_pattern!r} lacks the named '
                                 'group (?P<cam>...)')
        self.has_cameras = cam_pattern is not None
        self.dataset_name = dataset_name
        self.layout_help = (f'{dataset_dir or "<data root>"}/\n'
                            f'  {train_dir}/<identity>/<image>.jpg ...\n'
                            f'  {query_dir}/<identity>/...\n'
                            f'  {gallery_dir}/<identity>/...  (+ optional {JUNK_FOLDER}/, '
                            f'{DISTRACTOR_FOLDER}/)')
        self._name_ids: Optional[Dict[str, int]] = None
        super().__init__(dataset_dir=dataset_dir, **kwargs)

    def identity_ids(self) -> Dict[str, int]:
        """Folder name -> pid, one mapping over every split folder."""
        if self._name_ids is None:
            names = set()
            for sub in self.split_dirs.values():
                folder = self.dataset_path / sub
                if folder.is_dir():
                    names.update(e.name for e in os.scandir(folder) if e.is_dir())
            names -= {JUNK_FOLDER, DISTRACTOR_FOLDER}
            numeric = {n: int(n) for n in names if n.isdigit() and int(n) > 0}
            start = max(numeric.values(), default=0) + 1
            others = sorted(names - set(numeric))
            self._name_ids = dict(numeric, **{n: start + i for i, n in enumerate(others)})
            self._name_ids.update({JUNK_FOLDER: -1, DISTRACTOR_FOLDER: 0})
        return self._name_ids

    def parse_split(self, split: str) -> List[dict]:
        folder = self.dataset_path / self.split_dirs[split]
        if not folder.is_dir():
            raise self.missing_split(split, folder)
        ids = self.identity_ids()
        items = []
        for ident in sorted(e.name for e in os.scandir(folder) if e.is_dir()):
            if ident in (JUNK_FOLDER, DISTRACTOR_FOLDER) and split != 'gallery':
                raise ValueError(f'ReIDIdentityFolders: {folder / ident}: {ident}/ is only allowed '
                                 'in the gallery')
            for name in sorted(os.listdir(folder / ident)):
                if not name.lower().endswith(IMG_EXTENSIONS):
                    continue
                path = str(folder / ident / name)
                items.append(dict(img_path=path, pid=ids[ident], camid=self.camera_of(path, name)))
        if not items:
            raise ValueError(f'ReIDIdentityFolders: the {split} split is empty: no identity folder '
                             f'with images ({", ".join(IMG_EXTENSIONS)}) in {folder}')
        return items

    def camera_of(self, path: str, name: str) -> int:
        if self.cam_regex is None:
            return 0
        match = self.cam_regex.search(name)
        if match is None:
            raise ValueError(f'ReIDIdentityFolders: {path}: no camera id matching cam_pattern '
                             f'{self.cam_regex.pattern!r} in the file name (cam_pattern=None for '
                             'data without cameras)')
        return int(match['cam']) - 1


@DATASETS.register_module()
class ReIDCSVList(OwnDataMixin, BaseReIDDataset):
    """CSV lists with a header ``path,pid[,camid]``, one file per split.

    Paths are relative to the list's folder (``<data_root>/<dataset_dir>``) or absolute; pids are
    integers (-1 junk, 0 distractor in the gallery); camids 0-based integers. Without a ``camid``
    column in every list, the data have no camera ids (see the module docstring).

    Args:
        train_list, query_list, gallery_list: the CSV files (relative to the dataset folder).
        dataset_name: name shown in logs and metainfo.
        **kwargs: see :class:`BaseReIDDataset`.
    """

    def __init__(self, dataset_dir: str = '', train_list: str = 'train.csv',
                 query_list: str = 'query.csv', gallery_list: str = 'gallery.csv',
                 dataset_name: str = 'csv_list', **kwargs):
        self.split_dirs = dict(train=train_list, query=query_list, gallery=gallery_list)
        self.dataset_name = dataset_name
        self.layout_help = (f'{dataset_dir or "<data root>"}/\n'
                            f'  {train_list}    path,pid,camid\n'
                            f'  {query_list}          images/0001_a.jpg,1,0\n'
                            f'  {gallery_list}  (camid column optional: data without cameras)')
        self._columns: Dict[str, bool] = {}
        super().__init__(dataset_dir=dataset_dir, **kwargs)

    def looks_like_dataset(self, path: Path) -> bool:
        return path.is_dir() and any((path / f).is_file() for f in self.split_dirs.values())

    def load_data_list(self) -> List[dict]:
        self.dataset_path = self.locate()
        needed = ['train'] if self.split == 'train' else \
            (['query', 'gallery'] if self.split == 'test' else [self.split])
        cams = {self.read_header(s) for s in needed}
        if len(cams) > 1:
            raise ValueError(f'ReIDCSVList: the lists of {self.dataset_path} disagree on the camid '
                             'column: give it in every list or in none')
        self.has_cameras = cams.pop()
        return super().load_data_list()

    def read_header(self, split: str) -> bool:
        path = self.dataset_path / self.split_dirs[split]
        if not path.is_file():
            raise self.missing_split(split, path)
        with open(path, newline='') as f:
            header = [h.strip() for h in next(csv.reader(f), [])]
        missing = [c for c in ('path', 'pid') if c not in header]
        if missing:
            raise ValueError(f'ReIDCSVList: {path}: the first line must be a header with the '
                             f'columns path,pid[,camid]; {missing} missing (got {header})')
        return 'camid' in header

    def parse_split(self, split: str) -> List[dict]:
        path = self.dataset_path / self.split_dirs[split]
        items, skipped = [], 0
        with open(path, newline='') as f:
            for line_no, row in enumerate(csv.DictReader(f), 2):
                where = f'{path}:{line_no}'
                try:
                    pid = int(row['pid'])
                    camid = int(row['camid']) if self.has_cameras else 0
                    img = row['path'].strip()
                    if not img or camid < 0:
                        raise ValueError
                except (TypeError, ValueError):
                    self.malformed(where, 'line', 'path,pid[,camid] with an image path, an integer pid '
                                   f'and a 0-based integer camid, got {dict(row)}')
                    skipped += 1
                    continue
                full = img if os.path.isabs(img) else str(self.dataset_path / img)
                items.append(dict(img_path=full, pid=pid, camid=camid))
        self.log_skipped(skipped, str(path))
        if not items:
            raise ValueError(f'ReIDCSVList: the {split} list {path} has no entries')
        return items

    def check_cameras(self, items: Sequence[dict]) -> None:
        for item in items:
            if not os.path.isfile(item['img_path']):
                raise DatasetNotFoundError(f'ReIDCSVList: image {item["img_path"]} listed in the '
                                           f'{self.split} list(s) of {self.dataset_path} does not exist')
