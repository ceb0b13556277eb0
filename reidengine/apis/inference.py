"""Using a trained model: build it from its config and checkpoint, and extract features.

``init_model`` builds the config's model (a plugin's config imports its plugin through
``custom_imports``), loads the checkpoint weights-only (``torch.load(weights_only=True)``: no code
in a file can run) and puts the model in eval mode. ``extract_features`` runs the config's test
pipeline and the model's ``test_step`` (data preprocessor + ``predict``), i.e. exactly what the
test loop computes for the same images.

Images may be given as file paths, a folder (its images, sorted, recursively), HxWx3 / NxHxWx3
uint8 arrays or 3xHxW / Nx3xHxW tensors (0-255). Arrays and tensors are RGB unless
``channel_order='bgr'``; they enter the pipeline after its loading step, as a decoded image would.
"""
import contextlib
import copy
import os
import os.path as osp
import sys
from typing import List, Optional, Sequence, Union

import numpy as np
import torch
from mmengine.config import Config
from mmengine.dataset import Compose, pseudo_collate

from reidengine.datasets.base_dataset import IMG_EXTENSIONS
from reidengine.engine.runner.checkpoint_io import load_checkpoint_safe
from reidengine.registry import MODELS, TRANSFORMS
from reidengine.engine.amp import amp_settings
from reidengine.utils import register_all_modules
from reidengine.utils.amp import autocast, resolve_amp_dtype
from reidengine.utils.config_knobs import resolve_references

ImageInput = Union[str, np.ndarray, torch.Tensor, Sequence]

# transforms that read the image from ``img_path``; arrays start after them
LOADING_TRANSFORMS = ('LoadReIDImage', 'LoadImageFromFile')


def _strip_pretrained(cfg) -> None:
    """Drop ``pretrained=`` paths from the model config: the checkpoint holds every weight."""
    if isinstance(cfg, dict):
        for key, value in list(cfg.items()):
            if key == 'pretrained' and isinstance(value, str):
                cfg[key] = None
            else:
                _strip_pretrained(value)
    elif isinstance(cfg, (list, tuple)):
        for value in cfg:
            _strip_pretrained(value)


def init_model(config: Union[str, Config], checkpoint: Optional[str] = None,
               device: str = 'cpu', cfg_options: Optional[dict] = None) -> torch.nn.Module:
    """The config's model with the checkpoint's weights, in eval mode on ``device``.

    Args:
        config: config file path or a loaded :class:`Config`; its ``custom_imports`` (plugins)
            are imported.
        checkpoint: a checkpoint written by the engine (``state_dict`` inside) or a plain state
            dict, read weights-only; None keeps the initial weights.
        device: ``'cpu'``, ``'cuda'``, ``'cuda:1'``...
        cfg_options: config overrides (as ``--cfg-options``).

    The model keeps its config as ``model.cfg`` (``extract_features`` reads the test pipeline).
    """
    if isinstance(config, (str, os.PathLike)):
        if not osp.isfile(config):
            raise FileNotFoundError(f'config file {config} does not exist')
        config = Config.fromfile(str(config))  # imports custom_imports (plugins)
    elif not isinstance(config, Config):
        raise TypeError(f'config must be a file path or an mmengine Config, got {type(config).__name__}')
    else:
        config = copy.deepcopy(config)
        if config.get('custom_imports'):
            from mmengine.utils import import_modules_from_strings
            import_modules_from_strings(**config.custom_imports)
    if cfg_options:
        config.merge_from_dict(cfg_options)
    resolve_references(config)  # '${knob}' values (reidengine/utils/config_knobs.py)
    if 'model' not in config:
        raise KeyError(f'config {config.filename} has no "model" key')
    register_all_modules(init_default_scope=False)
    model_cfg = copy.deepcopy(config.model)
    if checkpoint is not None:
        _strip_pretrained(model_cfg)
    model = MODELS.build(model_cfg)
    if checkpoint is not None:
        ckpt = load_checkpoint_safe(checkpoint, map_location='cpu')
        state = ckpt.get('state_dict', ckpt)
        state = {k[len('module.'):] if k.startswith('module.') else k: v for k, v in state.items()}
        missing, unexpected = model.load_state_dict(state, strict=False)
        if missing or unexpected:
            raise KeyError(f'checkpoint {checkpoint} does not match the model of {config.filename}: '
                           f'missing keys {missing[:5]}{"..." if len(missing) > 5 else ""}, '
                           f'unexpected keys {unexpected[:5]}{"..." if len(unexpected) > 5 else ""}')
    model.cfg = config
    return model.to(device).eval()


