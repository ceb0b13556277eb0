"""resolve_data_root: explicit argument, then $REID_DATA_ROOT, then <repo>/data."""
from pathlib import Path

import reidengine
from reidengine.datasets import resolve_data_root


def test_precedence(tmp_path, monkeypatch):
    monkeypatch.setenv('REID_DATA_ROOT', str(tmp_path / 'env'))
    assert resolve_data_root(str(tmp_path / 'arg')) == tmp_path / 'arg'
    assert resolve_data_root(None) == tmp_path / 'env'
    assert resolve_data_root('') == tmp_path / 'env'
    monkeypatch.delenv('REID_DATA_ROOT')
    assert resolve_data_root(None) == Path(reidengine.__file__).resolve().parent.parent / 'data'
    monkeypatch.setenv('REID_DATA_ROOT', '')
    assert resolve_data_root(None) == Path(reidengine.__file__).resolve().parent.parent / 'data'


def test_home_is_expanded(monkeypatch, tmp_path):
    monkeypatch.setenv('HOME', str(tmp_path))
    assert resolve_data_root('~/datasets') == tmp_path / 'datasets'
