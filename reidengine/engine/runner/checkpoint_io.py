"""Checkpoint files that survive crashes and load without running code (docs/reliability.md,
"Checkpoint files").

- :func:`atomic_save` / :func:`atomic_write_text`: write ``<file>.<host>-<pid>.tmp`` (a name of this
  process alone) in the same folder, flush and fsync it, then ``os.replace`` it over ``<file>`` and
  fsync the folder. A process killed at any moment leaves either the old file or the complete new
  one, never a truncated one. A full disk is reported as such, naming the file (nothing replaced).
- :func:`to_weights_only` turns a checkpoint into tensors and plain Python values (numpy arrays and
  scalars, MMEngine's ``HistoryBuffer``), so that :func:`load_checkpoint_safe` reads it with
  ``torch.load(weights_only=True)``: no class is allow-listed and no code in a file can run.
  :func:`restore_message_hub` turns the message hub's buffers back.
- :func:`get_rng_state` / :func:`set_rng_state`: python ``random``, numpy's global generator, torch
  CPU and CUDA generators, as weights-only values.
"""
import os
import os.path as osp
import errno
import pickle
import random
import shutil
import socket
import zipfile
from collections import OrderedDict
from typing import Any, Callable, Dict, List, Optional, Union

import numpy as np
import torch
from mmengine.logging import HistoryBuffer

__all__ = ['CheckpointLoadError', 'check_checkpoint_file', 'atomic_save', 'atomic_write_text', 'to_weights_only',
           'restore_message_hub', 'load_checkpoint_safe', 'get_rng_state', 'set_rng_state',
           'TMP_SUFFIX']

TMP_SUFFIX = '.tmp'
_BUFFER_TAG = '__history_buffer__'
_PLAIN = (str, bytes, int, float, bool, complex, type(None), torch.Tensor, torch.Size, torch.dtype,
          torch.device)


class CheckpointLoadError(ValueError):
    """A checkpoint file that cannot be read: damaged, truncated, not a checkpoint, or unsafe."""


def _fsync_dir(folder: str) -> None:
    try:
        fd = os.open(folder or '.', os.O_RDONLY)
    except OSError:  # some platforms cannot open folders; the rename is still atomic
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _tmp_path(path: str) -> str:
    """The temporary name of ``path`` for this process: two processes never write the same one."""
    return f'{path}.{socket.gethostname()}-{os.getpid()}{TMP_SUFFIX}'


def _disk_full_error(path: str, err: Exception) -> Optional[OSError]:
    """An ``OSError(ENOSPC)`` naming ``path`` if ``err`` is a write that failed for lack of space."""
    if isinstance(err, OSError):
        if err.errno not in (errno.ENOSPC, getattr(errno, 'EDQUOT', errno.ENOSPC)):
            return None
        cause = 'no space left on the device'
    elif isinstance(err, RuntimeError) and 'write failed' in str(err):
        # torch's zip writer reports a failed write as RuntimeError('... file write failed')
        cause = 'the write failed, most likely for lack of space on the device (or over a quota)'
    else:
        return None
    folder = osp.dirname(osp.abspath(path))
    try:
        free = f'{shutil.disk_usage(folder).free / 2**20:.1f} MiB free there now'
    except OSError:
        free = 'free space unknown'
    return OSError(errno.ENOSPC, f'could not write {path}: {cause} ({free}; {type(err).__name__}: '
                   f'{err}). Nothing was replaced: the files already in {folder} are unchanged. '
                   'Free some space, then continue the run with --resume')


def _atomic_write(path: str, write: Callable[[Any], None], mode: str) -> None:
    tmp = _tmp_path(path)
    try:
        with open(tmp, mode) as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as err:
        if osp.lexists(tmp):
            os.remove(tmp)
        full = _disk_full_error(path, err) if isinstance(err, Exception) else None
        if full is not None:
            raise full from err
        raise
    _fsync_dir(osp.dirname(path))


def atomic_save(obj: Any, path: str) -> None:
    """``torch.save(obj, path)`` that never leaves a partial ``path`` behind."""
    _atomic_write(path, lambda f: torch.save(obj, f), 'wb')


def atomic_write_text(path: str, text: str) -> None:
    """Write a small text file (e.g. the ``last_checkpoint`` pointer) atomically."""
    _atomic_write(path, lambda f: f.write(text), 'w')


def to_weights_only(obj: Any, where: str = 'checkpoint') -> Any:
    """A copy of ``obj`` holding only what ``torch.load(weights_only=True)`` reads.

    numpy arrays become tensors, numpy scalars Python numbers, a ``HistoryBuffer`` a tagged dict.

    Raises:
        TypeError: an object of another class; the message gives its place, e.g.
            ``checkpoint['param_schedulers'][0]['lr_lambda']``.
    """
    if isinstance(obj, np.generic):  # before _PLAIN: np.float64 is a float subclass
        return obj.item()
    if isinstance(obj, _PLAIN):
        return obj
    if isinstance(obj, np.ndarray):
        if obj.dtype == object:
            raise TypeError(f'{where} is a numpy array of Python objects; a checkpoint may hold '
                            'tensors and plain Python values only')
        return torch.from_numpy(np.ascontiguousarray(obj).copy())
    if isinstance(obj, HistoryBuffer):
        log, count = obj.data
        return {_BUFFER_TAG: True, 'log': to_weights_only(log), 'count': to_weights_only(count),
                'max_length': obj.max_length}
    if isinstance(obj, dict):
        items = [(k, to_weights_only(v, f'{where}[{k!r}]')) for k, v in obj.items()]
        out = OrderedDict(items) if isinstance(obj, OrderedDict) else dict(items)
        if hasattr(obj, '_metadata'):  # state dicts carry their version metadata
            out = OrderedDict(out)
            out._metadata = obj._metadata
        return out
    if isinstance(obj, (list, tuple, set)):
        values = [to_weights_only(v, f'{where}[{i}]') for i, v in enumerate(obj)]
        return type(obj)(values) if type(obj) in (list, tuple, set) else values
    raise TypeError(f'{where} is a {type(obj).__module__}.{type(obj).__qualname__}; a checkpoint may '
                    'hold tensors and plain Python values only, so that it loads with '
                    'torch.load(weights_only=True). Store the state of that component as tensors, '
                    'numbers, strings, lists and dicts.')


