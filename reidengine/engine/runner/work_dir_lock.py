"""One training run per work dir, and never two runs mixed in one.

- :class:`WorkDirLock`: an exclusive ``fcntl.flock`` on ``<work_dir>/.lock``, taken without
  waiting. The kernel releases it when the holding process ends, however it ends (SIGKILL
  included), so a killed run never leaves a stale lock behind. The file records the holder's host,
  process id, start time and command line, which a refused second run names.
- :func:`claim_work_dir`: what ``tools/train.py`` does with the work dir before the runner writes
  into it. It takes the lock (on the main process only); then a fresh start (no ``--resume``) on a
  work dir that holds a run (checkpoints, ``last_checkpoint``, ``results_*`` files) is refused,
  pointing to ``--resume`` and to ``--fresh``, which first moves the old run aside, whole, to the
  sibling folder ``<work_dir>.old-<YYYYmmdd_HHMMSS>``.

flock works on local file systems and on NFS (Linux emulates it with NFS byte-range locks); on file
systems without locks the error of ``flock`` is reported.
"""
import contextlib
import errno
import fcntl
import glob
import os
import os.path as osp
import shlex
import socket
import sys
import time
from typing import Iterator, List, Optional

__all__ = ['WorkDirBusyError', 'WorkDirLock', 'claim_work_dir', 'run_files', 'LOCK_NAME']

LOCK_NAME = '.lock'
_RUN_PATTERNS = ('*.pth', 'last_checkpoint', 'results_*')


class WorkDirBusyError(OSError):
    """Another process holds the work dir."""


class WorkDirLock:
    """Exclusive lock on a work dir for the life of this object (or until :meth:`release`)."""

    def __init__(self, work_dir: str):
        self.work_dir = work_dir
        self.path = osp.join(work_dir, LOCK_NAME)
        self._fd: Optional[int] = None

    def acquire(self) -> 'WorkDirLock':
        """Take the lock without waiting.

        Raises:
            WorkDirBusyError: another process holds it; the message names that process.
        """
        os.makedirs(self.work_dir, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as err:
            os.close(fd)
            if err.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise
            raise WorkDirBusyError(
                f'work dir {self.work_dir} is in use by another training run ({self.holder()}). '
                'Two runs in one work dir would overwrite each other\'s checkpoints: wait for it to '
                'end, stop it, or give this run another --work-dir') from None
        os.ftruncate(fd, 0)
        os.write(fd, (f'host={socket.gethostname()} pid={os.getpid()} '
                      f'started={time.strftime("%Y-%m-%d %H:%M:%S")} '
                      f'command={shlex.join(sys.argv)}\n').encode())
        os.fsync(fd)
        self._fd = fd
        return self

    def holder(self) -> str:
        """What the lock file says about its holder."""
        try:
            with open(self.path) as f:
                text = f.read().strip()
        except OSError:
            text = ''
        return text or 'a process that has not written its name yet'

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> 'WorkDirLock':
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def run_files(work_dir: str) -> List[str]:
    """The files of ``work_dir`` that belong to a run: checkpoints, the pointer, results."""
    found = {osp.basename(p) for pattern in _RUN_PATTERNS
             for p in glob.glob(osp.join(work_dir, pattern))}
    return sorted(found)


def _is_main_process() -> bool:
    return int(os.environ.get('RANK', os.environ.get('SLURM_PROCID', '0'))) == 0


def _move_aside(work_dir: str) -> str:
    stamp = time.strftime('%Y%m%d_%H%M%S')
    target = f'{work_dir.rstrip(os.sep)}.old-{stamp}'
    n = 1
    while osp.exists(target):
        n += 1
        target = f'{work_dir.rstrip(os.sep)}.old-{stamp}-{n}'
    os.rename(work_dir, target)
    return target


@contextlib.contextmanager
def claim_work_dir(work_dir: str, resume: bool, fresh: bool = False, resume_from: Optional[str] = None,
                   log=print) -> Iterator[Optional[str]]:
    """Hold ``work_dir`` for one training run (module docstring); yields where an old run went.

    Args:
        work_dir: the run's work dir (created if missing).
        resume: the run resumes (``--resume``): the work dir's run is continued, not replaced.
        fresh: move an existing run aside to ``<work_dir>.old-<time>`` and start afresh.
        resume_from: the checkpoint given to ``--resume``; one of another folder may only continue
            into a work dir that holds no run (the two runs' checkpoints would mix).
        log: where the move is reported.

    Raises:
        WorkDirBusyError: another process holds the work dir.
        FileExistsError: a fresh start on a work dir that holds a run, without ``fresh``; or a
            resume from another folder's checkpoint into it.
        ValueError: ``resume`` and ``fresh`` together.
    """
    if resume and fresh:
        raise ValueError('--resume and --fresh exclude each other: --resume continues the run in '
                         'the work dir, --fresh moves it aside and starts a new one')
    if not _is_main_process():
        yield None
        return
    lock = WorkDirLock(work_dir).acquire()
    moved = None
    try:
        existing = run_files(work_dir)
        if existing and resume_from and \
                osp.realpath(osp.dirname(osp.abspath(resume_from))) != osp.realpath(work_dir):
            raise FileExistsError(
                f'--resume {resume_from}: that checkpoint is of another folder, and work dir '
                f'{work_dir} already holds a run ({", ".join(existing[:6])}); continuing there '
                'would mix the two runs. Give an empty --work-dir, or resume from a checkpoint '
                'of this work dir')
        if existing and not resume:
            if not fresh:
                shown = ', '.join(existing[:6]) + (', ...' if len(existing) > 6 else '')
                raise FileExistsError(
                    f'work dir {work_dir} already holds a run ({shown}); a new run would overwrite '
                    'and mix with it. Continue it with --resume, start afresh with --fresh (which '
                    f'moves the old run to {work_dir.rstrip(os.sep)}.old-<time>), or choose '
                    'another --work-dir')
            old_lock = lock
            moved = _move_aside(work_dir)  # the lock file moves with it and stays held meanwhile
            lock = WorkDirLock(work_dir).acquire()
            old_lock.release()
            log(f'--fresh: moved the previous run of {work_dir} to {moved}')
        yield moved
    finally:
        lock.release()
