"""Chunk-level parallelism for the evaluation loops.

Two patterns: ``run_chunks`` / ``run_tasks`` (the whole work of a chunk in a worker) and the
pipeline of ``evaluate.evaluate_blocks`` (matrix products of large row blocks with all intra-op
threads in the calling thread, their ranking in ``worker_pool`` threads, overlapping).

Each chunk (a block of query rows: one matrix product and a few dozen vectorised passes) runs
in one of ``num_workers`` Python threads while torch runs every op single-threaded. Torch
releases the GIL inside ops, so the threads use all cores without the per-op thread barriers of
intra-op parallelism; those barriers dominate when the chunk's many small passes run on a busy
machine (measured: benchmarks/README.md).
"""
import contextlib
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


def run_tasks(fn: Callable, tasks: Sequence[tuple], num_workers: Optional[int] = None) -> None:
    """Call ``fn(*task)`` for every task, in ``num_workers`` threads with single-threaded ops.

    ``num_workers`` defaults to torch's intra-op thread count; with one worker the tasks run in
    order in the calling thread (still with single-threaded ops). ``fn`` must only write state
    that belongs to its own task, or lock.
    """
    num_workers = num_workers or torch.get_num_threads()
    with single_threaded_ops():
        if num_workers <= 1 or len(tasks) <= 1:
            for task in tasks:
                fn(*task)
            return
        with ThreadPoolExecutor(num_workers) as pool:
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
