"""init_model / extract_features: the test loop's features, from paths, folders, arrays, tensors."""
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from reidengine.apis import extract_features, init_model, list_images
from reidengine.engine.runner.checkpoint_io import CheckpointLoadError


def loop_features(model, config):
    """Features as the test loop computes them: the config's dataloader + model.test_step."""
    cfg = Config.fromfile(config)
    loader = Runner.build_dataloader(cfg.test_dataloader)
    feats, paths = [], []
    with torch.no_grad():
        for batch in loader:
            for sample in model.test_step(batch):
                feats.append(sample.pred_feature)
                paths.append(sample.img_path)
    return torch.stack(feats), paths


def test_features_equal_the_test_loop(tiny_reid):
    model = init_model(tiny_reid.config, tiny_reid.checkpoint)
    expected, paths = loop_features(model, tiny_reid.config)
    got = extract_features(model, paths, batch_size=3)
    assert got.shape == expected.shape == (len(paths), 64)
    torch.testing.assert_close(got, expected, rtol=0, atol=1e-6)
    # a folder gives its images sorted; the loop sorts query then gallery
    gallery = extract_features(model, tiny_reid.gallery)
    rows = [i for i, p in enumerate(paths) if 'bounding_box_test' in p]
    torch.testing.assert_close(gallery, expected[rows], rtol=0, atol=1e-6)


def test_arrays_and_tensors_match_paths(tiny_reid):
    model = init_model(tiny_reid.config, tiny_reid.checkpoint)
    paths = list_images(tiny_reid.query)[:3]
    from_paths = extract_features(model, paths)
    bgr = [cv2.imread(p) for p in paths]
    rgb = np.stack([b[..., ::-1] for b in bgr])
    torch.testing.assert_close(extract_features(model, rgb), from_paths, rtol=0, atol=1e-6)
    torch.testing.assert_close(extract_features(model, bgr, channel_order='bgr'), from_paths,
                               rtol=0, atol=1e-6)
    tensor = torch.from_numpy(rgb).permute(0, 3, 1, 2).float()
    torch.testing.assert_close(extract_features(model, tensor), from_paths, rtol=0, atol=1e-6)
    # BGR given as RGB gives other features: the channel order matters
    assert not torch.allclose(extract_features(model, np.stack(bgr)), from_paths, atol=1e-3)


def test_flip_averages_with_the_mirror(tiny_reid):
    model = init_model(tiny_reid.config, tiny_reid.checkpoint)
    path = list_images(tiny_reid.query)[0]
    img = cv2.imread(path)[..., ::-1]
    plain = extract_features(model, img)
    mirrored = extract_features(model, np.ascontiguousarray(img[:, ::-1]))
    flipped = extract_features(model, img, flip=True)
    # the resize commutes with the mirror up to rounding of the resampler
    torch.testing.assert_close(flipped, (plain + mirrored) / 2, rtol=0, atol=2e-3)
    assert model.test_cfg['flip'] is False  # restored


def test_checkpoint_is_loaded(tiny_reid, tmp_path):
    model = init_model(tiny_reid.config, tiny_reid.checkpoint)
    fresh = init_model(tiny_reid.config)
    state = torch.load(tiny_reid.checkpoint, weights_only=True)['state_dict']
    for key, value in model.state_dict().items():
        torch.testing.assert_close(value, state[key])
    assert any(not torch.equal(value, state[key]) for key, value in fresh.state_dict().items())


def test_bad_checkpoints_are_named(tiny_reid, tmp_path):
    wrong = tmp_path / 'wrong.pth'
    torch.save(dict(state_dict={'backbone.nothing': torch.zeros(1)}), wrong)
    with pytest.raises(KeyError, match='does not match'):
        init_model(tiny_reid.config, str(wrong))
    unsafe = tmp_path / 'unsafe.pth'
    torch.save(dict(state_dict={}, obj=Config()), unsafe)
    with pytest.raises(CheckpointLoadError):
        init_model(tiny_reid.config, str(unsafe))
    with pytest.raises(FileNotFoundError):
        init_model(osp.join(tiny_reid.root, 'none.py'))


def test_bad_images_get_clear_errors(tiny_reid):
    model = init_model(tiny_reid.config, tiny_reid.checkpoint)
    with pytest.raises(ValueError, match='HxWx3'):
        extract_features(model, np.zeros((4, 4), np.uint8))
    with pytest.raises(ValueError, match=r'\[0, 1\]'):
        extract_features(model, np.full((8, 4, 3), 0.5, np.float32))
    with pytest.raises(FileNotFoundError):
        extract_features(model, osp.join(tiny_reid.root, 'missing.jpg'))


def test_mixed_precision_features_follow_the_cpu(tiny_reid, monkeypatch):
    """amp='bfloat16' autocasts where the CPU runs bf16 natively (features close to float32,
    returned as float32); where it does not, the features are the float32 ones, bit for bit."""
    from reidengine.utils import amp as amp_utils
    model = init_model(tiny_reid.config, tiny_reid.checkpoint)
    paths = list_images(tiny_reid.query)
    fp32 = extract_features(model, paths, amp=False)
    monkeypatch.setattr(amp_utils, 'cpu_bf16_capability', lambda: 'amx_bf16')
    bf16 = extract_features(model, paths, amp='bfloat16')
    assert bf16.dtype == torch.float32 and not torch.equal(bf16, fp32)
    cos = torch.nn.functional.cosine_similarity(bf16, fp32, dim=1)
    assert float(cos.min()) > 0.99
    monkeypatch.setattr(amp_utils, 'cpu_bf16_capability', lambda: None)  # an AVX2-only CPU
    assert torch.equal(extract_features(model, paths, amp='bfloat16'), fp32)
