"""ONNX export: onnxruntime equals PyTorch (1e-4) for the BoT baseline and PAT, dynamic batch,
normalisation and channel order inside the graph; clear errors."""
import os.path as osp

import cv2
import numpy as np
import pytest
import torch

from reidengine.apis import extract_features, init_model, list_images

pytest.importorskip('onnxruntime')
pytest.importorskip('onnx')
from reidengine.apis.export import ExportError, check_onnx, export_onnx  # noqa: E402


def run_onnx(path, images):
    import onnxruntime as ort
    session = ort.InferenceSession(str(path), providers=['CPUExecutionProvider'])
    return session.run(['features'], {'images': images})[0]


def test_bot_baseline_round_trip_and_rgb_input(tiny_reid, tmp_path):
    model = init_model(tiny_reid.config, tiny_reid.checkpoint)
    out = export_onnx(model, str(tmp_path / 'bot.onnx'))
    assert check_onnx(model, out, batch_sizes=(1, 4)) < 1e-4
    # plain RGB crops resized to the test size give the features of extract_features
    paths = list_images(tiny_reid.query)[:3]
    rgb = [cv2.imread(p)[..., ::-1] for p in paths]
    # the test pipeline resizes with PIL bicubic; feed the same resized pixels
    from reidengine.datasets.transforms import ReIDResize
    resized = np.stack([ReIDResize(size=(32, 16)).transform(dict(img=np.ascontiguousarray(im)))['img']
                        for im in rgb])
    got = run_onnx(out, resized.transpose(0, 3, 1, 2).astype(np.float32))
    expected = extract_features(model, resized)
    np.testing.assert_allclose(got, expected.numpy(), atol=1e-4, rtol=0)


def test_uint8_input_and_flip(tiny_reid, tmp_path):
    model = init_model(tiny_reid.config, tiny_reid.checkpoint)
    model.test_cfg['flip'] = True
    out = export_onnx(model, str(tmp_path / 'bot_u8.onnx'), input_dtype='uint8')
    assert check_onnx(model, out, batch_sizes=(2, )) < 1e-4
    images = np.random.default_rng(0).integers(0, 256, (2, 32, 16, 3), dtype=np.uint8)
    got = run_onnx(out, images.transpose(0, 3, 1, 2).copy())
    np.testing.assert_allclose(got, extract_features(model, images).numpy(), atol=1e-4, rtol=0)


def test_pat_with_its_fixed_mask(tmp_path):
    import plugins.pat  # noqa: F401
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(osp.dirname(__file__), '..', '..', 'configs', 'pat',
                                   'pat_synthreid.py'))
    cfg.model.backbone.update(arch=dict(embed_dim=32, depth=2, num_heads=2), img_size=(32, 16),
                              patch_size=4, stride_size=4, pretrained=None)
    cfg.model.head.update(in_channels=32, num_classes=4)
    model = init_model(cfg)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.02)
    out = export_onnx(model, str(tmp_path / 'pat.onnx'), input_size=(32, 16))
    assert check_onnx(model, out, batch_sizes=(1, 3)) < 1e-4
    # the mask matters: without it the features differ, so the graph holds it
    x = torch.randint(0, 256, (2, 3, 32, 16)).float()
    masked = torch.from_numpy(run_onnx(out, x.numpy()))
    model._fixed_masks.clear()
    model.part_mask.visibility = 'official'
    from reidengine.apis.export import NormalizedReIDModel
    with torch.no_grad():
        other = NormalizedReIDModel(model)(x)
    assert not torch.allclose(masked, other, atol=1e-3)


def test_unsupported_operation_is_named(tiny_reid, tmp_path):
    model = init_model(tiny_reid.config, tiny_reid.checkpoint)

    class Odd(torch.nn.Module):
        def forward(self, x):
            x = x.flatten(1)
            return x + torch.linalg.eigvals(x[:, :4].reshape(-1, 2, 2)).real.sum(1, keepdim=True)

    model.neck = torch.nn.Sequential(torch.nn.AdaptiveAvgPool2d(1), Odd())
    with pytest.raises(ExportError, match='linalg_eig'):
        export_onnx(model, str(tmp_path / 'odd.onnx'))


def test_export_tool_and_missing_dependencies(tiny_reid, tmp_path, capsys, monkeypatch):
    import runpy
    import sys
    tool = osp.join(osp.dirname(__file__), '..', '..', 'tools', 'export_onnx.py')
    monkeypatch.setattr(sys, 'argv', ['export_onnx.py', tiny_reid.config, tiny_reid.checkpoint,
                                      str(tmp_path / 'm.onnx')])
    runpy.run_path(tool, run_name='__main__')
    assert 'max abs difference' in capsys.readouterr().out
    assert osp.isfile(tmp_path / 'm.onnx')
    monkeypatch.setitem(sys.modules, 'onnxruntime', None)
    with pytest.raises(ImportError, match=r"\.\[deploy\]"):
        runpy.run_path(tool, run_name='__main__')
