"""A finished tiny training run shared by the reliability tests (read-only; copy it to change it)."""
import shutil

import pytest
from reliability_utils import run_tool, tiny_vit_config, write_market


@pytest.fixture(scope='session')
def finished_run(tmp_path_factory):
    """(data root, config, work dir) of a 2-epoch run with its test results."""
    root = tmp_path_factory.mktemp('finished')
    data = write_market(root / 'data')
    cfg = tiny_vit_config(root / 'tiny_vit.py', data, max_epochs=2)
    run_tool('train', cfg, '--work-dir', root / 'work', '--cfg-options', 'experiment_name=finished')
    return data, cfg, root / 'work'


@pytest.fixture
def run_copy(finished_run, tmp_path):
    """A private copy of the finished run: (data root, config of 3 epochs, work dir)."""
    data, _, work = finished_run
    shutil.copytree(data, tmp_path / 'data')
    shutil.copytree(work, tmp_path / 'work')
    cfg = tiny_vit_config(tmp_path / 'tiny_vit.py', tmp_path / 'data', max_epochs=3)
    return tmp_path / 'data', cfg, tmp_path / 'work'
