"""One folder of pictures for a test set, readable without the code (``tools/visualize.py``,
``tools/test.py --show-dir``).

Written files: ``ranked_lists_worst.png`` / ``ranked_lists_best.png`` (the queries of lowest and
highest AP), ``roc_histogram.png`` + ``threshold.json`` (same-person distance threshold at the
chosen false-match rate, for ``tools/search.py --threshold``), ``feature_space.png`` (t-SNE, PCA
fallback), ``attention.png`` (the model's ``attention_maps``) or ``grad_cam.png`` (CNNs, on
request), ``training_curves.png`` (from a work dir's logs), and ``README.md`` describing them.
"""
import copy
import json
import os
import os.path as osp
from typing import Optional

import cv2
import numpy as np
import torch

from reidengine.apis.inference import extract_features, prepare_inputs
from reidengine.apis.threshold import calibrate_threshold, save_threshold
from reidengine.registry import DATASETS
from .analysis import pair_distances, pick_queries, rank_test_set
from .attention import draw_attention, grad_cam_maps
from .plots import plot_feature_space, plot_roc_histogram, plot_training_curves
from .ranked_list import draw_ranked_lists, load_rgb, save_png


def _nth(value, index: int):
    if isinstance(value, (list, tuple)):
        if index >= len(value):
            raise IndexError(f'test set {index} requested but the config has {len(value)}')
        return value[index]
    if index:
        raise IndexError(f'test set {index} requested but the config has one')
    return value


def load_test_set(cfg, index: int = 0):
    """(dataset name, items, has_cameras) of the config's ``index``-th test set (no pipeline)."""
    from reidengine.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    loader = _nth(cfg.test_dataloader, index)
    ds_cfg = copy.deepcopy(loader['dataset'])
    ds_cfg['pipeline'] = []
    dataset = DATASETS.build(ds_cfg)
    items = [dataset.get_data_info(i) for i in range(len(dataset))]
    meta = dataset.metainfo
    return meta.get('dataset_name', 'test'), items, meta.get('has_cameras', True) is not False


