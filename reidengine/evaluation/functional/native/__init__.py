"""The native ranking kernel: ``bounded_positions.c``, built for this machine on first use.

The ranking metrics need each query's positives' positions among the gallery items closer than
its farthest positive (``positions.bounded_positions``). In torch ops that takes a dozen passes
(mark, scan the marks, gather, sort), 2-4 ns per distance against 8-10 ns for the distance
product itself; the C kernel reads each distance once and counts, well under 1 ns (figures:
benchmarks/README.md). Torchreid and FastReID likewise compile their evaluation (Cython).

Building: ``$CC`` (default ``cc``) with ``-O3 -march=native`` (so AVX-512, AVX2 or plain scalar
code, whatever this CPU runs fastest; ``$REIDENGINE_NATIVE_MARCH`` replaces ``native``) into ``$REIDENGINE_CACHE`` (default
``~/.cache/reidengine``), once per source, compiler and CPU (the file name hashes them); about
0.3 s. Loaded with ctypes, whose calls release the GIL, so the evaluator's worker threads run
it in parallel. Without a working compiler, or with ``REIDENGINE_NATIVE=0``, the evaluator uses
the torch implementation (same results; one log line says why).
"""
import ctypes
import hashlib
import os
import shutil
import subprocess
import tempfile
import threading
from typing import Optional, Sequence

import torch

SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'bounded_positions.c')
FLAGS = ('-O3', '-march=native', '-std=c11', '-fPIC', '-shared')


def default_flags() -> tuple:
    march = os.environ.get('REIDENGINE_NATIVE_MARCH')
    return FLAGS if not march else tuple(f'-march={march}' if f == '-march=native' else f
                                         for f in FLAGS)

_LOCK = threading.Lock()
_STATE = {}  # 'lib': the loaded kernel (or None after a failure), 'why': the reason


def cache_dir() -> str:
    default = os.path.join(os.environ.get('XDG_CACHE_HOME') or os.path.expanduser('~/.cache'),
                           'reidengine')
    return os.environ.get('REIDENGINE_CACHE') or default


def _cpu_fingerprint() -> str:
    try:
        with open('/proc/cpuinfo') as f:
            lines = [ln for ln in f if ln.startswith(('model name', 'flags', 'Features'))]
        return ''.join(sorted(set(lines)))
    except OSError:
        import platform
        return platform.machine() + platform.processor()


def build(compiler: Optional[str] = None, flags: Optional[Sequence[str]] = None,
          directory: Optional[str] = None) -> str:
    """Compile the kernel (if not cached) and return the shared library's path.

    ``flags`` default to :func:`default_flags`. Raises RuntimeError naming the compiler and its message when it is missing or fails.
    """
    compiler = compiler or os.environ.get('CC') or 'cc'
    flags = tuple(flags) if flags is not None else default_flags()
    if shutil.which(compiler) is None:
        raise RuntimeError(f'no C compiler "{compiler}" on PATH (set CC to use another)')
    with open(SOURCE, 'rb') as f:
        source = f.read()
    try:
        version = subprocess.run([compiler, '--version'], capture_output=True, text=True,
                                 timeout=30).stdout
    except (OSError, subprocess.SubprocessError) as error:
        raise RuntimeError(f'C compiler "{compiler}" does not run: {error}') from error
    key = hashlib.sha256(source + '\0'.join((*flags, version, _cpu_fingerprint())).encode())
    directory = directory or cache_dir()
    path = os.path.join(directory, f'bounded_positions-{key.hexdigest()[:16]}.so')
    if os.path.exists(path):
        return path
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix='.so', dir=directory)  # atomic: other processes may build
    os.close(fd)
    try:
        done = subprocess.run([compiler, *flags, SOURCE, '-o', tmp], capture_output=True,
                              text=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f'"{compiler} {" ".join(flags)} {SOURCE}" failed:\n'
                               f'{done.stderr.strip()[-2000:]}')
        os.chmod(tmp, 0o755)  # mkstemp's 0600 would keep others sharing the cache out
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


def load_library(path: str):
    """The ``bounded_positions`` function of a built library, with its C signature."""
    fn = ctypes.CDLL(path).bounded_positions
    ptr, i64 = ctypes.c_void_p, ctypes.c_int64
    fn.argtypes = [ptr, i64, i64, i64, ptr, ptr, ptr, i64, ptr, ptr, ptr, ptr, ptr]
    fn.restype = i64
    return fn


def kernel():
    """The loaded kernel, or None (disabled, or the build failed: logged once)."""
    if 'lib' not in _STATE:
        with _LOCK:
            if 'lib' not in _STATE:
                lib, why = None, None
                if os.environ.get('REIDENGINE_NATIVE', '1') == '0':
                    why = 'REIDENGINE_NATIVE=0'
                else:
                    try:
                        lib = load_library(build())
                    except (RuntimeError, OSError) as error:
                        why = str(error)
                if lib is None:
                    from mmengine.logging import print_log
                    print_log(f'reidengine evaluation: native ranking kernel not used ({why}); '
                              'using the torch implementation (same results, slower)',
                              logger='current')
                _STATE.update(lib=lib, why=why)
    return _STATE['lib']


def unavailable_reason() -> Optional[str]:
    """Why :func:`kernel` is None (None when it is loaded)."""
    kernel()
    return _STATE['why']


def bounded_positions(dist: torch.Tensor, cols: torch.Tensor, mask: torch.Tensor,
                      bound: torch.Tensor, fn=None) -> torch.Tensor:
    """``positions.bounded_positions`` (same arguments and result) in the native kernel.

    ``fn``: a kernel from :func:`load_library` (default: :func:`kernel`, which must not be None).
    """
    fn = fn or kernel()
    num_rows, num_cols = dist.shape
    if num_cols >= 2 ** 31:
        raise ValueError(f'{num_cols} gallery columns: at most 2^31 - 1 for the native kernel')
    if dist.dtype != torch.float32 or dist.stride(1) != 1:
        dist = dist.float().contiguous()
    bound = bound.float().contiguous()
    cols, mask = cols.long().contiguous(), mask.bool().contiguous()
    out = torch.empty_like(cols)
    if num_rows == 0 or cols.shape[1] == 0:
        return out.fill_(-1)
    cand_d = torch.empty(num_cols + 16, dtype=torch.float32)
    cand_i = torch.empty(num_cols + 16, dtype=torch.int32)
    keys = torch.empty(cols.shape[1] + 1, dtype=torch.int64)  # uint64 in C
    hist = torch.empty(cols.shape[1] + 1, dtype=torch.int64)
    bad = fn(dist.data_ptr(), num_rows, num_cols, dist.stride(0), bound.data_ptr(),
             cols.data_ptr(), mask.data_ptr(), cols.shape[1], out.data_ptr(),
             cand_d.data_ptr(), cand_i.data_ptr(), keys.data_ptr(), hist.data_ptr())
    if bad >= 0:
        raise ValueError(f'distances contain NaN (row {bad} of this block of {num_rows} rows)')
    return out
