"""Safe loading of pretrained backbone weights from local files (backbone issue, shared by all backbones).

- :func:`load_state_dict_safe` reads a checkpoint WITHOUT running code stored in it: pickles go through
  ``torch.load(weights_only=True)`` (tensors and plain containers only; a pickle whose ``__reduce__``
  would call a function is refused), ``.safetensors`` through safetensors, and TorchScript archives (the
  OpenAI CLIP release) through ``torch.jit.load`` + ``state_dict()``. Nestings (``state_dict``, ``model``,
  ``module``, DDP's ``module.`` prefix) are unwrapped.
- :func:`load_pretrained` copies a state dict into a model, adapting registered keys whose shape differs
  (e.g. position embeddings on a new patch grid), and logs which keys were loaded, resized, left as
  initialised (missing) or ignored (unexpected). Shapes that cannot be adapted raise an error naming the
  key, both shapes and the file.
"""
import os
import pickle
import re
import warnings
import zipfile
from typing import Callable, Dict, Iterable, Mapping, Optional, Sequence, Union

import torch
from mmengine.logging import MMLogger
from torch import nn

__all__ = ['load_state_dict_safe', 'load_pretrained', 'is_torchscript_archive', 'preview_keys']

# Containers that checkpoints wrap their weights in, unwrapped in this order.
_NESTING_KEYS = ('state_dict', 'model', 'module')
_DDP_PREFIX = 'module.'

Resizer = Callable[[torch.Tensor, torch.Size], torch.Tensor]


def preview_keys(keys: Iterable[str], n: int = 8) -> str:
    """``'a, b, c, ... (N in all)'`` for error messages and load reports."""
    keys = list(keys)
    if not keys:
        return '-'
    shown = ', '.join(keys[:n])
    return shown if len(keys) <= n else f'{shown}, ... ({len(keys)} in all)'


def is_torchscript_archive(path: str) -> bool:
    """True for a TorchScript zip archive (it holds ``code/`` and ``constants.pkl``; ``torch.save`` files do not)."""
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
    return any(name.endswith('/constants.pkl') or '/code/' in name for name in names)


def _is_safetensors(path: str) -> bool:
    if str(path).endswith('.safetensors'):
        return True
    with open(path, 'rb') as f:  # 8-byte little-endian header length, then a JSON header
        head = f.read(9)
    return len(head) == 9 and head[8:9] == b'{' and int.from_bytes(head[:8], 'little') < 100_000_000


def _torch_load_weights_only(path: str):
    try:
        return torch.load(path, map_location='cpu', weights_only=True)
    except pickle.UnpicklingError as err:
        text = str(err)
        if 'weights only' in text.lower() or 'weights_only' in text:
            found = re.search(r'GLOBAL ([\w.]+)', text)
            what = f'the global "{found.group(1)}"' if found else 'objects other than tensors'
            raise ValueError(
                f'Refusing to load "{path}": it is not a plain tensor checkpoint. Its pickle refers to '
                f'{what}, and unpickling it could run arbitrary code, so it is only read with '
                'torch.load(weights_only=True). Re-save the weights as a plain state dict '
                '(torch.save(model.state_dict(), path)) from a source you trust.') from err
        raise ValueError(f'"{path}" is not a readable PyTorch checkpoint: {text.splitlines()[0]}') from err
    except Exception as err:  # truncated or foreign files fail in many ways inside the unpickler
        raise ValueError(f'"{path}" is not a readable PyTorch checkpoint '
                         f'({type(err).__name__}: {err})') from err


def _torchscript_state_dict(path: str) -> Dict[str, torch.Tensor]:
    """The state dict of a TorchScript archive; a ValueError naming the file if it does not load."""
    with warnings.catch_warnings():  # torch.jit is deprecated, but it is the format of OpenAI's release
        warnings.simplefilter('ignore', FutureWarning)
        try:
            return torch.jit.load(path, map_location='cpu').state_dict()
        except Exception as err:  # noqa: BLE001 - TorchScript reports damaged or foreign code many ways
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise ValueError(f'"{path}" looks like a TorchScript archive but does not load as one '
                             f'({type(err).__name__}: {first}); is it a damaged or crafted file?') from err