def restore_message_hub(state: Dict) -> Dict:
    """Undo :func:`to_weights_only` on a message hub state (its ``HistoryBuffer`` values)."""
    state = dict(state)
    scalars = OrderedDict()
    for key, value in state.get('log_scalars', {}).items():
        if isinstance(value, dict) and value.get(_BUFFER_TAG):
            value = HistoryBuffer(value['log'].numpy(), value['count'].numpy(), value['max_length'])
        scalars[key] = value
    state['log_scalars'] = scalars
    return state


def check_checkpoint_file(path: str) -> None:
    """Refuse a checkpoint path that is a folder or does not exist, naming it."""
    if osp.isdir(path):
        names = sorted(f for f in os.listdir(path) if f.endswith('.pth'))
        hint = f' (it holds {", ".join(names[-3:])})' if names else ' (it holds no .pth file)'
        raise IsADirectoryError(f'checkpoint "{path}" is a folder, not a checkpoint file; give one '
                                f'of its .pth files{hint}')
    if not osp.isfile(path):
        raise FileNotFoundError(f'checkpoint "{path}" does not exist')


def load_checkpoint_safe(path: str, map_location: Union[str, Callable, None] = 'cpu') -> Dict:
    """Read a checkpoint with ``torch.load(weights_only=True)``.

    Raises:
        FileNotFoundError / IsADirectoryError: no such file; a folder.
        CheckpointLoadError: the file is truncated or damaged, is not a dict, is a TorchScript
            archive, or would need arbitrary unpickling (its classes are named); the message names
            the file.
    """
    check_checkpoint_file(path)
    if _is_torchscript(path):
        raise CheckpointLoadError(f'checkpoint "{path}" is a TorchScript archive (torch.jit.save), '
                                  'not a training checkpoint; loading it would run its TorchScript '
                                  'code. Give a .pth file written by reidengine or torch.save')
    try:
        checkpoint = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        names = _unsafe_globals(path)
        if names:
            raise CheckpointLoadError(
                f'refusing to load "{path}": it holds {", ".join(names)}, which only unpickle with '
                'weights_only=False and could run code from the file. Checkpoints written by '
                'reidengine hold tensors and plain values only; convert a foreign file from a '
                'source you trust to a plain state dict first') from err
        raise CheckpointLoadError(f'checkpoint "{path}" is damaged or not a PyTorch file: '
                                  f'{str(err).splitlines()[0]}') from err
    except Exception as err:  # noqa: BLE001 - truncated files fail in many ways inside the reader
        raise CheckpointLoadError(f'checkpoint "{path}" is damaged or not a PyTorch file '
                                  f'({type(err).__name__}: {err})') from err
    if not isinstance(checkpoint, dict):
        raise CheckpointLoadError(f'checkpoint "{path}" holds a {type(checkpoint).__name__}, '
                                  'expected a dict')
    return checkpoint


def _is_torchscript(path: str) -> bool:
    """A zip archive holding TorchScript code (``code/`` or ``constants.pkl``)."""
    try:
        if not zipfile.is_zipfile(path):
            return False
        with zipfile.ZipFile(path) as archive:
            return any(n.endswith('/constants.pkl') or '/code/' in n for n in archive.namelist())
    except (OSError, zipfile.BadZipFile):
        return False


def _unsafe_globals(path: str) -> List[str]:
    """Classes and functions the file's pickle names beyond torch's weights-only set ([] if unreadable)."""
    try:
        return list(torch.serialization.get_unsafe_globals_in_checkpoint(path))
    except Exception:  # noqa: BLE001 - a damaged file has no readable list
        return []


def _numpy_state() -> dict:
    name, key, pos, has_gauss, gauss = np.random.get_state()
    return dict(name=name, key=torch.from_numpy(key.astype(np.int64)), pos=int(pos),
                has_gauss=int(has_gauss), gauss=float(gauss))


def get_rng_state() -> dict:
    """The state of every global random generator this process uses."""
    state = dict(python=random.getstate(), numpy=_numpy_state(), torch=torch.get_rng_state())
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state['cuda'] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    """Restore a state from :func:`get_rng_state`."""
    version, internal, gauss = state['python']
    random.setstate((version, tuple(internal), gauss))
    np_state = state['numpy']
    np.random.set_state((np_state['name'], np_state['key'].numpy().astype(np.uint32),
                         np_state['pos'], np_state['has_gauss'], np_state['gauss']))
    torch.set_rng_state(state['torch'].cpu())
    if 'cuda' in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in state['cuda']])
