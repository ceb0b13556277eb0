"""The tools stop on bad input with a message naming what is wrong (the traceback only with
``--debug`` and in the log file; internal errors keep theirs), and never on a silently wrong value:
``--cfg-options`` keep spaces, ``custom_imports`` options are imported, ``max_epochs=0`` is refused
(reliability issue, "Silent wrong results" and "Errors that do not say what is wrong")."""
import os
import shlex
import shutil
import subprocess
import sys
import zipfile

import pytest
import torch
from reliability_utils import (REPO, checkpoint_files, run_tool, tiny_config, tiny_vit_config,
                               tool_error, tree_files, write_market)

from reidengine.models.backbones.weight_loading import load_state_dict_safe
from reidengine.utils.config_checks import parse_option_value


@pytest.fixture(scope='module')
def tiny(tmp_path_factory):
    """(data root, config) of a tiny 2-epoch run that is not trained here."""
    root = tmp_path_factory.mktemp('tiny')
    data = write_market(root / 'data')
    return data, tiny_vit_config(root / 'tiny_vit.py', data, max_epochs=2)


# ------------------------------------------------------------------ --cfg-options values
def test_cfg_options_keep_spaces_through_the_shell(tiny, tmp_path):
    """A subprocess through a shell, quoting as a user does: the spaced path is named as given, not
    the space-less one MMEngine's parser made of it."""
    _, cfg = tiny
    spaced = tmp_path / 'my weights' / 'r18.pth'
    env = dict(os.environ, OMP_NUM_THREADS='1')
    env['PYTHONPATH'] = os.pathsep.join([str(REPO), env.get('PYTHONPATH', '')])
    command = (f'{shlex.quote(sys.executable)} {REPO / "tools" / "train.py"} {shlex.quote(cfg)} '
               f'--work-dir {shlex.quote(str(tmp_path / "work"))} --cfg-options load_from="{spaced}"')
    done = subprocess.run(command, shell=True, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1, done.stderr[-4000:]
    assert 'Traceback' not in done.stderr, done.stderr[-4000:]
    assert f'FileNotFoundError: checkpoint "{spaced}" does not exist' in done.stderr
    assert '(rerun with --debug for the traceback' in done.stderr
    assert not (tmp_path / 'work').exists()


@pytest.mark.parametrize('text, value', [
    ('/d/my weights/r18.pth', '/d/my weights/r18.pth'), ('"/d/my data"', '/d/my data'),
    ("'12'", '12'), ('12', 12), ('0.5', 0.5), ('true', True), ('None', None),
    ('[1, 2]', [1, 2]), ('(32, 16)', (32, 16)), ('a,b', ['a', 'b']),
    ('[(1, 2), [my a, b]]', [(1, 2), ['my a', 'b']]), ('(1,)', (1, ))])
def test_cfg_option_values(text, value):
    assert parse_option_value(text) == value


def test_an_option_without_a_value_is_a_usage_error(tiny, capsys):
    _, cfg = tiny
    with pytest.raises(SystemExit) as stop:
        run_tool('train', cfg, '--cfg-options', 'train_cfg.max_epochs')
    assert stop.value.code == 2
    assert "'train_cfg.max_epochs': expected KEY=VALUE" in capsys.readouterr().err


@pytest.mark.parametrize('option, message', [
    ('train_cfg.max_epochs=two', "train_cfg.max_epochs=two: expected an integer (the config has 2), "
                                 "got the text 'two'"),
    ('optim_wrapper.optimizer.lr=fast', "optim_wrapper.optimizer.lr=fast: expected a number (the "
                                        "config has 0.01), got the text 'fast'"),
    ('randomness.seed=abc', "randomness.seed=abc: expected an integer (the config has 0), got the "
                            "text 'abc'")])
def test_wrong_typed_options_name_the_key_and_type(tiny, tmp_path, capsys, option, message):
    _, cfg = tiny
    err = tool_error(capsys, 'train', cfg, '--work-dir', tmp_path / 'w', '--cfg-options', option)
    assert f'TypeError: --cfg-options {message}' in err
    assert not (tmp_path / 'w').exists()


# ------------------------------------------------------------------ config files
def test_a_syntax_error_names_the_file_and_line(tiny, tmp_path, capsys):
    data, _ = tiny
    base = tmp_path / 'base.py'
    base.write_text('a = 1\nb = dict(\n    c=[1, 2\n)\n')
    child = tmp_path / 'child.py'
    child.write_text("_base_ = ['./base.py']\nx = 1\n")
    err = tool_error(capsys, 'train', child, '--work-dir', tmp_path / 'w')
    assert f'SyntaxError: _base_ file {base} of {child}, line ' in err
    cfg = tiny_vit_config(tmp_path / 'cfg.py', data, extra='oops = (1,\n')
    lines = len(open(cfg).read().splitlines())
    err = tool_error(capsys, 'train', cfg, '--work-dir', tmp_path / 'w')
    assert f'SyntaxError: config file {cfg}, line {lines}: ' in err and "'(' was never closed" in err
    assert 'File "<unknown>"' not in err and not (tmp_path / 'w').exists()


def test_a_missing_config_or_a_folder(tmp_path, capsys):
    err = tool_error(capsys, 'train', tmp_path / 'nope.py')
    assert f'FileNotFoundError: config file {tmp_path / "nope.py"} does not exist' in err
    err = tool_error(capsys, 'test', tmp_path, tmp_path)
    assert 'IsADirectoryError' in err


def test_debug_raises_with_the_traceback(tmp_path):
    with pytest.raises(FileNotFoundError, match='does not exist'):
        run_tool('train', tmp_path / 'nope.py', debug=True)


# ------------------------------------------------------------------ options that did nothing
def test_custom_imports_given_as_an_option_are_imported(tiny, tmp_path, capsys):
    data, _ = tiny
    err = tool_error(capsys, 'train', tiny_vit_config(tmp_path / 'c.py', data), '--work-dir',
                     tmp_path / 'w', '--cfg-options', 'custom_imports.imports=[no_such_module_xyz]')
    assert "ImportError: --cfg-options custom_imports: cannot import 'no_such_module_xyz'" in err
    # imported: the hook of the module is found; it stops the run with an internal error, which
    # keeps its traceback (raised, not turned into a message)
    cfg = tiny_vit_config(tmp_path / 'stop.py', data,
                          extra="custom_hooks = [dict(type='StopAfterIteration', at_iter=1)]\n")
    with pytest.raises(RuntimeError, match='stopped after iteration 1'):
        run_tool('train', cfg, '--work-dir', tmp_path / 'w', '--no-test', '--cfg-options',
                 'custom_imports.imports=[subprocess_hooks]', debug=False)


def test_max_epochs_zero_is_refused(tiny, tmp_path, capsys):
    _, cfg = tiny
    err = tool_error(capsys, 'train', cfg, '--work-dir', tmp_path / 'w', '--cfg-options',
                     'train_cfg.max_epochs=0')
    assert 'ValueError: train_cfg.max_epochs=0: expected an integer >= 1' in err
    assert 'untrained model' in err and 'tools/test.py' in err
    assert not (tmp_path / 'w').exists()


def test_an_image_error_in_a_data_loader_worker_is_a_message(tiny, tmp_path, capsys):
    data, _ = tiny
    shutil.copytree(data, tmp_path / 'data')
    img = sorted((tmp_path / 'data' / 'market1501' / 'bounding_box_train').glob('*.png'))[0]
    img.write_bytes(b'')
    cfg = tiny_config(tmp_path / 'workers.py', tmp_path / 'data', num_workers=2, max_epochs=2)
    err = tool_error(capsys, 'train', cfg, '--work-dir', tmp_path / 'w')
    assert f'OSError: cannot read image {img}' in err and '(in DataLoader worker process' in err
    assert not list((tmp_path / 'w').glob('*.pth'))


# ------------------------------------------------------------------ model and hooks
def test_num_classes_below_the_identity_count_names_both(run_copy, capsys):
    _, cfg, work = run_copy
    before = checkpoint_files(work)
    err = tool_error(capsys, 'train', cfg, '--work-dir', work, '--resume', '--cfg-options',
                     'model.head.num_classes=4')
    assert ('ValueError: model.head.num_classes=4, but the training set (market1501) has 8 '
            'identities: set model.head.num_classes=8') in err
    assert checkpoint_files(work) == before
    log = err.split('it is also in ')[1].split(')')[0]  # the traceback went to the run's log file
    assert 'Traceback' in open(log).read()


def test_a_hook_argument_typo_fails_when_the_runner_is_built(tiny, tmp_path, capsys):
    _, cfg = tiny
    err = tool_error(capsys, 'train', cfg, '--work-dir', tmp_path / 'w', '--cfg-options',
                     'default_hooks.checkpoint.intervall=2')
    assert "unknown argument 'intervall' (did you mean interval?)" in err
    assert not list((tmp_path / 'w').glob('*.pth'))  # before any training


# ------------------------------------------------------------------ checkpoints
def _fake_torchscript(path):
    """A TorchScript archive whose code calls ``posix.system``."""
    real = path.with_name('real.pt')
    torch.jit.save(torch.jit.script(torch.nn.Linear(2, 2)), str(real))
    with zipfile.ZipFile(real) as src, zipfile.ZipFile(path, 'w') as dst:
        for name in src.namelist():
            data = src.read(name)
            if name.endswith('.py'):
                data = b"class Linear(Module):\n  def forward(self, x):\n    return posix.system('id')\n"
            dst.writestr(name, data)
    return path


@pytest.mark.filterwarnings('ignore::FutureWarning')
def test_a_fake_torchscript_archive_is_named(tiny, tmp_path, capsys):
    _, cfg = tiny
    fake = _fake_torchscript(tmp_path / 'weights.pt')
    with pytest.raises(ValueError, match=f'"{fake}" looks like a TorchScript archive but does not '
                                         'load as one'):
        load_state_dict_safe(str(fake))
    err = tool_error(capsys, 'train', cfg, '--work-dir', tmp_path / 'w', '--cfg-options',
                     f'model.backbone.pretrained={fake}')
    assert f'"{fake}" looks like a TorchScript archive' in err
    err = tool_error(capsys, 'test', cfg, fake, '--work-dir', tmp_path / 't')
    assert f'checkpoint "{fake}" is a TorchScript archive (torch.jit.save), not a training' in err


def test_a_folder_given_as_checkpoint_is_called_a_folder(run_copy, capsys):
    _, cfg, work = run_copy
    before = tree_files(work)
    err = tool_error(capsys, 'test', cfg, work, '--work-dir', work.parent / 't')
    assert (f'IsADirectoryError: checkpoint "{work}" is a folder, not a checkpoint file; give one of '
            'its .pth files (it holds epoch_1.pth, epoch_2.pth)') in err
    err = tool_error(capsys, 'train', cfg, '--work-dir', work, '--resume', work)
    assert f'checkpoint "{work}" is a folder' in err
    assert tree_files(work) == before