def write_test_pictures(model, out_dir: str, set_index: int = 0, num_queries: int = 8,
                        topk: int = 10, false_match_rate: float = 1e-3, feature_space: str = 'tsne',
                        attention: bool = True, grad_cam: bool = False,
                        curves_work_dir: Optional[str] = None, batch_size: int = 64) -> dict:
    """Extract the test set's features with ``model`` (built by ``init_model``) and write the
    pictures; returns ``{file: short description}``."""
    cfg = model.cfg
    os.makedirs(out_dir, exist_ok=True)
    name, items, has_cameras = load_test_set(cfg, set_index)
    evaluator = cfg.get('test_evaluator') or {}
    if isinstance(evaluator, (list, tuple)):  # one evaluator per test set; a dict serves them all
        evaluator = _nth(evaluator, set_index)
    metric = evaluator.get('metric', 'euclidean')
    normalize = bool(evaluator.get('normalize_feat', False))
    camera_filter = evaluator.get('same_camera_filter')
    camera_filter = has_cameras if camera_filter is None else bool(camera_filter)
    paths = [it['img_path'] for it in items]
    pids = np.array([it['pid'] for it in items])
    camids = np.array([it['camid'] for it in items])
    is_query = np.array([bool(it.get('is_query')) for it in items])
    if not is_query.any() or is_query.all():
        raise ValueError(f'test set {name} needs query and gallery images for the pictures')
    feats = extract_features(model, paths, batch_size=batch_size, camids=camids.tolist())
    qi, gi = np.flatnonzero(is_query), np.flatnonzero(~is_query)
    q, g = feats[qi], feats[gi]
    ids = (pids[qi], camids[qi], pids[gi], camids[gi])
    if not camera_filter:  # distinct query / gallery cameras: the filter removes nothing
        ids = (pids[qi], np.zeros(len(qi), int), pids[gi], np.ones(len(gi), int))
    written = {}

    ranked = rank_test_set(q, g, *ids, metric=metric, topk=topk, normalize_feat=normalize)
    mean_ap = float(np.nanmean(ranked['ap']))
    for best in (False, True):
        chosen = pick_queries(ranked['ap'], num_queries, best)
        kind = 'best' if best else 'worst'
        picture = draw_ranked_lists(
            [paths[qi[c]] for c in chosen], [[paths[gi[j]] for j in ranked['indices'][c]] for c in chosen],
            ranked['distances'][chosen], ranked['matches'][chosen],
            title=f'{name}: the {len(chosen)} {kind} queries by AP (mAP {mean_ap:.3f}, {metric} distance)',
            query_labels=[f'id {pids[qi[c]]} AP {ranked["ap"][c]:.2f}' for c in chosen])
        save_png(osp.join(out_dir, f'ranked_lists_{kind}.png'), picture)
        written[f'ranked_lists_{kind}.png'] = (f'the {kind} {len(chosen)} queries by AP with their '
                                               f'top-{ranked["indices"].shape[1]} gallery matches')

    calibration = calibrate_threshold(q, g, *ids, metric=metric, false_match_rate=false_match_rate,
                                      normalize_feat=normalize)
    calibration['test_set'] = name
    save_threshold(osp.join(out_dir, 'threshold.json'), calibration)
    written['threshold.json'] = (f'distance threshold {calibration["threshold"]:.4g}: false-match '
                                 f'rate {false_match_rate:g}, true-match rate '
                                 f'{calibration["true_match_rate"]:.3f} (tools/search.py --threshold)')
    pos, neg = pair_distances(q, g, *ids, metric=metric, normalize_feat=normalize)
    plot_roc_histogram(pos, neg, osp.join(out_dir, 'roc_histogram.png'), calibration,
                       title=f'{name}: same vs different person')
    written['roc_histogram.png'] = 'ROC curve and same/different-person distance histograms'

    if feature_space:
        keep = pids >= 0
        plot_feature_space(feats[keep].numpy(), pids[keep], osp.join(out_dir, 'feature_space.png'),
                           method=feature_space)
        written['feature_space.png'] = f'{feature_space} of query + gallery features by identity'

    worst = [qi[c] for c in pick_queries(ranked['ap'], 4, best=False)]
    if (attention and hasattr(model, 'attention_maps')) or grad_cam:
        data = prepare_inputs(model, [paths[i] for i in worst], camids=camids[worst].tolist())
        images = [load_rgb(paths[i]) for i in worst]
        size = (data['inputs'].shape[-1], data['inputs'].shape[-2])
        images = [cv2.resize(im, size, interpolation=cv2.INTER_AREA) for im in images]
        if attention and hasattr(model, 'attention_maps'):
            with torch.no_grad():
                maps = model.attention_maps(data['inputs'], data['data_samples'])
            save_png(osp.join(out_dir, 'attention.png'),
                     draw_attention(images, maps, title=f'{type(model).__name__} attention maps '
                                    '(red = high), the worst queries'))
            written['attention.png'] = 'the model\'s attention maps on the worst queries'
        if grad_cam:
            maps = grad_cam_maps(model, data['inputs'], data['data_samples'])
            save_png(osp.join(out_dir, 'grad_cam.png'),
                     draw_attention(images, maps, title='Grad-CAM of the test feature (red = high)'))
            written['grad_cam.png'] = 'Grad-CAM of the test feature on the worst queries'

    if curves_work_dir:
        plot_training_curves(curves_work_dir, osp.join(out_dir, 'training_curves.png'))
        written['training_curves.png'] = f'loss terms, learning rate, mAP from {curves_work_dir}'

    with open(osp.join(out_dir, 'README.md'), 'w') as f:
        f.write(f'# Pictures of the test set {name}\n\n'
                f'{len(qi)} queries, {len(gi)} gallery images, {metric} distance, mAP {mean_ap:.4f} '
                f'(same-camera filter {"on" if camera_filter else "off"}).\n\n')
        f.writelines(f'- `{k}`: {v}\n' for k, v in written.items())
    with open(osp.join(out_dir, 'summary.json'), 'w') as f:
        json.dump(dict(test_set=name, mAP=mean_ap, files=written), f, indent=1)
    return written