def test_pipeline_cfg(cfg: Config) -> list:
    """The test pipeline of the config's (first) test set."""
    loader = cfg.get('test_dataloader')
    if isinstance(loader, (list, tuple)):
        loader = loader[0] if loader else None
    pipeline = None
    if loader:
        dataset = loader.get('dataset', {})
        while 'pipeline' not in dataset and 'dataset' in dataset:  # wrappers
            dataset = dataset['dataset']
        pipeline = dataset.get('pipeline')
        if pipeline is None and dataset.get('datasets'):
            pipeline = dataset['datasets'][0].get('pipeline')
    if pipeline is None:
        pipeline = cfg.get('test_pipeline')
    if not pipeline:
        raise KeyError(f'config {cfg.filename} has neither a test_dataloader with a dataset '
                       'pipeline nor a test_pipeline')
    return [dict(t) for t in pipeline]


def list_images(folder: str) -> List[str]:
    """Image files under ``folder`` (recursively), sorted."""
    if not osp.isdir(folder):
        raise FileNotFoundError(f'image folder {folder} does not exist')
    paths = []
    for root, _, files in os.walk(folder):
        paths.extend(osp.join(root, f) for f in files if f.lower().endswith(IMG_EXTENSIONS))
    if not paths:
        raise ValueError(f'no images ({", ".join(IMG_EXTENSIONS)}) under {folder}')
    return sorted(paths)


def _to_items(images: ImageInput, channel_order: str) -> list:
    """One entry per image: a path (str) or an HxWx3 uint8 BGR array."""
    if channel_order not in ('rgb', 'bgr'):
        raise ValueError(f"channel_order must be 'rgb' or 'bgr', got {channel_order!r}")
    if isinstance(images, (str, os.PathLike)):
        images = str(images)
        if osp.isdir(images):
            return list_images(images)
        if not osp.isfile(images):
            raise FileNotFoundError(f'image {images} does not exist')
        return [images]
    if isinstance(images, torch.Tensor):
        t = images.detach().cpu()
        if t.dim() not in (3, 4) or t.shape[-3] != 3:
            raise ValueError(f'image tensors must be 3xHxW or Nx3xHxW, got {tuple(t.shape)}')
        t = t.movedim(-3, -1)
        images = t.round().clamp(0, 255).to(torch.uint8).numpy() if t.is_floating_point() \
            else t.to(torch.uint8).numpy()
    if isinstance(images, np.ndarray):
        if images.ndim == 3:
            images = images[None]
        if images.ndim != 4 or images.shape[-1] != 3:
            raise ValueError(f'image arrays must be HxWx3 or NxHxWx3, got {images.shape}')
        images = list(images)
    items = []
    for i, img in enumerate(images):
        if isinstance(img, (str, os.PathLike)):
            items.append(str(img))
            continue
        if isinstance(img, torch.Tensor):
            items.extend(_to_items(img, channel_order))
            continue
        img = np.asarray(img)
        if img.ndim != 3 or img.shape[2] != 3:
            raise ValueError(f'image {i} must be an HxWx3 array, got shape {img.shape}')
        if img.dtype != np.uint8:
            if np.issubdtype(img.dtype, np.floating) and img.max() <= 1.0 + 1e-6 and img.size:
                raise ValueError(f'image {i} is a float array in [0, 1]; give 0-255 values '
                                 '(uint8 or float)')
            img = np.clip(np.rint(img), 0, 255).astype(np.uint8)
        if channel_order == 'rgb':
            img = img[..., ::-1]
        items.append(np.ascontiguousarray(img))
    return items


def _progress(total: int, enabled: Optional[bool], desc: str):
    """A tqdm bar on a terminal of the main process (``enabled=None``), else nothing."""
    from mmengine.dist import is_main_process
    if enabled is None:
        enabled = sys.stderr.isatty() and is_main_process()
    if not enabled:
        return None
    from tqdm import tqdm
    return tqdm(total=total, desc=desc, unit='img')


@contextlib.contextmanager
def _test_flip(model, flip: Optional[bool]):
    if flip is None:
        yield
        return
    test_cfg = getattr(model, 'test_cfg', None)
    if not isinstance(test_cfg, dict):
        raise TypeError(f'{type(model).__name__} has no test_cfg dict: flip cannot be set')
    previous = test_cfg.get('flip')
    test_cfg['flip'] = bool(flip)
    try:
        yield
    finally:
        if previous is None:
            test_cfg.pop('flip')
        else:
            test_cfg['flip'] = previous


