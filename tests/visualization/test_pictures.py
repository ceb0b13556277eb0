"""Each picture: written, the expected size, non-trivial content; ranked-list frames match labels."""
import json
import os
import os.path as osp

import cv2
import numpy as np
import pytest
import torch

from reidengine.apis import init_model
from reidengine.visualization import (capture_attention, cell_box, draw_attention,
                                      draw_ranked_lists, plot_feature_space, plot_roc_histogram,
                                      plot_training_curves, save_png, write_test_pictures)
from reidengine.visualization.ranked_list import BLUE, FRAME, GREEN, RED


def read_rgb(path):
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    assert img is not None, path
    return img[..., ::-1]


def frame_colour(img, row, col):
    top, left, bottom, right = cell_box(row, col)
    return tuple(int(v) for v in img[top + FRAME // 2, (left + right) // 2])


def non_trivial(img, min_colours=20):
    return len(np.unique(img.reshape(-1, 3), axis=0)) >= min_colours and img.std() > 10


def test_ranked_list_frames_match_the_labels(tmp_path):
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 256, (40, 20, 3), dtype=np.uint8) for _ in range(8)]
    matches = np.array([[True, False, True], [False, False, True]])
    dists = np.array([[0.1, 0.2, 0.3], [0.15, 0.25, 0.35]])
    picture = draw_ranked_lists(images[:2], [images[2:5], images[5:8]], dists, matches)
    save_png(str(tmp_path / 'r.png'), picture)
    img = read_rgb(tmp_path / 'r.png')
    assert img.shape == picture.shape and img.shape[0] == cell_box(1, 0)[2] + 30
    assert img.shape[1] >= cell_box(0, 3)[3]
    for q in range(2):
        assert frame_colour(img, q, 0) == BLUE
        for r in range(3):
            assert frame_colour(img, q, r + 1) == (GREEN if matches[q, r] else RED)
    top, left, bottom, right = cell_box(0, 1)
    assert img[top + FRAME:bottom - FRAME, left + FRAME:right - FRAME].std() > 30  # the image
    # rank labels and distances are drawn (dark text pixels above and below the cells)
    assert (img[top - 14:top, left:right] < 100).any() and (img[bottom:bottom + 14, left:right] < 100).any()


def test_roc_histogram_feature_space_and_curves(tmp_path):
    rng = np.random.default_rng(0)
    pos, neg = rng.normal(0.3, 0.1, 200), rng.normal(0.8, 0.1, 5000)
    plot_roc_histogram(pos, neg, str(tmp_path / 'roc.png'),
                       dict(threshold=0.5, false_match_rate=1e-3, true_match_rate=0.97))
    roc = read_rgb(tmp_path / 'roc.png')
    assert roc.shape == (420, 1100, 3) and non_trivial(roc)
    # both histograms drawn: green-ish and red-ish pixels
    r, g = roc[..., 0].astype(int), roc[..., 1].astype(int)
    assert (g - r > 40).sum() > 2000 and (r - g > 60).sum() > 2000

    feats = np.concatenate([rng.normal(i, 0.1, (6, 8)) for i in range(5)])
    pids = np.repeat(np.arange(5), 6)
    plot_feature_space(feats, pids, str(tmp_path / 'tsne.png'), method='tsne')
    plot_feature_space(feats, pids, str(tmp_path / 'pca.png'), method='pca')
    for name in ('tsne.png', 'pca.png'):
        img = read_rgb(tmp_path / name)
        assert img.shape == (600, 700, 3) and non_trivial(img)

    run = tmp_path / 'work' / '20260101_000000' / 'vis_data'
    os.makedirs(run)
    lines = [dict(step=i, lr=1e-3 * (1 - i / 20), loss=2.0 - i * 0.05, loss_cls=1.5 - i * 0.04,
                  loss_triplet=0.5 - i * 0.01) for i in range(1, 21)]
    lines += [{'step': 1, 'synthreid_B/mAP': 0.2}, {'step': 2, 'synthreid_B/mAP': 0.3}]
    (run / 'scalars.json').write_text(''.join(json.dumps(x) + '\n' for x in lines))
    counts = plot_training_curves(str(tmp_path / 'work'), str(tmp_path / 'curves.png'))
    assert counts == {'loss': 20, 'loss_cls': 20, 'loss_triplet': 20, 'lr': 20,
                      'synthreid_B/mAP': 2}
    img = read_rgb(tmp_path / 'curves.png')
    assert img.shape == (400, 1300, 3) and non_trivial(img)
    with pytest.raises(FileNotFoundError, match='scalars.json'):
        plot_training_curves(str(tmp_path), str(tmp_path / 'none.png'))


