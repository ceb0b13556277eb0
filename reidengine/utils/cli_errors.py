"""How the command-line tools end on an error: a user error prints its message alone, an internal
error keeps its traceback.

A *user error* is a problem of the input (config, option, data, checkpoint, disk): an exception of
an input type (``ValueError``, ``TypeError``, ``KeyError``, ``OSError``, ``SyntaxError``,
``ImportError``) raised on purpose, with a message, by reidengine, a plugin, a tool, or MMEngine's
config and registry code (the innermost frame of its traceback is a ``raise`` statement there), or
a full disk anywhere; an error PyTorch re-raises from a DataLoader worker is judged by the worker's
frame and printed without the worker's traceback. The tool prints ``Type: message`` and a hint,
and exits with status 1. Any other exception (a bug, an error inside PyTorch) is re-raised
unchanged, with its traceback.

``--debug`` re-raises every error with its traceback. The traceback of a user error also goes to
the run's log file when the runner has opened one.
"""
import errno
import linecache
import logging
import os.path as osp
import re
import sys
import traceback
from typing import Callable, Optional, Tuple

__all__ = ['run_cli', 'is_user_error', 'user_message', 'DEBUG_FLAG']

DEBUG_FLAG = '--debug'
_INPUT_ERRORS = (ValueError, TypeError, KeyError, OSError, SyntaxError, ImportError)
_REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
_OWN_CODE = tuple(osp.join(_REPO, d) + osp.sep for d in ('reidengine', 'plugins', 'tools'))
_MMENGINE_INPUT_CODE = (osp.join('mmengine', 'config') + osp.sep,
                        osp.join('mmengine', 'registry') + osp.sep)
_DISK_FULL = (errno.ENOSPC, getattr(errno, 'EDQUOT', errno.ENOSPC))


def _innermost_frame(err: BaseException):
    tb = err.__traceback__
    if tb is None:
        return None, None
    while tb.tb_next is not None:
        tb = tb.tb_next
    return osp.abspath(tb.tb_frame.f_code.co_filename), tb.tb_lineno


_WORKER_FRAME = re.compile(r'^  File "(?P<file>[^"]+)", line (?P<line>\d+)')


def _worker_error(err: BaseException) -> Optional[Tuple[str, int, str]]:
    """For an error PyTorch re-raised from a DataLoader worker ("Caught X in DataLoader worker
    process 0. Original Traceback ..."): the worker's innermost frame and the original message."""
    text = str(err)
    if not text.startswith('Caught ') or 'Original Traceback' not in text:
        return None
    lines = text.splitlines()
    frames = [i for i, line in enumerate(lines) if _WORKER_FRAME.match(line)]
    if not frames:
        return None
    found = _WORKER_FRAME.match(lines[frames[-1]])
    rest = lines[frames[-1] + 1:]
    start = next((i for i, line in enumerate(rest) if line and not line[0].isspace()), len(rest))
    where = lines[0].split(' in ', 1)[-1].rstrip('.')
    message = '\n'.join(rest[start:]).strip()
    return found.group('file'), int(found.group('line')), f'{message} (in {where})'


def _raised_on_purpose(filename: str, lineno: int) -> bool:
    ours = filename.startswith(_OWN_CODE) or any(part in filename for part in _MMENGINE_INPUT_CODE)
    return ours and linecache.getline(filename, lineno).lstrip().startswith('raise')


def is_user_error(err: BaseException) -> bool:
    """True for a problem of the input that the message alone explains (module docstring).

    An error of a DataLoader worker is judged by the worker's own innermost frame.
    """
    if isinstance(err, OSError) and err.errno in _DISK_FULL:
        return True
    if not isinstance(err, _INPUT_ERRORS):
        return False
    worker = _worker_error(err)
    if worker is not None:
        return _raised_on_purpose(osp.abspath(worker[0]), worker[1])
    filename, lineno = _innermost_frame(err)
    if filename is None:
        return True  # raised without a frame: built by hand and given to us
    return _raised_on_purpose(filename, lineno)


def user_message(err: BaseException) -> str:
    """``Type: message`` of a user error (a worker's error without the worker's traceback)."""
    worker = _worker_error(err)
    if worker is not None:
        return worker[2]
    message = str(err.args[0]) if isinstance(err, KeyError) and err.args else str(err)
    return f'{type(err).__name__}: {message}'


def _loggers() -> set:
    from mmengine.logging import MMLogger
    return set(MMLogger._instance_dict)


def _log_traceback(err: BaseException, old_loggers: set) -> str:
    """Write the traceback to the file handlers of the MMEngine logger the run opened (none if it
    opened none: the current one may be another run's, in this process); their file names."""
    from mmengine.logging import MMLogger
    if not set(MMLogger._instance_dict) - old_loggers:
        return ''
    logger = MMLogger.get_current_instance()
    text = ''.join(traceback.format_exception(type(err), err, err.__traceback__))
    files = []
    for handler in logger.handlers:
        if isinstance(handler, logging.FileHandler):
            record = logger.makeRecord(logger.name, logging.ERROR, __file__, 0,
                                       f'the run stopped on an error:\n{text}', None, None)
            handler.handle(record)
            files.append(handler.baseFilename)
    return ', '.join(files)


def run_cli(main: Callable[[], None], argv=None) -> None:
    """Run a tool's ``main()``; end a user error with its message and exit status 1."""
    argv = sys.argv if argv is None else argv
    old_loggers = _loggers()
    try:
        main()
    except Exception as err:  # noqa: BLE001 - sorted into user and internal errors below
        log_files = _log_traceback(err, old_loggers)
        if DEBUG_FLAG in argv or not is_user_error(err):
            raise
        where = f'; it is also in {log_files}' if log_files else ''
        print(f'{user_message(err)}\n(rerun with {DEBUG_FLAG} for the traceback{where})',
              file=sys.stderr)
        sys.exit(1)