def _unwrap(obj, path: str) -> Dict[str, torch.Tensor]:
    while isinstance(obj, Mapping):
        inner = next((obj[k] for k in _NESTING_KEYS if isinstance(obj.get(k), Mapping)), None)
        if inner is None:
            break
        obj = inner
    if not isinstance(obj, Mapping):
        raise ValueError(f'"{path}" holds a {type(obj).__name__}, expected a dict of tensors (a state dict)')
    bad = [k for k, v in obj.items() if not isinstance(v, torch.Tensor)]
    if bad:
        raise ValueError(f'"{path}": expected a state dict (str -> tensor) after unwrapping '
                         f'{"/".join(_NESTING_KEYS)}; these keys hold no tensor: {preview_keys(bad)}')
    state_dict = dict(obj)
    if state_dict and all(k.startswith(_DDP_PREFIX) for k in state_dict):
        state_dict = {k[len(_DDP_PREFIX):]: v for k, v in state_dict.items()}
    return state_dict


def load_state_dict_safe(path: str, prefix: Optional[str] = None) -> Dict[str, torch.Tensor]:
    """Read a local checkpoint file into a flat ``{name: tensor}`` dict on the CPU, running no code from it.

    Args:
        path: ``.pth`` / ``.pt`` / ``.bin`` pickle (zip or legacy format), ``.safetensors`` or a TorchScript
            archive (e.g. OpenAI's ``ViT-B-16.pt``).
        prefix: keep only the keys starting with this prefix, with the prefix removed (e.g. ``'visual.'``
            or ``'backbone.'``).

    Raises:
        FileNotFoundError: no such file.
        ValueError: the file executes code when unpickled (refused), is not a checkpoint, or has no key
            under ``prefix``; the message names the file.
    """
    path = str(path)
    if os.path.isdir(path):
        raise IsADirectoryError(f'Pretrained weights "{path}" is a folder; give the path of a weights file')
    try:
        if is_torchscript_archive(path):
            obj = _torchscript_state_dict(path)
        elif _is_safetensors(path):
            from safetensors.torch import load_file
            obj = load_file(path, device='cpu')
        else:
            obj = _torch_load_weights_only(path)
    except FileNotFoundError:
        raise FileNotFoundError(f'Pretrained weights "{path}" do not exist; weights are never downloaded, '
                                'give the path of a local file') from None
    state_dict = _unwrap(obj, path)
    if prefix:
        state_dict = {k[len(prefix):]: v for k, v in state_dict.items() if k.startswith(prefix)}
        if not state_dict:
            raise ValueError(f'"{path}" has no key starting with "{prefix}"; keys found: '
                             f'{preview_keys(list(_unwrap(obj, path)))}')
    return state_dict


