"""Atomic writes, weights-only conversion and generator states of checkpoint_io."""
import random

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer

from reidengine.engine.runner.checkpoint_io import (CheckpointLoadError, atomic_save,
                                                    atomic_write_text, get_rng_state,
                                                    load_checkpoint_safe, restore_message_hub,
                                                    set_rng_state, to_weights_only)


def test_atomic_save_replaces_the_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / 'ckpt.pth'
    atomic_save({'w': torch.arange(3)}, str(path))
    atomic_save({'w': torch.arange(5)}, str(path))
    assert torch.equal(torch.load(path, weights_only=True)['w'], torch.arange(5))
    assert sorted(p.name for p in tmp_path.iterdir()) == ['ckpt.pth']


def test_a_failed_write_keeps_the_previous_file_intact(tmp_path):
    path = tmp_path / 'ckpt.pth'
    atomic_save({'w': torch.arange(3)}, str(path))
    before = path.read_bytes()
    with pytest.raises(Exception):  # pickling fails half-way, after the tensors were written
        atomic_save({'w': torch.arange(9), 'f': lambda: 0}, str(path))
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ['ckpt.pth']


def test_atomic_write_text(tmp_path):
    path = tmp_path / 'last_checkpoint'
    atomic_write_text(str(path), 'a/epoch_1.pth')
    atomic_write_text(str(path), 'a/epoch_2.pth')
    assert path.read_text() == 'a/epoch_2.pth'
    assert sorted(p.name for p in tmp_path.iterdir()) == ['last_checkpoint']


def test_to_weights_only_converts_numpy_and_history_buffers(tmp_path):
    buf = HistoryBuffer([1.0, 2.5], [1, 2], max_length=7)
    state = dict(log_scalars={'train/loss': buf}, runtime_info=dict(best=np.float64(0.5),
                                                                    ids=np.array([3, 4])),
                 resumed_keys={'train/loss': True})
    safe = to_weights_only(state)
    assert type(safe['runtime_info']['best']) is float and safe['runtime_info']['best'] == 0.5
    assert torch.equal(safe['runtime_info']['ids'], torch.tensor([3, 4]))
    atomic_save(safe, str(tmp_path / 'x.pth'))
    loaded = torch.load(tmp_path / 'x.pth', weights_only=True)
    back = restore_message_hub(loaded)['log_scalars']['train/loss']
    assert isinstance(back, HistoryBuffer) and back.max_length == 7
    assert back.data[0].tolist() == [1.0, 2.5] and back.data[1].tolist() == [1, 2]


def test_to_weights_only_names_the_place_of_an_unsupported_object():
    with pytest.raises(TypeError, match=r"checkpoint\['param_schedulers'\]\[0\]\['fn'\] is a "
                                        r'builtins.function'):
        to_weights_only({'param_schedulers': [{'fn': lambda e: e}]})


def test_load_checkpoint_safe_errors_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        load_checkpoint_safe(str(tmp_path / 'nope.pth'))
    bad = tmp_path / 'trunc.pth'
    torch.save({'w': torch.zeros(1000)}, bad)
    bad.write_bytes(bad.read_bytes()[:300])
    with pytest.raises(CheckpointLoadError, match='trunc.pth" is damaged'):
        load_checkpoint_safe(str(bad))
    listed = tmp_path / 'list.pth'
    torch.save([torch.zeros(1)], listed)
    with pytest.raises(CheckpointLoadError, match='holds a list, expected a dict'):
        load_checkpoint_safe(str(listed))


def test_rng_state_round_trip_reproduces_every_generator(tmp_path):
    random.seed(1), np.random.seed(2), torch.manual_seed(3)
    np.random.randn()  # leaves a cached gaussian in numpy's legacy state
    state = get_rng_state()
    first = (random.random(), np.random.randn(3).tolist(), torch.rand(3).tolist())
    atomic_save(state, str(tmp_path / 'rng.pth'))
    random.seed(9), np.random.seed(9), torch.manual_seed(9)
    set_rng_state(torch.load(tmp_path / 'rng.pth', weights_only=True))
    assert (random.random(), np.random.randn(3).tolist(), torch.rand(3).tolist()) == first
