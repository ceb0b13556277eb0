"""Which errors the tools report as a message alone (user errors) and which keep their traceback."""
import errno

import pytest
import torch

from reidengine.utils.cli_errors import is_user_error, run_cli
from reidengine.utils.config_checks import check_training_length, parse_option_value


def _caught(fn):
    try:
        fn()
    except Exception as err:  # noqa: BLE001
        return err
    raise AssertionError('no error')


def test_errors_raised_on_purpose_by_reidengine_are_user_errors():
    assert is_user_error(_caught(lambda: parse_option_value('[1, 2')))
    assert is_user_error(_caught(lambda: check_training_length(dict(train_cfg=dict(max_epochs=0)))))
    assert is_user_error(OSError(errno.ENOSPC, 'No space left on device'))  # a full disk anywhere


def test_other_errors_keep_their_traceback():
    assert not is_user_error(_caught(lambda: torch.zeros(2).view(3)))  # inside PyTorch
    assert not is_user_error(_caught(lambda: int('x')))  # not raised by a raise statement of ours
    assert not is_user_error(_caught(lambda: [][1]))  # IndexError: a bug
    assert not is_user_error(_caught(lambda: check_training_length(None)))  # AttributeError


def test_run_cli_prints_a_user_error_and_raises_the_rest(capsys):
    def bad_option():
        parse_option_value('(1, [2)')

    with pytest.raises(SystemExit) as stop:
        run_cli(bad_option, argv=['tool'])
    err = capsys.readouterr().err
    assert stop.value.code == 1 and 'Traceback' not in err
    assert err.startswith("ValueError: --cfg-options: unbalanced brackets in '1, [2'")
    with pytest.raises(ValueError, match='unbalanced'):
        run_cli(bad_option, argv=['tool', '--debug'])
    with pytest.raises(IndexError):
        run_cli(lambda: [][1], argv=['tool'])