def test_capture_attention_equals_explicit_softmax():
    from timm.layers import Attention
    torch.manual_seed(0)
    attn = Attention(dim=16, num_heads=2).eval()
    x = torch.randn(3, 5, 16)
    mask = torch.ones(5, 5, dtype=torch.bool)
    mask[1, 2:] = False
    with capture_attention(attn) as record:
        out = attn(x, attn_mask=mask)
    qkv = attn.qkv(x).reshape(3, 5, 3, 2, 8).permute(2, 0, 3, 1, 4)
    logits = qkv[0] @ qkv[1].transpose(-2, -1) / 8 ** 0.5
    expected = logits.masked_fill(~mask, float('-inf')).softmax(-1).mean(1)
    torch.testing.assert_close(record.weights, expected)
    assert torch.all(record.weights[:, 1, 2:] == 0)
    assert out.shape == x.shape


def test_attention_overlay_grid(tmp_path):
    images = [np.full((32, 16, 3), 128, np.uint8)] * 2
    heat = torch.zeros(2, 3, 8, 4)
    heat[:, 0, :4] = 1  # top half hot in the first channel
    picture = draw_attention(images, {'parts': heat}, scale=2)
    assert picture.shape == (40 + 2 * (64 + 6), 4 * (32 + 6) + 6, 3)
    top, left = 40, 6 + 38  # first overlay of the first image
    hot, cold = picture[top + 5, left + 16], picture[top + 60, left + 16]
    assert hot[0] > hot[2] and cold[2] > cold[0]  # red on top, blue below (jet)


def test_write_test_pictures(tiny_reid, tmp_path):
    model = init_model(tiny_reid.config, tiny_reid.checkpoint)
    written = write_test_pictures(model, str(tmp_path), num_queries=3, topk=4,
                                  false_match_rate=0.1, grad_cam=_has_grad_cam())
    expected = {'ranked_lists_worst.png', 'ranked_lists_best.png', 'threshold.json',
                'roc_histogram.png', 'feature_space.png'} | ({'grad_cam.png'} if _has_grad_cam() else set())
    assert set(written) == expected
    for name in expected - {'threshold.json'}:
        assert non_trivial(read_rgb(tmp_path / name)), name
    img = read_rgb(tmp_path / 'ranked_lists_worst.png')
    assert img.shape[0] == cell_box(2, 0)[2] + 30
    colours = {frame_colour(img, q, r) for q in range(3) for r in range(1, 5)}
    assert colours <= {GREEN, RED} and RED in colours
    calibration = json.loads((tmp_path / 'threshold.json').read_text())
    assert calibration['metric'] == 'cosine' and 0 < calibration['threshold'] < 2
    assert (tmp_path / 'README.md').read_text().count('.png') >= 4


def _has_grad_cam():
    try:
        import pytorch_grad_cam  # noqa: F401
    except ImportError:
        return False
    return True


def test_test_tool_show_dir(tiny_reid, tmp_path, monkeypatch):
    import runpy
    import sys
    tool = osp.join(osp.dirname(__file__), '..', '..', 'tools', 'test.py')
    monkeypatch.setattr(sys, 'argv', ['test.py', tiny_reid.config, tiny_reid.checkpoint,
                                      '--work-dir', str(tmp_path / 'work'),
                                      '--show-dir', str(tmp_path / 'pics')])
    runpy.run_path(tool, run_name='__main__')
    assert (tmp_path / 'work' / 'results_test.md').is_file()
    folder = tmp_path / 'pics' / '0_CustomReIDFolder'
    assert {'ranked_lists_worst.png', 'roc_histogram.png', 'threshold.json'} <= set(os.listdir(folder))
