"""Checkpoint hook whose files a crash never damages (docs/reliability.md, "Resume").

MMEngine's ``CheckpointHook`` deletes the oldest kept checkpoint *before* writing the new one and
rewrites the ``last_checkpoint`` pointer in place, so a process killed at the wrong moment can
leave fewer checkpoints than promised or an empty pointer. This hook writes the new checkpoint
first (atomically, through ``ReIDRunner.save_checkpoint``), then the pointer (atomically), and only
then deletes the checkpoints that fell out of ``max_keep_ckpts``.

MMEngine's hook also passes unknown keyword arguments on to ``runner.save_checkpoint``, so a typo
(``intervall=2``) fails only at the first save, after a whole epoch; this hook refuses it when the
runner builds its hooks.
"""
import difflib
import inspect
import os.path as osp

from mmengine.dist import is_main_process
from mmengine.hooks import CheckpointHook

from reidengine.registry import HOOKS
from ..runner.checkpoint_io import atomic_write_text

__all__ = ['ReIDCheckpointHook']


@HOOKS.register_module()
class ReIDCheckpointHook(CheckpointHook):
    """``CheckpointHook`` (same arguments) with crash-safe ordering: save, point, then prune.

    Raises:
        TypeError: an argument ``CheckpointHook`` does not have, with close matches.
    """

    def __init__(self, *args, **kwargs):
        known = [n for n in inspect.signature(CheckpointHook.__init__).parameters
                 if n not in ('self', 'kwargs')]
        unknown = sorted(k for k in kwargs if k not in known)
        if unknown:
            hints = []
            for name in unknown:
                close = difflib.get_close_matches(name, known, n=2)
                hints.append(f'{name!r}' + (f' (did you mean {" or ".join(close)}?)' if close else ''))
            raise TypeError(f'ReIDCheckpointHook (default_hooks.checkpoint): unknown argument '
                            f'{", ".join(hints)}; its arguments are {", ".join(known)}')
        super().__init__(*args, **kwargs)

    def _save_checkpoint_with_step(self, runner, step, meta):
        outdated = []
        if self.max_keep_ckpts > 0 and not (self.keep_ckpt_ids and self.keep_ckpt_ids[-1] == step):
            if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
                outdated.append(self.keep_ckpt_ids[0])
            self.keep_ckpt_ids.append(step)  # the deque's maxlen drops the oldest id
            runner.message_hub.update_info('keep_ckpt_ids', list(self.keep_ckpt_ids))

        ckpt_filename = self.filename_tmpl.format(step)
        self.last_ckpt = self.file_backend.join_path(self.out_dir, ckpt_filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        runner.save_checkpoint(
            self.out_dir,
            ckpt_filename,
            self.file_client_args,
            save_optimizer=self.save_optimizer,
            save_param_scheduler=self.save_param_scheduler,
            meta=meta,
            by_epoch=self.by_epoch,
            backend_args=self.backend_args,
            **self.args)
        if not is_main_process():
            return
        atomic_write_text(osp.join(runner.work_dir, 'last_checkpoint'), self.last_ckpt)
        for old in outdated:
            path = self.file_backend.join_path(self.out_dir, self.filename_tmpl.format(old))
            if self.file_backend.isfile(path):
                self.file_backend.remove(path)