def load_pretrained(model: nn.Module,
                    state_dict: Mapping[str, torch.Tensor],
                    logger=None,
                    source: Optional[str] = None,
                    resizers: Optional[Mapping[str, Resizer]] = None,
                    expected_missing: Sequence[str] = (),
                    require_all: bool = False) -> dict:
    """Copy ``state_dict`` into ``model`` (non-strict) and log a report.

    Args:
        model: the module to fill; its own key names are expected (convert other layouts first).
        state_dict: ``{name: tensor}``.
        logger: a ``logging.Logger`` (default: the current MMLogger).
        source: the file the weights came from, named in messages.
        resizers: ``{key: fn(tensor, target_shape) -> tensor}`` for keys whose shape may legitimately
            differ (position embeddings); any other shape mismatch is an error.
        expected_missing: prefixes of model keys that are newly initialised by design (reported apart).
        require_all: raise if any other model key is absent from the file (nothing is loaded then).

    Returns:
        ``dict(loaded=[...], resized={key: (old_shape, new_shape)}, missing=[...], unexpected=[...])``.

    Raises:
        ValueError: no key of the file matches the model (wrong file), a shape differs and cannot be
            adapted (the message names the key, both shapes and the file), or ``require_all`` and keys
            are missing.
    """
    source = source or '<state dict>'
    logger = logger or MMLogger.get_current_instance()
    resizers = dict(resizers or {})
    own = model.state_dict()
    model_name = type(model).__name__
    matched = [k for k in state_dict if k in own]
    if not matched:
        raise ValueError(f'{source}: no key matches {model_name}; is it the right file or format? '
                         f'file keys: {preview_keys(list(state_dict))}; model keys: {preview_keys(list(own))}')
    to_load, resized = {}, {}
    for key in matched:
        value, target = state_dict[key], own[key]
        if value.shape != target.shape:
            if key not in resizers:
                raise ValueError(
                    f'{source}: key "{key}" has shape {tuple(value.shape)} in the file but '
                    f'{tuple(target.shape)} in {model_name}; the checkpoint is for another architecture '
                    '(embedding width, depth, patch size or number of heads) or another model')
            try:
                new = resizers[key](value, target.shape)
            except ValueError as err:
                raise ValueError(f'{source}: key "{key}" of shape {tuple(value.shape)} cannot be adapted to '
                                 f'{tuple(target.shape)} in {model_name}: {err}') from err
            if new.shape != target.shape:
                raise ValueError(f'{source}: key "{key}" of shape {tuple(value.shape)} was resized to '
                                 f'{tuple(new.shape)}, but {model_name} expects {tuple(target.shape)}')
            resized[key] = (tuple(value.shape), tuple(new.shape))
            value = new
        to_load[key] = value.to(dtype=target.dtype)
    missing = [k for k in own if k not in to_load and not k.endswith('num_batches_tracked')]
    new_init = [k for k in missing if k.startswith(tuple(expected_missing))] if expected_missing else []
    missing = [k for k in missing if k not in new_init]
    unexpected = [k for k in state_dict if k not in own]
    if require_all and missing:
        raise ValueError(f'{source}: {len(missing)} weights of {model_name} are not in the file: '
                         f'{preview_keys(missing)}; keys of the file it does not use: {preview_keys(unexpected)}. '
                         'Is it the right file, format and architecture?')
    model.load_state_dict(to_load, strict=False)

    lines = [f'Loaded {len(to_load)} tensors from {source} into {model_name}.']
    if resized:
        lines.append('  resized: ' + ', '.join(f'{k} {old} -> {new}' for k, (old, new) in resized.items()))
    if new_init:
        lines.append(f'  newly initialised (not in the file by design): {preview_keys(new_init)}')
    if missing:
        lines.append(f'  missing (left as initialised): {preview_keys(missing)}')
    if unexpected:
        lines.append(f'  unexpected (ignored): {preview_keys(unexpected)}')
    logger.info('\n'.join(lines))
    return dict(loaded=list(to_load), resized=resized, missing=new_init + missing, unexpected=unexpected)


def convert_checkpoint(src: str, dst: str, convert: Callable[..., Dict[str, torch.Tensor]],
                       build: Callable[[Dict[str, torch.Tensor]], nn.Module],
                       label: Union[str, Callable[[Dict[str, torch.Tensor]], str]]) -> dict:
    """The body of the ViT-family converter scripts (``tools/model_converters/``): read ``src`` safely,
    ``convert(state_dict, source=src)`` it to the engine's keys, check-load it into ``build(state_dict)``
    (every key and shape checked, position embeddings resampled), print the report and save the keys the
    backbone uses to ``dst`` with ``torch.save``. Returns the load report."""
    state_dict = convert(load_state_dict_safe(src), source=src)
    backbone = build(state_dict)
    report = backbone.load_converted(state_dict, source=src)
    print(f'{src}: {label(state_dict) if callable(label) else label}; loaded {len(report["loaded"])} tensors, '
          f'resized {report["resized"] or "-"}, newly initialised {report["missing"] or "-"}, '
          f'dropped {report["unexpected"] or "-"}')
    dropped = set(report['unexpected'])
    torch.save({k: v for k, v in state_dict.items() if k not in dropped}, dst)
    print(f'saved to {dst}')
    return report


def converter_args(description: str, img_size: Sequence[int], argv=None):
    """Command line of the converter scripts: ``SRC DST [--img-size H W]`` (the check-load size)."""
    import argparse
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument('src', help='source checkpoint (local file)')
    parser.add_argument('dst', help='output path of the converted state dict')
    parser.add_argument('--img-size', type=int, nargs=2, default=tuple(img_size), metavar=('H', 'W'),
                        help=f'image size of the check load (default {img_size[0]} {img_size[1]})')
    args = parser.parse_args(argv)
    args.img_size = tuple(args.img_size)
    return args
