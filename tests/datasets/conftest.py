"""Generators of tiny dataset trees with the real file naming of each ReID benchmark.

Images are blank 8x4 JPEG/PNG files (the parsers read names, not pixels). Each ``*_SPEC`` maps a folder
(relative to the data root) to its file names; the tests state their expectations by hand from these specs.
"""
import gc
from pathlib import Path
from typing import Dict, List

import cv2
import numpy as np
import pytest

import reidengine.datasets  # noqa: F401  (imported before gc.freeze below)

# MMEngine's BaseDataset runs gc.collect() whenever it serialises a data list; with torch imported that takes
# 0.1-0.5 s per dataset. Freezing the objects that exist after the imports makes it fast in tests.
gc.freeze()

_BLANK = np.zeros((8, 4, 3), dtype=np.uint8)
_ENCODED = {ext: cv2.imencode(ext, _BLANK)[1].tobytes() for ext in ('.jpg', '.png')}


def write_tree(root: Path, spec: Dict[str, List[str]]) -> Path:
    """Create ``root/<folder>/<name>`` for every name; image names get a real tiny image."""
    for folder, names in spec.items():
        (root / folder).mkdir(parents=True, exist_ok=True)
        for name in names:
            path = root / folder / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(_ENCODED.get(path.suffix.lower(), b'not an image'))
    return root


MARKET_DIR = 'market1501/Market-1501-v15.09.15'
MARKET_SPEC = {
    f'{MARKET_DIR}/bounding_box_train': [
        '0002_c1s1_000451_03.jpg', '0002_c2s1_000301_01.jpg', '0007_c3s3_075694_02.jpg',
        '0011_c6s4_002202_01.jpg', '0011_c5s1_000001_00.jpg', 'Thumbs.db'
    ],
    f'{MARKET_DIR}/query': ['0001_c1s1_001051_00.jpg', '0003_c4s6_015641_00.jpg'],
    f'{MARKET_DIR}/bounding_box_test': [
        '0001_c2s1_000301_02.jpg', '0001_c1s1_001051_03.jpg', '0003_c1s1_000976_01.jpg',
        '0000_c3s2_000211_05.jpg', '-1_c1s1_000401_07.jpg'
    ],
}

DUKE_DIR = 'dukemtmc-reid/DukeMTMC-reID'
DUKE_SPEC = {
    f'{DUKE_DIR}/bounding_box_train':
    ['0001_c2_f0046182.jpg', '0001_c5_f0051781.jpg', '0005_c8_f0000123.jpg', '0008_c1_f0012345.jpg'],
    f'{DUKE_DIR}/query': ['0012_c3_f0000200.jpg'],
    f'{DUKE_DIR}/bounding_box_test': ['0012_c4_f0000300.jpg', '0013_c7_f0000400.jpg'],
}

OCC_DUKE_SPEC = {
    'Occluded_Duke/bounding_box_train': ['0002_c1_f0000001.jpg', '0004_c8_f0000002.jpg', '0004_c3_f0000003.jpg'],
    'Occluded_Duke/query': ['0010_c2_f0000004.jpg', '0011_c5_f0000005.jpg'],
    'Occluded_Duke/bounding_box_test': ['0010_c6_f0000006.jpg', '0011_c1_f0000007.jpg', '0015_c4_f0000008.jpg'],
}

CUHK03NP_SPEC = {
    'cuhk03-np/detected/bounding_box_train': ['0001_c1_1.png', '0001_c2_6.png', '0003_c1_2.png'],
    'cuhk03-np/detected/query': ['0005_c1_1.png'],
    'cuhk03-np/detected/bounding_box_test': ['0005_c2_6.png', '0006_c2_7.png'],
    'cuhk03-np/labeled/bounding_box_train': ['0001_c1_1.png', '0002_c2_7.png', '0003_c1_2.png', '0003_c2_8.png'],
    'cuhk03-np/labeled/query': ['0005_c2_6.png', '0006_c1_1.png'],
    'cuhk03-np/labeled/bounding_box_test': ['0005_c1_2.png'],
}

# MSMT17: (relative image path, pid) per list file; images live in <train|test image dir>/<relative path>
MSMT17_LISTS = {
    'list_train.txt': [('0000/0000_000_01_0303morning_0015_0.jpg', 0),
                       ('0000/0000_001_05_0303noon_0200_1.jpg', 0),
                       ('0003/0003_000_15_0303afternoon_0100_0.jpg', 3)],
    'list_val.txt': [('0001/0001_002_07_0304morning_0300_0.jpg', 1)],
    'list_query.txt': [('0000/0000_000_02_0113morning_0010_0.jpg', 0)],
    'list_gallery.txt': [('0000/0000_003_10_0113noon_0500_0.jpg', 0),
                         ('0002/0002_000_03_0113afternoon_0020_1.jpg', 2)],
}
MSMT17_IMAGE_DIRS = {'v1': ('MSMT17_V1', 'train', 'test'), 'v2': ('MSMT17_V2', 'mask_train_v2', 'mask_test_v2')}


def write_msmt17(root: Path, version: str, base: str = 'msmt17') -> Path:
    """An MSMT17 V1 or V2 copy with list files under ``root/<base>/MSMT17_V<n>``; returns that folder."""
    main, train_dir, test_dir = MSMT17_IMAGE_DIRS[version]
    folder = root / base / main
    for list_name, entries in MSMT17_LISTS.items():
        image_dir = train_dir if list_name in ('list_train.txt', 'list_val.txt') else test_dir
        for rel, _ in entries:
            write_tree(folder / image_dir, {str(Path(rel).parent): [Path(rel).name]})
        (folder / list_name).write_text(''.join(f'{rel} {pid}\n' for rel, pid in entries))
    return folder


@pytest.fixture
def market_root(tmp_path):
    return write_tree(tmp_path, MARKET_SPEC)


@pytest.fixture
def duke_root(tmp_path):
    return write_tree(tmp_path, DUKE_SPEC)


@pytest.fixture
def occluded_duke_root(tmp_path):
    return write_tree(tmp_path, OCC_DUKE_SPEC)


@pytest.fixture
def cuhk03np_root(tmp_path):
    return write_tree(tmp_path, CUHK03NP_SPEC)


@pytest.fixture
def all_datasets_root(tmp_path):
    for spec in (MARKET_SPEC, DUKE_SPEC, CUHK03NP_SPEC, OCC_DUKE_SPEC):
        write_tree(tmp_path, spec)
    write_msmt17(tmp_path, 'v1')
    return tmp_path


@pytest.fixture
def tree_writer():
    """``write_tree`` for tests that build their own trees."""
    return write_tree


@pytest.fixture
def msmt17_writer():
    return write_msmt17
