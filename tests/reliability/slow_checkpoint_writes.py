"""Imported into a training subprocess (``custom_imports``) by the kill-and-resume test.

With ``REID_TEST_WRITE_PAUSE=<seconds>`` in the environment, every ``torch.save`` to an open file
writes half of the bytes, flushes them, pauses, then writes the rest: the test can SIGKILL the
process in the middle of a checkpoint write. Without the variable nothing changes.
"""
import io
import os
import time

import torch

PAUSE = float(os.environ.get('REID_TEST_WRITE_PAUSE', '0'))
_save = torch.save


def _slow_save(obj, f, *args, **kwargs):
    if not hasattr(f, 'write'):
        return _save(obj, f, *args, **kwargs)
    buffer = io.BytesIO()
    _save(obj, buffer, *args, **kwargs)
    data = buffer.getvalue()
    f.write(data[:len(data) // 2])
    f.flush()
    os.fsync(f.fileno())
    time.sleep(PAUSE)
    f.write(data[len(data) // 2:])
    return None


if PAUSE > 0:
    torch.save = _slow_save
