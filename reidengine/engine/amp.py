"""Mixed precision in training and testing: the config's ``amp`` key, the AMP optimizer wrapper.

A config turns it on with a top-level key (read by ``ReIDRunner`` when it is built, so a child
config or ``--cfg-options amp.enabled=True`` or the tools' ``--amp`` flag all work)::

    amp = dict(enabled=True, dtype='bfloat16')   # or 'float16' (GPU only); loss_scale optional

What it does:

- training: the optimizer wrapper becomes :class:`MixedPrecisionOptimWrapper` (MMEngine's
  ``AmpOptimWrapper`` made to run on CPU too): the forward and the loss run under
  ``torch.autocast``; float16 uses a dynamic loss scaler (its state is saved in checkpoints with
  the optimizer's), bfloat16 needs none (same exponent range as float32) unless ``loss_scale``
  asks for one.
- testing / feature extraction: the ReID test and validation loops run the model under the
  same autocast; the features handed to the evaluator are float32.

The dtype is resolved per machine by ``reidengine.utils.amp.resolve_amp_dtype``: float16 or
bfloat16 on a GPU; bfloat16 on a CPU with AMX or AVX512-BF16, else float32 with one log line.

What must stay float32 (losses, distances, memory banks, exponentials with large arguments)
runs under ``reidengine.utils.amp.fp32_region`` / ``float32_forward``.
"""
import contextlib
from typing import Optional, Union

import torch
from mmengine.optim import AmpOptimWrapper, OptimWrapper

from reidengine.registry import OPTIM_WRAPPERS
from reidengine.utils.amp import autocast, check_amp_dtype, default_device_type, resolve_amp_dtype

__all__ = ['amp_settings', 'configure_amp', 'loop_autocast_dtype', 'MixedPrecisionOptimWrapper']

AMP_KEYS = ('enabled', 'dtype', 'loss_scale')


def amp_settings(amp: Optional[dict], owner: str = 'amp') -> dict:
    """Check an ``amp`` config dict; returns it with defaults (enabled=False, dtype='bfloat16')."""
    if amp is None or amp is False:
        return dict(enabled=False, dtype='bfloat16')
    if amp is True:
        amp = dict(enabled=True)
    if not isinstance(amp, dict):
        raise TypeError(f'{owner} must be a dict like dict(enabled=True, dtype="bfloat16"), '
                        f'got {amp!r}')
    unknown = set(amp) - set(AMP_KEYS)
    if unknown:
        raise ValueError(f'{owner}: unknown key(s) {sorted(unknown)}; allowed: {list(AMP_KEYS)}')
    out = dict(enabled=bool(amp.get('enabled', False)),
               dtype=check_amp_dtype(amp.get('dtype', 'bfloat16')))
    if amp.get('loss_scale') is not None:
        out['loss_scale'] = amp['loss_scale']
    return out


def configure_amp(cfg) -> None:
    """Apply the config's top-level ``amp`` dict: the AMP optimizer wrapper and the test loops.

    Called by ``ReIDRunner.from_cfg``. With ``amp.enabled`` the ``optim_wrapper`` (if any) gets
    ``type='MixedPrecisionOptimWrapper'`` with the dtype (an ``OptimWrapper`` only: other types
    are an error), and ``val_cfg`` / ``test_cfg`` get ``amp`` (the ReID loops) or ``fp16=True``
    (MMEngine's ``TestLoop`` / ``ValLoop``, autocast to the device's default dtype).
    """
    amp = amp_settings(cfg.get('amp'), 'config key amp')
    if not amp['enabled']:
        return
    wrapper = cfg.get('optim_wrapper')
    if wrapper is not None:
        kind = wrapper.get('type', 'OptimWrapper')
        if kind not in ('OptimWrapper', 'AmpOptimWrapper', 'MixedPrecisionOptimWrapper',
                        OptimWrapper, AmpOptimWrapper):
            raise ValueError(f'amp.enabled needs optim_wrapper.type OptimWrapper (it becomes '
                             f'MixedPrecisionOptimWrapper), got {kind!r}')
        wrapper['type'] = 'MixedPrecisionOptimWrapper'
        wrapper['dtype'] = amp['dtype']
        if 'loss_scale' in amp:
            wrapper['loss_scale'] = amp['loss_scale']
    for key in ('val_cfg', 'test_cfg'):
        loop = cfg.get(key)
        kind = str(loop.get('type', '')) if loop is not None else ''
        if kind in ('ReIDTestLoop', 'ReIDValLoop') or kind.endswith(("ReIDTestLoop'>",
                                                                        "ReIDValLoop'>")):
            loop['amp'] = dict(enabled=True, dtype=amp['dtype'])
        elif kind in ('TestLoop', 'ValLoop'):  # MMEngine's loops: their own autocast switch
            loop['fp16'] = True


@OPTIM_WRAPPERS.register_module()
class MixedPrecisionOptimWrapper(AmpOptimWrapper):
    """MMEngine's ``AmpOptimWrapper`` on CPU or GPU, with the dtype the machine runs fast.

    Args:
        dtype: ``'bfloat16'`` or ``'float16'``, resolved by :func:`resolve_amp_dtype` (on a CPU
            without native bf16 the wrapper runs float32, i.e. behaves as ``OptimWrapper``).
        loss_scale: ``'dynamic'``, a float (static scale) or a dict of ``torch.amp.GradScaler``
            arguments; default: ``'dynamic'`` for float16, none for bfloat16.
        **kwargs: ``OptimWrapper`` arguments (optimizer, clip_grad, accumulative_counts).
    """

    def __init__(self, dtype: Union[str, torch.dtype] = 'bfloat16',
                 loss_scale: Union[str, float, dict, None] = None, **kwargs):
        OptimWrapper.__init__(self, **kwargs)  # AmpOptimWrapper.__init__ refuses CPU-only runs
        self.device_type = default_device_type()
        self.cast_dtype = resolve_amp_dtype(dtype, self.device_type)
        if loss_scale is None and self.cast_dtype == torch.float16:
            loss_scale = 'dynamic'
        self._scale_update_param = None
        scaler_args, enabled = {}, loss_scale is not None and self.cast_dtype is not None
        if isinstance(loss_scale, float):
            self._scale_update_param = loss_scale
            scaler_args = dict(init_scale=loss_scale)
        elif isinstance(loss_scale, dict):
            scaler_args = dict(loss_scale)
        elif loss_scale not in (None, 'dynamic'):
            raise TypeError(f'loss_scale must be "dynamic", a float or a dict, got {loss_scale!r}')
        self.loss_scaler = torch.amp.GradScaler(self.device_type, enabled=enabled, **scaler_args)

    def load_state_dict(self, state_dict: dict) -> None:
        if not state_dict.get('loss_scaler', True):  # saved without a scaler (bf16 or float32)
            state_dict = dict(state_dict)
            del state_dict['loss_scaler']
        super().load_state_dict(state_dict)

    @contextlib.contextmanager
    def optim_context(self, model: torch.nn.Module):
        with OptimWrapper.optim_context(self, model), autocast(self.cast_dtype, self.device_type):
            yield


def loop_autocast_dtype(amp: Optional[dict], owner: str) -> Optional[torch.dtype]:
    """The autocast dtype for a test/validation loop's ``amp`` argument, or None (float32)."""
    amp = amp_settings(amp, owner)
    return resolve_amp_dtype(amp['dtype']) if amp['enabled'] else None
