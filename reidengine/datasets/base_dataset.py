"""Base class of the ReID image datasets: folder discovery, file-name parsing, split protocol.

Implements the single-dataset evaluation protocol of the ReID benchmarks (Zheng et al., "Scalable Person
Re-identification: A Benchmark", ICCV 2015, Sec. 3): the training identities are relabelled to 0..P-1;
query and gallery keep their raw ids, and the gallery keeps its junk images (pid -1, ignored by the
metric) and distractors (pid 0, counted as negatives). Camera ids are 0-based everywhere.

The default :meth:`BaseReIDDataset.parse_split` reads the layout most benchmarks share: one folder per
split (``bounding_box_train``, ``query``, ``bounding_box_test``) of images named ``<pid>_c<cam>...``.
A dataset with another layout overrides ``parse_split`` (see ``MSMT17``).
"""
import logging
import os
import re
import textwrap
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np
from mmengine.dataset import BaseDataset
from mmengine.logging import print_log

from reidengine.registry import DATASETS
from .data_root import DATA_ROOT_ENV, resolve_data_root

SPLITS = ('train', 'query', 'gallery', 'test')
IMG_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp')


class DatasetNotFoundError(FileNotFoundError):
    """A dataset folder, split folder or list file is missing."""


class LabelArraysMixin:
    """``get_pids()`` / ``get_domains()`` as cached int64 arrays, for the identity samplers.

    The cache is filled on first use from ``get_data_info`` and dropped when the dataset is sliced.
    """

    def _label_array(self, key: str) -> np.ndarray:
        cache = self.__dict__.setdefault('_label_cache', {})
        if key not in cache:
            n = len(self)
            cache[key] = np.fromiter((self.get_data_info(i)[key] for i in range(n)), dtype=np.int64, count=n)
        return cache[key]

    def get_pids(self) -> np.ndarray:
        """The person id of every item, in dataset order (relabelled 0..P-1 for training data)."""
        return self._label_array('pid')

    def get_domains(self) -> np.ndarray:
        """The domain (index of the source dataset) of every item, in dataset order."""
        return self._label_array('domain')

    def get_subset_(self, indices):
        self.__dict__.pop('_label_cache', None)
        return super().get_subset_(indices)

    def get_subset(self, indices):
        subset = super().get_subset(indices)
        subset.__dict__.pop('_label_cache', None)
        return subset