class _Pipelines:
    """The test pipeline for paths, and the same pipeline after its loading step for arrays."""

    def __init__(self, model, pipeline: Optional[list] = None):
        if pipeline is None:
            cfg = getattr(model, 'cfg', None)
            if cfg is None:
                raise ValueError('the model has no config (model.cfg); build it with init_model or '
                                 'pass pipeline=')
            pipeline = test_pipeline_cfg(cfg)
        register_all_modules(init_default_scope=False)
        first = pipeline[0].get('type') if pipeline else None
        transforms = [TRANSFORMS.build(t) for t in pipeline]
        self.paths = Compose(transforms)
        self.arrays = Compose(transforms[1:] if first in LOADING_TRANSFORMS else transforms)

    def __call__(self, item, index: int, camid: int = 0) -> dict:
        meta = dict(pid=-1, camid=int(camid), domain=0)
        if isinstance(item, str):
            return self.paths(dict(meta, img_path=item))
        return self.arrays(dict(meta, img_path=f'<image {index}>', img=item,
                                img_shape=item.shape[:2], ori_shape=item.shape[:2]))


def prepare_inputs(model, images: ImageInput, camids: Optional[Sequence[int]] = None,
                   channel_order: str = 'rgb', pipeline: Optional[list] = None) -> dict:
    """``dict(inputs, data_samples)`` of ``images`` after the test pipeline and the model's data
    preprocessor: what the model's forward receives (for ``attention_maps``, Grad-CAM, export)."""
    pipelines = _Pipelines(model, pipeline)
    items = _to_items(images, channel_order)
    batch = [pipelines(item, i, 0 if camids is None else camids[i]) for i, item in enumerate(items)]
    return model.data_preprocessor(pseudo_collate(batch), False)


@torch.no_grad()
def model_device_type(model: torch.nn.Module) -> str:
    param = next(model.parameters(), None)
    return param.device.type if param is not None else 'cpu'


def _amp_dtype(model: torch.nn.Module, amp: Union[bool, str, None]) -> Optional[torch.dtype]:
    """The autocast dtype of ``extract_features`` (None: float32)."""
    if amp is None:
        settings = amp_settings((getattr(model, 'cfg', None) or {}).get('amp'))
        amp = settings['dtype'] if settings['enabled'] else False
    if amp is False:
        return None
    return resolve_amp_dtype('bfloat16' if amp is True else amp, model_device_type(model))


def extract_features(model: torch.nn.Module, images: ImageInput, batch_size: int = 64,
                     flip: Optional[bool] = None, camids: Optional[Sequence[int]] = None,
                     channel_order: str = 'rgb', pipeline: Optional[list] = None,
                     progress: Optional[bool] = None,
                     amp: Union[bool, str, None] = None) -> torch.Tensor:
    """Test features (N, D) of ``images``, as the test loop computes them.

    Args:
        model: from :func:`init_model` (its ``cfg`` gives the test pipeline).
        images: a path, a folder, a list of paths / arrays / tensors, an NxHxWx3 array or an
            Nx3xHxW tensor (0-255 values).
        batch_size: images per forward pass.
        flip: override the config's test-time flip (None: the config's).
        camids: camera ids (0-based) of the images, for models with camera embeddings.
        amp: mixed precision of the forward passes: None follows the config's ``amp`` key, False
            is float32, True or a dtype name ('bfloat16', 'float16') autocasts where the device
            runs it fast (on a CPU only with AMX / AVX512-BF16; else float32, logged once).
            Features are returned in float32 either way.
        channel_order: of arrays and tensors, ``'rgb'`` or ``'bgr'`` (OpenCV).
        pipeline: a test pipeline config instead of the model config's.
        progress: progress bar (None: on a terminal, main process only).
    """
    if batch_size < 1:
        raise ValueError(f'batch_size must be positive, got {batch_size}')
    pipelines = _Pipelines(model, pipeline)
    items = _to_items(images, channel_order)
    if camids is not None and len(camids) != len(items):
        raise ValueError(f'{len(camids)} camids for {len(items)} images')
    feats = []
    bar = _progress(len(items), progress, 'features')
    amp_dtype = _amp_dtype(model, amp)
    with _test_flip(model, flip), autocast(amp_dtype, model_device_type(model)):
        for start in range(0, len(items), batch_size):
            batch = [pipelines(items[i], i, 0 if camids is None else camids[i])
                     for i in range(start, min(start + batch_size, len(items)))]
            outputs = model.test_step(pseudo_collate(batch))
            feats.append(torch.stack([s.pred_feature for s in outputs]).float().cpu())
            if bar is not None:
                bar.update(len(batch))
    if bar is not None:
        bar.close()
    return torch.cat(feats) if feats else torch.empty(0, 0)
