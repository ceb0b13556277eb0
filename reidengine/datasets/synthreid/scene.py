"""SynthReID scenes: domain styles, cameras and the rendering of one bounding-box image.

A *style* is a domain: its background family (street, indoor mall, park), colour cast, contrast, noise,
resolution and JPEG quality. A *camera* of a style fixes its own background panorama, white balance,
gamma, blur, preferred viewpoints, person scale and occlusion rate; every image then adds its own
jitter (crop position, lighting, pose, occluders), as a real detector's boxes would.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Tuple

import cv2
import numpy as np

from .identities import COLOURS, Identity, random_identity
from .pedestrian import VIEWS, Placement, Pose, draw_pedestrian

Range = Tuple[float, float]
RGB = Tuple[int, int, int]


@dataclass(frozen=True)
class Style:
    """Global rendering of one domain; ranges are (low, high) of a uniform draw per camera."""
    name: str
    index: int  # position among STYLES; fixes the person-id range of the style
    scenery: str  # 'street' | 'indoor' | 'park': which clutter fills the background
    wall: Tuple[RGB, ...]  # colours of the upper background (walls, facades, foliage)
    floor: Tuple[RGB, ...]  # colours of the ground
    cast: Tuple[float, float, float]  # mean white-balance gains (R, G, B) of the style
    cast_sigma: float  # log-normal spread of a camera's gains around ``cast``
    colour_mix: float  # spread of the cross-channel terms of a camera's colour matrix (hue shifts)
    brightness: Range
    gamma: Range
    contrast: Range
    saturation: Range
    blur: Range  # Gaussian sigma in output pixels
    noise: Range  # Gaussian noise sigma on the 0-255 scale
    resolution: Range  # capture resolution as a fraction of the output size (upsampled back)
    jpeg_quality: Tuple[int, int]
    horizon: Range = (0.55, 0.75)  # where the ground starts, as a fraction of the height
    person_scale: Range = (0.72, 0.86)  # smallest person height of a camera (fraction of the image height)
    person_scale_spread: float = 0.14  # a camera's person heights span [smallest, smallest + spread]
    occlusion: Range = (0.1, 0.35)  # probability of an occluder in a camera's images
    view_concentration: float = 0.6  # Dirichlet alpha of a camera's view preferences (small: one view rules)
    view_floor: float = 0.35  # share of the view probabilities spread evenly over all views
    shift: float = 0.1  # horizontal box misalignment, fraction of the width (per image)
    light_jitter: Range = (0.85, 1.15)  # per-image brightness factor
    cast_jitter: float = 0.04  # per-image log-normal spread of the white balance
    shade: Range = (0.85, 1.05)  # per-image lighting of the person


STYLES: Dict[str, Style] = {s.name: s for s in (
    Style('A', 0, 'street', wall=((150, 146, 140), (168, 96, 76), (196, 184, 160), (96, 100, 108)),
          floor=((92, 92, 96), (126, 122, 116), (70, 72, 76)), cast=(1.0, 1.0, 1.0), cast_sigma=0.14,
          colour_mix=0.12, brightness=(0.8, 1.15), gamma=(0.8, 1.25), contrast=(0.85, 1.1), saturation=(0.75, 1.15),
          blur=(0.0, 0.7), noise=(1.0, 4.0), resolution=(0.9, 1.0), jpeg_quality=(85, 95)),
    Style('B', 1, 'indoor', wall=((214, 200, 176), (236, 228, 214), (176, 150, 120), (120, 96, 84)),
          floor=((196, 180, 160), (150, 140, 130), (220, 214, 204)), cast=(1.12, 1.0, 0.82), cast_sigma=0.1,
          colour_mix=0.1, brightness=(0.95, 1.25), gamma=(0.75, 1.0), contrast=(1.0, 1.3), saturation=(0.9, 1.3),
          blur=(0.2, 0.9), noise=(2.0, 5.0), resolution=(0.7, 0.85), jpeg_quality=(75, 90)),
    Style('C', 2, 'park', wall=((60, 104, 56), (88, 132, 70), (40, 70, 46), (120, 140, 96)),
          floor=((150, 136, 110), (96, 116, 70), (120, 110, 96)), cast=(0.85, 1.0, 1.18), cast_sigma=0.16,
          colour_mix=0.15, brightness=(0.6, 0.95), gamma=(1.0, 1.4), contrast=(0.6, 0.85), saturation=(0.5, 0.85),
          blur=(0.6, 1.3), noise=(4.0, 9.0), resolution=(0.45, 0.65), jpeg_quality=(60, 80)),
)}

_PALETTE = np.array(list(COLOURS.values()), np.float32)


def _uniform(rng: np.random.Generator, bounds: Range) -> float:
    return float(rng.uniform(*bounds))


def _pick(rng: np.random.Generator, colours) -> np.ndarray:
    return np.asarray(colours[rng.integers(len(colours))], np.float32) * rng.uniform(0.85, 1.15)


@dataclass
class Camera:
    """One camera of a style: its fixed background panorama and capture settings."""
    index: int  # 1-based, as in the ``cN`` of Market-1501 file names
    style: Style
    panorama: np.ndarray  # float32 RGB at render resolution, several image widths wide
    horizon: float  # fraction of the height where the ground starts
    mix: np.ndarray  # (3, 3) colour matrix, rows summing to 1: greys stay grey, hues shift
    gains: np.ndarray  # (3,) white balance
    brightness: float
    gamma: float
    contrast: float
    saturation: float
    blur: float
    noise: float
    resolution: float
    jpeg_quality: int
    view_probs: np.ndarray  # over VIEWS
    scale: Range  # person height as a fraction of the image height
    occlusion: float  # probability that an image has an occluder


def make_camera(style: Style, index: int, size: Tuple[int, int], rng: np.random.Generator) -> Camera:
    """Draw camera ``index`` of ``style`` for render size ``size`` (H, W)."""
    h, w = size
    horizon = _uniform(rng, style.horizon)
    scale_lo = _uniform(rng, style.person_scale)
    views = (1 - style.view_floor) * rng.dirichlet(np.full(len(VIEWS), style.view_concentration)) \
        + style.view_floor / len(VIEWS)
    mix = np.eye(3) + rng.normal(0, style.colour_mix, (3, 3)) * (1 - np.eye(3))
    return Camera(
        index=index, style=style, panorama=_panorama(style, (h, 4 * w), horizon, rng), horizon=horizon,
        mix=(mix / mix.sum(axis=1, keepdims=True)).astype(np.float32),
        gains=np.asarray(style.cast, np.float32) * np.exp(rng.normal(0, style.cast_sigma, 3)).astype(np.float32),
        brightness=_uniform(rng, style.brightness), gamma=_uniform(rng, style.gamma),
        contrast=_uniform(rng, style.contrast), saturation=_uniform(rng, style.saturation),
        blur=_uniform(rng, style.blur), noise=_uniform(rng, style.noise),
        resolution=_uniform(rng, style.resolution), jpeg_quality=int(rng.integers(*style.jpeg_quality)),
        view_probs=views, scale=(scale_lo, min(1.0, scale_lo + style.person_scale_spread)),
        occlusion=_uniform(rng, style.occlusion))


def _panorama(style: Style, size: Tuple[int, int], horizon: float, rng: np.random.Generator) -> np.ndarray:
    """A wide background: wall/ground split at the horizon plus scenery clutter of the style."""
    h, w = size
    y0 = int(h * horizon)
    img = np.empty((h, w, 3), np.float32)
    ramp = np.linspace(1.1, 0.85, h, dtype=np.float32)[:, None, None]
    img[:y0] = _pick(rng, style.wall)
    img[y0:] = _pick(rng, style.floor)
    img *= ramp
    colours = list(style.wall) + list(style.floor)
    for _ in range(int(rng.integers(w // 24, w // 12))):
        # clutter mostly in style colours, sometimes in clothing colours (posters, cars, passers-by)
        colour = _pick(rng, _PALETTE if rng.random() < 0.35 else colours).tolist()
        x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
        cw, ch = int(rng.integers(w // 60 + 2, w // 12)), int(rng.integers(h // 30 + 2, h // 3))
        if style.scenery == 'street':  # facades with windows, poles, signs, parked cars
            kind = rng.choice(['window', 'pole', 'sign', 'car'])
        elif style.scenery == 'indoor':  # shop fronts, lamps, pillars, floor tiles
            kind = rng.choice(['shop', 'lamp', 'pillar', 'tile'])
        else:  # foliage, trunks, benches, path
            kind = rng.choice(['leaf', 'leaf', 'trunk', 'bench'])
        if kind in ('window', 'sign', 'shop'):
            y = int(rng.integers(0, max(1, y0 - ch)))
            cv2.rectangle(img, (x, y), (x + cw, y + ch), colour, -1)
            if kind != 'sign':
                inner = (np.asarray(colour) * 0.55).tolist()
                cv2.rectangle(img, (x + cw // 5, y + ch // 5), (x + cw - cw // 5, y + ch - ch // 5), inner, -1)
        elif kind in ('pole', 'pillar', 'trunk'):
            cv2.rectangle(img, (x, 0 if kind != 'trunk' else y0 // 3), (x + max(2, cw // 4), y0 + h // 10), colour, -1)
        elif kind == 'car':
            cy = int(rng.integers(y0, h))
            cv2.rectangle(img, (x, cy - ch // 2), (x + 3 * cw, cy), colour, -1)
            cv2.ellipse(img, (x + 3 * cw // 2, cy - ch // 2), (cw, ch // 3), 0, 180, 360, colour, -1)
        elif kind == 'lamp':
            cv2.circle(img, (x, int(rng.integers(0, max(1, y0 // 2)))), max(2, cw // 3), (250, 246, 220), -1)
        elif kind == 'tile':
            ty = int(rng.integers(y0, h))
            cv2.line(img, (0, ty), (w, ty), (np.asarray(colour) * 0.8).tolist(), max(1, h // 80))
        elif kind == 'leaf':
            cv2.ellipse(img, (x, int(rng.integers(0, y0))), (cw, max(3, ch // 2)), 0, 0, 360,
                        _pick(rng, style.wall).tolist(), -1)
        else:  # bench
            by = int(rng.integers(y0, h))
            cv2.rectangle(img, (x, by - ch // 6), (x + 3 * cw, by), colour, -1)
    texture = rng.normal(0, 6, (h // 4 + 1, w // 4 + 1, 1)).astype(np.float32)
    img += cv2.resize(texture, (w, h), interpolation=cv2.INTER_LINEAR)[..., None]
    return np.clip(img, 0, 255)


def _composite(img: np.ndarray, rgb: np.ndarray, alpha: np.ndarray) -> None:
    a = alpha.astype(np.float32)[..., None] / 255
    img *= 1 - a
    img += rgb.astype(np.float32) * a


def render_image(person: Identity, camera: Camera, size: Tuple[int, int], render_scale: int,
                 rng: np.random.Generator, person_offset: float = 0.0) -> Tuple[np.ndarray, dict]:
    """One bounding-box image of ``person`` seen by ``camera``: BGR uint8 of ``size`` (H, W) and its info.

    ``person_offset`` moves the person sideways by that fraction of the width (junk crops use it).
    The info holds the drawn ``view`` and ``occluder`` (``'none'``, ``'object'``, ``'pole'``, ``'passer'``).
    """
    h, w = size[0] * render_scale, size[1] * render_scale
    pano = camera.panorama
    if pano.shape[:2] != (h, pano.shape[1]):
        raise ValueError(f'SynthReID: camera {camera.index} panorama has height {pano.shape[0]}, '
                         f'expected {h} for size {size} and render_scale {render_scale}')
    x0 = int(rng.integers(0, pano.shape[1] - w + 1))
    img = pano[:, x0:x0 + w].copy()

    view = VIEWS[rng.choice(len(VIEWS), p=camera.view_probs)]
    style = camera.style
    pose = Pose(view, gait=_uniform(rng, (-1, 1)), shade=_uniform(rng, style.shade))
    height = h * _uniform(rng, camera.scale)
    place = Placement(centre_x=w * (0.5 + person_offset + _uniform(rng, (-style.shift, style.shift))),
                      top=_uniform(rng, (-0.03 * h, h - height + 0.03 * h)), height=height)
    _composite(img, *draw_pedestrian(person, pose, place, (h, w), rng))

    occluder = 'none'
    if rng.random() < camera.occlusion:
        occluder = str(rng.choice(['object', 'pole', 'passer']))
        colour = _pick(rng, _PALETTE if rng.random() < 0.5 else camera.style.wall + camera.style.floor).tolist()
        if occluder == 'object':
            ow, oh = int(w * _uniform(rng, (0.35, 1.0))), int(h * _uniform(rng, (0.15, 0.45)))
            ox = int(rng.integers(-ow // 2, w - ow // 2))
            cv2.rectangle(img, (ox, h - oh), (ox + ow, h), colour, -1)
            cv2.rectangle(img, (ox, h - oh), (ox + ow, h - oh + max(2, oh // 8)),
                          (np.asarray(colour) * 0.7).tolist(), -1)
        elif occluder == 'pole':
            pw = int(w * _uniform(rng, (0.07, 0.16)))
            px = int(rng.integers(0, w - pw))
            cv2.rectangle(img, (px, 0), (px + pw, h), colour, -1)
        else:
            other = Placement(centre_x=w * (0.5 + rng.choice([-1, 1]) * _uniform(rng, (0.4, 0.6))),
                              top=place.top + h * _uniform(rng, (-0.05, 0.08)),
                              height=height * _uniform(rng, (0.95, 1.1)))
            other_pose = Pose(VIEWS[rng.integers(len(VIEWS))], _uniform(rng, (-1, 1)), _uniform(rng, style.shade))
            _composite(img, *draw_pedestrian(random_identity(rng), other_pose, other, (h, w), rng))
    return _capture(img, camera, size, rng), dict(view=view, occluder=occluder)


def _capture(img: np.ndarray, camera: Camera, size: Tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """The camera's optics and sensor: resolution, blur, colour matrix, white balance, gamma, contrast, noise."""
    h, w = size
    img = cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA)
    if camera.resolution < 1.0:
        low = (max(1, round(w * camera.resolution)), max(1, round(h * camera.resolution)))
        img = cv2.resize(cv2.resize(img, low, interpolation=cv2.INTER_AREA), (w, h), interpolation=cv2.INTER_LINEAR)
    if camera.blur > 0:
        img = cv2.GaussianBlur(img, (0, 0), camera.blur)
    style = camera.style
    img = img @ camera.mix.T / 255
    img *= camera.gains * np.exp(rng.normal(0, style.cast_jitter, 3)).astype(np.float32)
    img = np.clip(img * camera.brightness * _uniform(rng, style.light_jitter), 0, 1) ** camera.gamma
    grey = img.mean(axis=2, keepdims=True)
    img = grey + (img - grey) * camera.saturation
    img = img.mean() + (img - img.mean()) * camera.contrast
    img = img * 255 + rng.standard_normal(img.shape, dtype=np.float32) * camera.noise
    return np.ascontiguousarray(np.clip(img, 0, 255).astype(np.uint8)[..., ::-1])