@DATASETS.register_module()
class BaseReIDDataset(LabelArraysMixin, BaseDataset):
    """A ReID dataset of one split, found as ``<data_root>/<dataset_dir>/<inner dir>``.

    Args:
        data_root: folder holding the datasets; None: ``$REID_DATA_ROOT``, else ``<repo>/data``.
        split: ``'train'``, ``'query'``, ``'gallery'`` or ``'test'`` (query items then gallery items,
            each with ``is_query``).
        domain: domain label written into every item (the source index in multi-source training).
        pipeline: transforms applied to each item.
        test_mode: MMEngine's test mode; None means ``split != 'train'``.
        dataset_dir: overrides the class's folder name under the data root ('' = the data root itself).
        skip_malformed: skip (and count in the log) files whose names do not follow the dataset's
            naming, instead of raising an error.
        **kwargs: passed to :class:`mmengine.dataset.BaseDataset` (``indices``, ``serialize_data``,
            ``lazy_init``, ``metainfo``, ...).

    Items: ``dict(img_path, pid, camid, domain)`` (+ ``is_query`` outside the train split).
    Metainfo after loading: ``dataset_name``, ``split``, ``num_pids`` (train: relabelled ids; test
    splits: distinct ids without junk and distractors), ``num_cams``, ``num_query`` (query/test splits).
    """

    dataset_dir: str = ''
    dataset_name: str = 'reid'
    layout_help: str = ('<dataset_dir>/\n'
                        '  bounding_box_train/  0002_c1_xxx.jpg ...\n'
                        '  query/\n'
                        '  bounding_box_test/')
    # sub-folders of dataset_dir tried in order ('.' = dataset_dir itself)
    inner_dirs: Sequence[str] = ('.', )
    split_dirs: Dict[str, str] = dict(train='bounding_box_train', query='query', gallery='bounding_box_test')
    # file names: groups ``pid`` and ``cam`` (camera ids are 1-based in file names)
    name_pattern: str = r'^(?P<pid>-1|\d+)_c(?P<cam>\d+)'
    expected_name: str = "'<pid>_c<cam>...', e.g. '0002_c1_000451.jpg'"
    # number of cameras of the dataset (file names use c1..cN); None: unknown, taken from the data
    num_cameras: Optional[int] = None
    junk_pids: Sequence[int] = (-1, )
    distractor_pids: Sequence[int] = (0, )

    def __init__(self,
                 data_root: Optional[str] = None,
                 split: str = 'train',
                 domain: int = 0,
                 pipeline: Sequence = (),
                 test_mode: Optional[bool] = None,
                 dataset_dir: Optional[str] = None,
                 skip_malformed: bool = False,
                 **kwargs):
        if split not in SPLITS:
            raise ValueError(f'{type(self).__name__}: split must be one of {SPLITS}, got {split!r}')
        if not isinstance(domain, int) or domain < 0:
            raise ValueError(f'{type(self).__name__}: domain must be an int >= 0, got {domain!r}')
        self.split = split
        self.domain = domain
        self.skip_malformed = skip_malformed
        if dataset_dir is not None:
            self.dataset_dir = dataset_dir
        self.root = resolve_data_root(data_root)
        self.dataset_path: Optional[Path] = None
        if test_mode is None:
            test_mode = split != 'train'
        super().__init__(data_root=str(self.root), data_prefix=dict(), pipeline=list(pipeline),
                         test_mode=test_mode, **kwargs)

    # ------------------------------------------------------------------ locating the dataset
    def candidate_dirs(self) -> List[Path]:
        """The folders that may hold the dataset, in the order they are tried."""
        return [self.root / self.dataset_dir / inner for inner in self.inner_dirs]

    def looks_like_dataset(self, path: Path) -> bool:
        """Whether ``path`` holds this dataset (default: at least one of its split folders)."""
        return path.is_dir() and any((path / d).is_dir() for d in self.split_dirs.values())

    def locate(self) -> Path:
        """The first candidate folder that holds the dataset; a clear error if there is none."""
        candidates = self.candidate_dirs()
        for path in candidates:
            if self.looks_like_dataset(path):
                return path
        raise DatasetNotFoundError(self.not_found_message(candidates, 'dataset folder'))

    def not_found_message(self, looked_at: Sequence[Path], what: str) -> str:
        env = os.environ.get(DATA_ROOT_ENV)
        env_now = f'now {env!r}' if env else 'now unset'
        return (f'{type(self).__name__}: {what} not found. Looked at:\n'
                + ''.join(f'  {p}\n' for p in looked_at)
                + f'Expected layout under the data root ({self.root}):\n'
                + textwrap.indent(self.layout_help, '  ') + '\n'
                + 'Point the config at your copy with `data_root=...` (and `dataset_dir=...` if its folder is '
                f'named differently), or set the environment variable {DATA_ROOT_ENV} ({env_now}); '
                'see docs/datasets.md. No dataset at hand? The synthetic SynthReID dataset is generated '
                'on the fly and needs no download: see configs/demo/.')

    # ------------------------------------------------------------------ parsing
    def parse_split(self, split: str) -> List[dict]:
        """Items ``dict(img_path, pid, camid)`` of ``'train'``, ``'query'`` or ``'gallery'``, raw pids,
        0-based camids. Default: the images of the folder ``split_dirs[split]``."""
        folder = self.dataset_path / self.split_dirs[split]
        if not folder.is_dir():
            raise DatasetNotFoundError(self.not_found_message([folder], f'{split} folder'))
        return self.parse_folder(folder, split)

    def parse_folder(self, folder: Path, split: str) -> List[dict]:
        """Parse every image file of ``folder`` with ``name_pattern`` (other files are ignored)."""
        pattern = re.compile(self.name_pattern)
        names = sorted(e.name for e in os.scandir(folder)
                       if e.name.lower().endswith(IMG_EXTENSIONS) and e.is_file())
        if not names:
            raise ValueError(f'{type(self).__name__}: the {split} split is empty: no images '
                             f'({", ".join(IMG_EXTENSIONS)}) in {folder}')
        items, skipped, prefix = [], 0, str(folder)
        for name in names:
            match = pattern.match(name)
            if match is None:
                self.malformed(os.path.join(prefix, name), 'file name', self.expected_name)
                skipped += 1
                continue
            items.append(dict(img_path=os.path.join(prefix, name), pid=int(match['pid']), camid=int(match['cam']) - 1))
        self.log_skipped(skipped, str(folder))
        return items

    def malformed(self, where: str, what: str, expected: str) -> None:
        """Raise for a malformed name / line, unless ``skip_malformed`` (then the caller counts it)."""
        if not self.skip_malformed:
            raise ValueError(f'{type(self).__name__}: malformed {what} {where}: expected {expected}. '
                             'Pass skip_malformed=True to skip such entries.')

    def log_skipped(self, count: int, where: str) -> None:
        if count:
            print_log(f'{type(self).__name__}: skipped {count} malformed entries in {where}',
                      logger='current', level=logging.WARNING)

    # ------------------------------------------------------------------ split protocol
    def check_cameras(self, items: List[dict]) -> None:
        for item in items:
            cam = item['camid']
            if cam < 0 or (self.num_cameras is not None and cam >= self.num_cameras):
                known = f'c1..c{self.num_cameras}' if self.num_cameras else 'c1 or above'
                raise ValueError(f'{type(self).__name__}: {item["img_path"]}: camera c{cam + 1} is outside '
                                 f'the cameras of {self.dataset_name} ({known})')

    def load_split(self, split: str) -> List[dict]:
        """``parse_split`` + camera check; junk and distractors dropped outside the gallery."""
        items = self.parse_split(split)
        self.check_cameras(items)
        if split != 'gallery':
            unusable = set(self.junk_pids) | set(self.distractor_pids)
            kept = [it for it in items if it['pid'] not in unusable]
            if len(kept) < len(items):
                print_log(f'{type(self).__name__}: dropped {len(items) - len(kept)} junk/distractor images '
                          f'(pids {sorted(unusable)}) from the {split} split', logger='current')
            items = kept
        if not items:
            raise ValueError(f'{type(self).__name__}: the {split} split of {self.dataset_path} has no usable images')
        return items

    def load_data_list(self) -> List[dict]:
        self.dataset_path = self.locate()
        if self.split == 'train':
            items = self.load_split('train')
            pid2label = {pid: label for label, pid in enumerate(sorted({it['pid'] for it in items}))}
            for it in items:
                it['pid'] = pid2label[it['pid']]
            num_pids, num_query = len(pid2label), None
        elif self.split == 'test':
            query = [dict(it, is_query=True) for it in self.load_split('query')]
            gallery = [dict(it, is_query=False) for it in self.load_split('gallery')]
            items, num_query = query + gallery, len(query)
        else:
            is_query = self.split == 'query'
            items = [dict(it, is_query=is_query) for it in self.load_split(self.split)]
            num_query = len(items) if is_query else 0
        if self.split != 'train':
            num_pids = len({it['pid'] for it in items} - set(self.junk_pids) - set(self.distractor_pids))
        for it in items:
            it['domain'] = self.domain
        num_cams = self.num_cameras or max(it['camid'] for it in items) + 1
        self._metainfo.update(dataset_name=self.dataset_name, split=self.split, num_pids=num_pids,
                              num_cams=num_cams, dataset_path=str(self.dataset_path))
        if num_query is not None:
            self._metainfo['num_query'] = num_query
        print_log(f'{type(self).__name__} {self.split}: {len(items)} images, {num_pids} ids, '
                  f'{num_cams} cameras, from {self.dataset_path}', logger='current')
        return items
