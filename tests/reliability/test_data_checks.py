"""Damaged images are found and named, before training with ``tools/check_dataset.py`` and while
loading, and killed SynthReID writers leave no temporary folders behind (reliability issue)."""
import os
import socket
import subprocess
import sys

import cv2
import numpy as np
import pytest
from reliability_utils import IMG_SIZE, run_tool, tiny_vit_config, tree_files, write_market

from reidengine.datasets.synthreid.generator import remove_stale_tmp_folders
from reidengine.datasets.transforms import LoadReIDImage
from reidengine.datasets.transforms.jpeg_check import jpeg_damage


def _jpeg(seed=0, size=(64, 32)) -> bytes:
    img = np.random.default_rng(seed).integers(0, 256, size + (3, ), dtype=np.uint8)
    return cv2.imencode('.jpg', img)[1].tobytes()


def _garble(data: bytes, start: float, stop: float, seed=0) -> bytes:
    """Random bytes over ``data[start * len : stop * len]``."""
    a, b = int(len(data) * start), int(len(data) * stop)
    noise = np.random.default_rng(seed).integers(0, 256, b - a, dtype=np.uint8).tobytes()
    return data[:a] + noise + data[b:]


def test_jpeg_check_accepts_sound_files_of_every_kind(tmp_path):
    from PIL import Image
    img = np.random.default_rng(1).integers(0, 256, (48, 24, 3), dtype=np.uint8)
    assert jpeg_damage(_jpeg()) is None
    assert jpeg_damage(cv2.imencode('.jpg', img, [cv2.IMWRITE_JPEG_PROGRESSIVE, 1])[1].tobytes()) \
        is None
    for options in (dict(), dict(progressive=True, optimize=True), dict(quality=95, subsampling=0)):
        Image.fromarray(img).save(tmp_path / 'p.jpg', 'JPEG', **options)
        assert jpeg_damage((tmp_path / 'p.jpg').read_bytes()) is None, options
    assert jpeg_damage(_jpeg() + b'trailing bytes after EOI') is None


def test_a_garbled_jpeg_decodes_silently_but_is_refused_naming_the_file(tmp_path):
    good = _jpeg()
    bad = _garble(good, 0.5, 0.9)  # the end-of-image marker is intact: only the data is garbled
    assert bad[-2:] == b'\xff\xd9'
    assert cv2.imdecode(np.frombuffer(bad, np.uint8), cv2.IMREAD_COLOR) is not None  # the trap
    assert 'invalid marker' in jpeg_damage(bad)
    assert 'truncated' in jpeg_damage(good[:len(good) // 2])
    path = tmp_path / '0001_c1s1_000001_00.jpg'
    path.write_bytes(bad)
    with pytest.raises(IOError, match=rf'cannot read image {path}: the JPEG data is corrupt at byte'):
        LoadReIDImage()(dict(img_path=str(path)))
    skip = LoadReIDImage(on_error='skip')  # the on_error policy applies
    assert skip(dict(img_path=str(path))) is None and skip.num_skipped == 1
    with pytest.raises(IOError):  # evaluation images are never skipped
        skip(dict(img_path=str(path), is_query=True))
    unchecked = LoadReIDImage(check_jpeg=False)(dict(img_path=str(path)))
    assert unchecked['img'].shape == (64, 32, 3)


def test_check_dataset_names_every_unreadable_image(tmp_path, capsys):
    write_market(tmp_path / 'data')
    cfg = tiny_vit_config(tmp_path / 'cfg.py', tmp_path / 'data')
    with pytest.raises(SystemExit) as stop:
        run_tool('check_dataset', cfg)
    out = capsys.readouterr().out
    assert stop.value.code == 0, out
    assert 'train_dataloader (market1501): 32 images, all readable' in out
    assert 'test_dataloader[0] (market1501): 24 images, all readable' in out

    train = tmp_path / 'data' / 'market1501' / 'bounding_box_train'
    garbled = train / '0001_c1s1_000099_00.jpg'
    garbled.write_bytes(_garble(_jpeg(size=IMG_SIZE), 0.5, 0.9))
    cut = sorted(train.glob('*.png'))[3]
    cut.write_bytes(cut.read_bytes()[:60])
    before = tree_files(tmp_path / 'data')
    with pytest.raises(SystemExit) as stop:
        run_tool('check_dataset', cfg, '--split', 'train')
    captured = capsys.readouterr()
    assert stop.value.code == 1
    assert 'train_dataloader (market1501): 33 images, 2 unreadable' in captured.out
    assert f'cannot read image {garbled}: the JPEG data is corrupt' in captured.out
    assert f'cannot read image {cut}' in captured.out
    assert "2 unreadable images in cfg.py's datasets" in captured.err
    assert 'test_dataloader' not in captured.out
    assert tree_files(tmp_path / 'data') == before


def test_stale_synthreid_temp_folders_of_dead_processes_are_removed(tmp_path):
    dead = subprocess.run([sys.executable, '-c', 'import os; print(os.getpid())'],
                          capture_output=True, text=True).stdout.strip()
    host = socket.gethostname()
    names = dict(dead_old=f'.synthreid_A.tmp{dead}', dead=f'.synthreid_B.tmp-{host}-{dead}',
                 alive=f'.synthreid_A.tmp-{host}-{os.getpid()}',
                 other_host=f'.synthreid_C.tmp-not-{host}-{dead}', data='synthreid_A')
    for name in names.values():
        (tmp_path / name / 'query').mkdir(parents=True)
    removed = remove_stale_tmp_folders(tmp_path)
    assert sorted(p.name for p in removed) == sorted([names['dead_old'], names['dead']])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [names['alive'], names['other_host'], names['data']])
