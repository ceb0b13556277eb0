"""How hard is SynthReID? Colour-histogram matchers versus an attribute oracle.

Generates (or reuses) SynthReID styles, then ranks each style's gallery for every query with
hand-made colour features and reports Market-1501 mAP / rank-1 (same pid and same camera removed
from the gallery, junk ``-1`` ignored, distractors ``0`` kept). A generator is hard enough when every
colour matcher stays far below what a learned model reaches (target: mAP well under 15%).

The *oracle* ranks by the attributes a viewer could read off each image (``visible_attributes``;
ground truth from ``annotations.json``, never pixels): it shows that identity is in the images.

    python benchmarks/synthreid_colour_baseline.py --root /tmp/synthreid --styles A B C
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import cv2
import numpy as np

from reidengine.datasets.synthreid import generate_synthreid
from reidengine.datasets.synthreid.identities import ATTRIBUTE_NAMES, MIRRORED
from reidengine.datasets.synthreid.pedestrian import visible_attributes


def parse_name(name: str):
    """``PPPP_cC...jpg`` -> (pid, camid); ``-1_cC...`` is junk."""
    pid, rest = name.split('_', 1)
    return int(pid), int(rest[1])


def load_split(folder: Path):
    files = sorted(folder.glob('*.jpg'))
    pids, cams = zip(*(parse_name(f.name) for f in files))
    return files, np.array(pids), np.array(cams)


def hsv_hist(img: np.ndarray, stripes: int, centre: float, bins=(16, 4, 4)) -> np.ndarray:
    """Per-stripe HSV histograms, each L1-normalised, square-rooted (Hellinger)."""
    h, w = img.shape[:2]
    margin = int(w * (1 - centre) / 2)
    hsv = cv2.cvtColor(img[:, margin:w - margin], cv2.COLOR_BGR2HSV)
    feats = []
    for s in range(stripes):
        part = hsv[s * h // stripes:(s + 1) * h // stripes]
        hist = cv2.calcHist([part], [0, 1, 2], None, list(bins), [0, 180, 0, 256, 0, 256]).ravel()
        feats.append(np.sqrt(hist / max(hist.sum(), 1)))
    return np.concatenate(feats)


def grey_world(img: np.ndarray) -> np.ndarray:
    """Undo a colour cast: scale each channel to the image's mean grey, then stretch to 0-255."""
    f = img.astype(np.float32)
    f *= f.mean() / np.maximum(f.mean(axis=(0, 1)), 1)
    f = (f - f.min()) / max(f.max() - f.min(), 1) * 255
    return f.astype(np.uint8)


def rgb_hist(img: np.ndarray, stripes: int, centre: float, bins=(6, 6, 6)) -> np.ndarray:
    h, w = img.shape[:2]
    margin = int(w * (1 - centre) / 2)
    img = img[:, margin:w - margin]
    feats = []
    for s in range(stripes):
        part = img[s * h // stripes:(s + 1) * h // stripes]
        hist = cv2.calcHist([part], [0, 1, 2], None, list(bins), [0, 256] * 3).ravel()
        feats.append(np.sqrt(hist / max(hist.sum(), 1)))
    return np.concatenate(feats)


def market_map(dist: np.ndarray, q_pids, q_cams, g_pids, g_cams):
    """Market-1501 protocol mAP and rank-1 written out directly (one query at a time)."""
    aps, r1 = [], []
    for i in range(len(q_pids)):
        keep = (g_pids != -1) & ~((g_pids == q_pids[i]) & (g_cams == q_cams[i]))
        order = np.argsort(dist[i][keep], kind='stable')
        match = (g_pids[keep] == q_pids[i])[order]
        if not match.any():
            continue
        hits = np.flatnonzero(match)
        aps.append(np.mean((np.arange(len(hits)) + 1) / (hits + 1)))
        r1.append(float(match[0]))
    return float(np.mean(aps)), float(np.mean(r1))


def oracle_features(folder: Path, files):
    """One-hot of the attributes visible in each image (from annotations.json)."""
    ann = json.loads((folder / 'annotations.json').read_text())
    names = [n for n in ATTRIBUTE_NAMES if n not in MIRRORED]
    rows = []
    for f in files:
        info = ann['images'][f'{f.parent.name}/{f.name}']
        person = ann['identities'].get(str(info['pid']))
        seen = visible_attributes(person, info['view']) if person else None
        rows.append(tuple(seen[n] for n in names) if seen else (f'noise{f.name}',) * len(names))
    rows = np.array(rows)
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--root', default='/tmp/synthreid')
    parser.add_argument('--styles', nargs='+', default=['A', 'B', 'C'])
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--num-train-ids', type=int, default=100)
    parser.add_argument('--num-test-ids', type=int, default=100)
    parser.add_argument('--num-cams', type=int, default=4)
    parser.add_argument('--imgs-per-id-cam', type=int, default=4)
    parser.add_argument('--img-size', type=int, nargs=2, default=[128, 64])
    args = parser.parse_args()

    matchers = {
        'HSV global': lambda im: hsv_hist(im, 1, 1.0),
        'HSV 6 stripes': lambda im: hsv_hist(im, 6, 1.0),
        'HSV 6 stripes, centre 50%': lambda im: hsv_hist(im, 6, 0.5),
        'RGB 6 stripes, centre 50%': lambda im: rgb_hist(im, 6, 0.5),
        'grey-world + HSV 6 str. c50%': lambda im: hsv_hist(grey_world(im), 6, 0.5),
    }
    print(f"{'style':6s} {'matcher':28s} {'mAP':>6s} {'rank-1':>7s}  (query/gallery images, gallery ids)")
    for style in args.styles:
        t0 = time.perf_counter()
        folder = generate_synthreid(args.root, style=style, num_train_ids=args.num_train_ids,
                                    num_test_ids=args.num_test_ids, num_cams=args.num_cams,
                                    imgs_per_id_cam=args.imgs_per_id_cam, img_size=tuple(args.img_size),
                                    seed=args.seed)
        gen_s = time.perf_counter() - t0
        qf, qp, qc = load_split(folder / 'query')
        gf, gp, gc = load_split(folder / 'bounding_box_test')
        q_imgs = [cv2.imread(str(f)) for f in qf]
        g_imgs = [cv2.imread(str(f)) for f in gf]
        n_ids = len(set(gp[gp > 0]))
        sizes = f'({len(qf)}/{len(gf)}, {n_ids} ids; generation/reuse {gen_s:.1f}s)'
        for name, feat in matchers.items():
            q = np.stack([feat(im) for im in q_imgs])
            g = np.stack([feat(im) for im in g_imgs])
            dist = ((q[:, None] - g[None]) ** 2).sum(-1)
            m, r = market_map(dist, qp, qc, gp, gc)
            print(f'{style:6s} {name:28s} {100 * m:6.1f} {100 * r:7.1f}  {sizes}')
        qa, ga = oracle_features(folder, qf), oracle_features(folder, gf)
        tie_break = np.random.default_rng(0).random((len(qf), len(gf))) * 1e-3
        dist = (qa[:, None] != ga[None]).sum(-1) + tie_break
        m, r = market_map(dist, qp, qc, gp, gc)
        print(f'{style:6s} {"oracle: visible attributes":28s} {100 * m:6.1f} {100 * r:7.1f}')
        print(f'{style:6s} {"chance (rank-1 ~ 1/ids)":28s} {"":6s} {100 / n_ids:7.1f}')


if __name__ == '__main__':
    main()
