"""ONNX export of a ReID model's inference path, with the input normalisation inside the graph.

The exported graph takes ``images``: (B, 3, H, W) RGB, values 0-255 (float32, or uint8 with
``input_dtype='uint8'``), B dynamic, H x W the config's test size, and returns ``features``
(B, D): the model's test feature. Inside: cast to float -> RGB->BGR if the model was trained on
BGR input (its data preprocessor has no BGR->RGB conversion) -> (x - mean) / std with the data
preprocessor's statistics -> ``model(x, None, mode='tensor')``, averaged with the mirrored image
when the config's ``test_cfg.flip`` is set. So a tracker feeds plain RGB crops and gets exactly
the features of ``extract_features`` (which decodes BGR with OpenCV and converts in the
preprocessor). Any ``ReIDModel`` whose tensor mode is traceable (no Python loop over the batch, no
control flow on tensor values, no ``.item()``) exports, plugins included.
"""
import re
from typing import Optional, Tuple

import numpy as np
import torch
from torch import nn

INPUT_NAME, OUTPUT_NAME = 'images', 'features'


class ExportError(RuntimeError):
    """The model cannot be exported to ONNX; the message names the operation when known."""


def require_deploy():
    """Import onnx and onnxruntime, or raise an ImportError saying how to install them."""
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError as err:
        raise ImportError(f'ONNX export needs onnx, onnxscript and onnxruntime ({err.name} is '
                          "missing): pip install -e '.[deploy]'") from err


class NormalizedReIDModel(nn.Module):
    """RGB 0-255 images -> the model's test features (see the module docstring)."""

    def __init__(self, model: nn.Module, flip: Optional[bool] = None):
        super().__init__()
        self.model = model
        pre = model.data_preprocessor
        if getattr(pre, '_enable_normalize', False):
            mean = pre.mean.detach().clone().view(1, -1, 1, 1)
            std = pre.std.detach().clone().view(1, -1, 1, 1)
        else:
            mean, std = torch.zeros(1, 3, 1, 1), torch.ones(1, 3, 1, 1)
        self.register_buffer('mean', mean.float(), persistent=False)
        self.register_buffer('std', std.float(), persistent=False)
        # the preprocessor converts the pipeline's BGR to RGB; without it the model expects BGR
        self.to_bgr = not getattr(pre, '_channel_conversion', False)
        test_cfg = getattr(model, 'test_cfg', None) or {}
        self.flip = bool(test_cfg.get('flip', False)) if flip is None else flip

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = images.float()
        if self.to_bgr:
            x = x.flip(1)
        x = (x - self.mean) / self.std
        feats = self.model(x, None, mode='tensor')
        if self.flip:
            feats = (feats + self.model(x.flip(-1), None, mode='tensor')) / 2
        return feats


def test_input_size(cfg) -> Tuple[int, int]:
    """(H, W) of the config's test pipeline (its ``ReIDResize``)."""
    from .inference import test_pipeline_cfg
    for t in test_pipeline_cfg(cfg):
        if t.get('type') == 'ReIDResize':
            return tuple(t['size'])
    raise KeyError(f'the test pipeline of {cfg.filename} has no ReIDResize: give the input size')


def _unsupported_op(err: BaseException) -> Optional[str]:
    text = ''
    while err is not None:
        text += f'\n{err}'
        err = err.__cause__ or err.__context__
    for pattern in (r"(aten::[\w.]+)", r"(aten\.[\w.]+)", r"operator[ '\"]+([\w:.]+)"):
        match = re.search(pattern, text)
        if match:
            return match.group(1)
    return None


def export_onnx(model: nn.Module, out_file: str, input_size: Optional[Tuple[int, int]] = None,
                input_dtype: str = 'float32', opset: int = 18, flip: Optional[bool] = None) -> str:
    """Write the ONNX graph of ``model`` (from ``init_model``) to ``out_file``; returns it.

    Raises:
        ImportError: without onnx / onnxscript / onnxruntime (``pip install -e '.[deploy]'``).
        ExportError: an operation cannot be exported (named in the message).
    """
    require_deploy()
    if input_dtype not in ('float32', 'uint8'):
        raise ValueError(f"input_dtype must be 'float32' or 'uint8', got {input_dtype!r}")
    with_camera = [type(m).__name__ for m in model.modules() if getattr(m, 'uses_camera', False)]
    if with_camera:
        raise ExportError(f'{with_camera[0]} uses camera ids (SIE): the exported graph has no camera '
                          'input; export a model without camera embedding (sie_num_cams=0)')
    height, width = input_size or test_input_size(model.cfg)
    wrapper = NormalizedReIDModel(model.eval(), flip).eval()
    dtype = torch.uint8 if input_dtype == 'uint8' else torch.float32
    example = torch.randint(0, 256, (2, 3, height, width)).to(dtype)
    with torch.no_grad():  # fills caches built on first use (PAT's fixed masks): constants in the graph
        wrapper(example)
    try:
        torch.onnx.export(wrapper, (example, ), out_file, input_names=[INPUT_NAME],
                          output_names=[OUTPUT_NAME], opset_version=opset, dynamo=False,
                          dynamic_axes={INPUT_NAME: {0: 'batch'}, OUTPUT_NAME: {0: 'batch'}})
    except Exception as err:  # noqa: BLE001 - the exporter fails in many ways; name the op
        op = _unsupported_op(err)
        where = f'the operation {op}' if op else 'an operation'
        raise ExportError(f'cannot export {type(model).__name__} to ONNX: {where} is not supported '
                          f'(opset {opset}); {type(err).__name__}: {str(err).splitlines()[0]}') from err
    return out_file


def check_onnx(model: nn.Module, onnx_file: str, batch_sizes=(1, 3), seed: int = 0,
               flip: Optional[bool] = None) -> float:
    """Max abs difference between onnxruntime and PyTorch on random RGB images (several batch
    sizes: the batch axis is dynamic)."""
    require_deploy()
    import onnxruntime as ort
    session = ort.InferenceSession(onnx_file, providers=['CPUExecutionProvider'])
    spec = session.get_inputs()[0]
    height, width = spec.shape[2], spec.shape[3]
    dtype = np.uint8 if 'uint8' in spec.type else np.float32
    wrapper = NormalizedReIDModel(model.eval(), flip).eval()
    rng = np.random.default_rng(seed)
    worst = 0.0
    for b in batch_sizes:
        images = rng.integers(0, 256, (b, 3, height, width)).astype(dtype)
        got = session.run([OUTPUT_NAME], {INPUT_NAME: images})[0]
        with torch.no_grad():
            expected = wrapper(torch.from_numpy(images)).numpy()
        if got.shape != expected.shape:
            raise ExportError(f'{onnx_file}: output {got.shape} for a batch of {b}, PyTorch gives '
                              f'{expected.shape}')
        worst = max(worst, float(np.abs(got - expected).max()))
    return worst
