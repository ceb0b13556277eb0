"""Chunk-level parallelism for the evaluation loops.

``run_chunks`` / ``run_tasks``: each chunk (a block of query rows: its matrix product and a few
dozen vectorised passes over it) runs in one of ``num_workers`` Python threads while torch runs
every op single-threaded. Torch releases the GIL inside ops, so the threads use all cores without
the per-op thread barriers of intra-op parallelism, and a chunk's distances are ranked by the
thread that computed them while they are still in its cache. A single-threaded product of a few
hundred query rows runs as fast per core as one multi-threaded product of all of them
(measured: benchmarks/README.md).

``thread_scratch``: per-thread buffers reused across chunks; the worker threads (and with them
their buffers) end with the call.
"""
import contextlib
import math
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Optional, Sequence

import torch


@contextlib.contextmanager
def intra_op_threads(num_threads: int):
    """Torch intra-op threads (and MKL/OpenMP) of the calling thread set inside the block.

    The setting is per thread (OpenMP's ``nthreads`` ICV): other threads keep theirs.
    """
    previous = torch.get_num_threads()
    torch.set_num_threads(num_threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def single_threaded_ops():
    """Torch intra-op threads (and MKL/OpenMP) set to 1 inside the block, restored after."""
    return intra_op_threads(1)


def worker_pool(num_workers: int) -> ThreadPoolExecutor:
    """``num_workers`` threads whose torch ops run single-threaded."""
    return ThreadPoolExecutor(num_workers, initializer=torch.set_num_threads, initargs=(1,))


_SCRATCH = threading.local()


def thread_scratch(name: str, shape: tuple, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """A buffer of this thread, reused by later calls with the same name: a fresh multi-MiB
    allocation per chunk costs more in page faults than the pass that fills it."""
    numel = math.prod(shape)
    buf = getattr(_SCRATCH, name, None)
    if buf is None or buf.dtype != dtype or buf.numel() < numel:
        buf = torch.empty(numel, dtype=dtype)
        setattr(_SCRATCH, name, buf)
    return buf[:numel].view(shape)


def run_tasks(fn: Callable, tasks: Sequence[tuple], num_workers: Optional[int] = None) -> None:
    """Call ``fn(*task)`` for every task, in ``num_workers`` threads with single-threaded ops.

    ``num_workers`` defaults to torch's intra-op thread count; with one worker the tasks run in
    order. The threads are new, so their ``thread_scratch`` buffers are freed when the call
    returns. ``fn`` must only write state that belongs to its own task, or lock.
    """
    num_workers = num_workers or torch.get_num_threads()
    with single_threaded_ops():
        with worker_pool(max(1, min(num_workers, len(tasks)))) as pool:
            futures = [pool.submit(fn, *task) for task in tasks]
            for future in futures:
                future.result()  # re-raises a worker's exception


def run_chunks(fn: Callable[[int, int], None], num_items: int, chunk_size: int,
               num_workers: Optional[int] = None) -> None:
    """Call ``fn(start, end)`` for consecutive chunks of ``range(num_items)`` (``run_tasks``)."""
    if chunk_size < 1:
        raise ValueError(f'chunk_size must be positive, got {chunk_size}')
    tasks = [(s, min(s + chunk_size, num_items)) for s in range(0, num_items, chunk_size)]
    run_tasks(fn, tasks, num_workers)
