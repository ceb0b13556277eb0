"""Mixed-precision primitives: which dtype this machine runs fast, autocast on and off.

- :func:`resolve_amp_dtype`: the autocast dtype for a requested one on this machine. On a GPU
  float16, or bfloat16 where ``torch.cuda.is_bf16_supported()`` (else float16). On a CPU
  bfloat16 only where the CPU has native bf16 arithmetic (AMX or AVX512-BF16,
  :func:`cpu_bf16_capability`), else None = float32, with one log line: without those
  instructions bf16 matrix products are emulated and run up to a few hundred times slower than
  float32, so the same config stays fast on every machine.
- :func:`autocast`: ``torch.autocast`` to a resolved dtype (None: nothing changes).
- :func:`fp32_region` / :func:`float32_forward`: what must stay float32 under autocast (losses,
  distances, memory banks, exponentials with large arguments) runs with autocast off on
  ``.float()`` inputs. BatchNorm keeps float32 statistics under autocast by itself.

The training/testing side (AMP optimizer wrapper, the config's ``amp`` key) is
``reidengine/engine/amp.py``.
"""
import contextlib
import functools
from typing import Optional, Union

import torch
from mmengine.logging import print_log

__all__ = ['AMP_DTYPES', 'cpu_bf16_capability', 'resolve_amp_dtype', 'autocast', 'fp32_region',
           'float32_forward']

AMP_DTYPES = ('bfloat16', 'float16')
_CPU_BF16_FLAGS = ('amx_bf16', 'avx512_bf16')


@functools.lru_cache(maxsize=None)
def cpu_bf16_capability(cpuinfo: str = '/proc/cpuinfo') -> Optional[str]:
    """The CPU feature that makes bf16 fast (``'amx_bf16'`` / ``'avx512_bf16'``), or None.

    Asked from torch (``torch.cpu._is_amx_tile_supported`` / ``_is_avx512_bf16_supported``, the
    checks its own oneDNN dispatch uses) and, where torch lacks them, from the ``flags`` line of
    ``cpuinfo``.
    """
    checks = (('amx_bf16', '_is_amx_tile_supported'), ('avx512_bf16', '_is_avx512_bf16_supported'))
    if all(hasattr(torch.cpu, fn) for _, fn in checks):
        return next((flag for flag, fn in checks if getattr(torch.cpu, fn)()), None)
    try:
        with open(cpuinfo) as f:
            flags = next((line.split(':', 1)[1].split() for line in f
                          if line.startswith('flags')), [])
    except OSError:
        return None
    return next((flag for flag in _CPU_BF16_FLAGS if flag in flags), None)


def check_amp_dtype(dtype: Union[str, torch.dtype]) -> str:
    name = str(dtype).replace('torch.', '')
    if name not in AMP_DTYPES:
        raise ValueError(f'amp dtype must be one of {AMP_DTYPES}, got {dtype!r}')
    return name


@functools.lru_cache(maxsize=None)
def _log_once(message: str) -> None:
    print_log(message, logger='current')


def default_device_type() -> str:
    return 'cuda' if torch.cuda.is_available() else 'cpu'


def resolve_amp_dtype(dtype: Union[str, torch.dtype] = 'bfloat16',
                      device_type: Optional[str] = None) -> Optional[torch.dtype]:
    """The autocast dtype this machine runs fast for the requested one, or None (float32).

    ``device_type`` defaults to ``'cuda'`` when a GPU is visible, else ``'cpu'``. Each fallback
    is logged once per process.
    """
    name = check_amp_dtype(dtype)
    device_type = device_type or default_device_type()
    if device_type == 'cuda':
        if name == 'bfloat16' and not torch.cuda.is_bf16_supported():
            _log_once('Mixed precision: this GPU has no bfloat16 support; using float16')
            return torch.float16
        return getattr(torch, name)
    if device_type != 'cpu':
        raise ValueError(f'mixed precision runs on cpu or cuda, got device {device_type!r}')
    capability = cpu_bf16_capability()
    if capability is None:
        _log_once('Mixed precision: this CPU has no native bfloat16 arithmetic (neither AMX nor '
                  'AVX512-BF16), where bf16 runs far slower than float32; running in float32')
        return None
    if name == 'float16':
        _log_once(f'Mixed precision: float16 autocast is for GPUs; this CPU ({capability}) runs '
                  'bfloat16 instead')
    return torch.bfloat16


def autocast(dtype: Optional[torch.dtype], device_type: Optional[str] = None):
    """``torch.autocast`` to ``dtype`` (None: a context that changes nothing)."""
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device_type or default_device_type(), dtype=dtype)


@contextlib.contextmanager
def fp32_region():
    """Autocast off (CPU and GPU) inside the block: ops on ``.float()`` inputs run in float32."""
    with torch.autocast('cpu', enabled=False):
        if torch.cuda.is_available():
            with torch.autocast('cuda', enabled=False):
                yield
        else:
            yield


def _to_float32(value):
    if isinstance(value, torch.Tensor) and value.dtype in (torch.float16, torch.bfloat16):
        return value.float()
    return value


def float32_forward(fn):
    """Decorator: run ``fn`` with autocast off and its half / bfloat16 tensor arguments in float32
    (float32 and float64 arguments are left as they are)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with fp32_region():
            return fn(*map(_to_float32, args), **{k: _to_float32(v) for k, v in kwargs.items()})

    return wrapper
