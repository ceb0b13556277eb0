"""SynthReID pedestrian renderer: draws one person's parts with OpenCV.

A person is drawn in a body frame (``v`` from 0 at the top of the head to 1 under the feet, ``u`` across
in units of the body height, 0 on the body axis) mapped onto the image by a :class:`Placement`. What is
visible depends on the view: logos only from the front, a backpack as straps from the front and as a
full pack from the back, a handbag from the side only when it hangs on the side facing the camera.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence, Tuple

import cv2
import numpy as np

from .identities import COLOURS, HAIR_COLOURS, SKIN_TONES, Identity, normalise

VIEWS = ('front', 'back', 'left', 'right')  # 'left'/'right': side views, walking towards that image side
_SHIFT = 4  # fixed-point bits for sub-pixel OpenCV drawing
_ONE = 1 << _SHIFT
_BUILD = {'slim': 0.88, 'regular': 1.0, 'broad': 1.14}


@dataclass(frozen=True)
class Placement:
    """Where the body frame lands in the image: ``x = centre_x + height * u``, ``y = top + height * v``."""
    centre_x: float
    top: float
    height: float


@dataclass(frozen=True)
class Pose:
    """Per-image pose: view, gait phase in [-1, 1] (leg spread, arm swing) and colour shading."""
    view: str
    gait: float = 0.0
    shade: float = 1.0  # brightness of the light side; the far side is drawn darker


class _Painter:
    """Draws anti-aliased primitives in body coordinates into an RGB layer and its alpha mask."""

    def __init__(self, shape: Tuple[int, int], place: Placement):
        self.rgb = np.zeros((*shape, 3), np.uint8)
        self.alpha = np.zeros(shape, np.uint8)
        self.place = place

    def px(self, u: float, v: float) -> Tuple[int, int]:
        p = self.place
        return (int(round((p.centre_x + p.height * u) * _ONE)), int(round((p.top + p.height * v) * _ONE)))

    def length(self, d: float) -> int:
        return max(1, int(round(self.place.height * d)))

    def _both(self, draw, colour):
        draw(self.rgb, tuple(int(c) for c in colour))
        draw(self.alpha, 255)

    def poly(self, points: Sequence[Tuple[float, float]], colour) -> None:
        pts = np.array([self.px(u, v) for u, v in points], np.int32)[None]
        self._both(lambda img, c: cv2.fillPoly(img, pts, c, cv2.LINE_AA, _SHIFT), colour)

    def ellipse(self, centre, axes, colour, start=0, end=360, angle=0.0) -> None:
        c = self.px(*centre)
        ax = (int(round(self.place.height * axes[0] * _ONE)), int(round(self.place.height * axes[1] * _ONE)))
        self._both(lambda img, col: cv2.ellipse(img, c, ax, angle, start, end, col, -1, cv2.LINE_AA, _SHIFT),
                   colour)

    def limb(self, a, b, width: float, colour) -> None:
        """A thick segment from ``a`` to ``b`` with rounded ends, ``width`` across."""
        (ua, va), (ub, vb) = a, b
        d = np.array([ub - ua, vb - va])
        n = np.array([-d[1], d[0]]) / max(np.linalg.norm(d), 1e-9) * width / 2
        self.poly([(ua + n[0], va + n[1]), (ub + n[0], vb + n[1]), (ub - n[0], vb - n[1]),
                   (ua - n[0], va - n[1])], colour)
        self.ellipse(a, (width / 2, width / 2), colour)
        self.ellipse(b, (width / 2, width / 2), colour)

    def pattern(self, region: Sequence[Tuple[float, float]], kind: str, colour, period: float,
                thickness: float) -> None:
        """Stripes of ``colour`` (``'hstripes'``, ``'vstripes'``) or gingham ``'checks'`` (bands at half
        strength, full colour where they cross), clipped to the polygon ``region``."""
        clip = np.zeros_like(self.alpha)
        cv2.fillPoly(clip, np.array([self.px(u, v) for u, v in region], np.int32)[None], 255, cv2.LINE_AA, _SHIFT)
        us, vs = [u for u, _ in region], [v for _, v in region]
        width = self.length(thickness)
        rows, cols = np.zeros_like(self.alpha), np.zeros_like(self.alpha)
        if kind in ('hstripes', 'checks'):
            for v in np.arange(min(vs) + period / 2, max(vs), period):
                cv2.line(rows, self.px(min(us), v), self.px(max(us), v), 255, width, cv2.LINE_AA, _SHIFT)
        if kind in ('vstripes', 'checks'):
            half = int(np.ceil(max(map(abs, us)) / period))
            for k in range(-half, half):  # symmetric about the body axis
                u = (k + 0.5) * period
                cv2.line(cols, self.px(u, min(vs)), self.px(u, max(vs)), 255, width, cv2.LINE_AA, _SHIFT)
        marks = (rows.astype(np.float32) + cols) / 2 if kind == 'checks' else np.maximum(rows, cols)
        weight = (np.minimum(clip, marks).astype(np.float32) / 255)[..., None]
        self.rgb[:] = (self.rgb * (1 - weight) + np.asarray(colour, np.float32) * weight).astype(np.uint8)


def _tint(colour, factor: float):
    return tuple(min(255, c * factor) for c in colour)


def draw_pedestrian(person: Identity, pose: Pose, place: Placement, shape: Tuple[int, int],
                    rng: np.random.Generator) -> Tuple[np.ndarray, np.ndarray]:
    """Render ``person`` seen in ``pose`` at ``place`` on an image of ``shape`` (H, W).

    Returns an RGB uint8 layer and its uint8 alpha mask (255 where the person is).
    ``rng`` jitters the fabric colours slightly (lighting on cloth), nothing identity-related.
    """
    if pose.view not in VIEWS:
        raise ValueError(f'SynthReID: unknown view {pose.view!r}, expected one of {VIEWS}')
    person = normalise(person)
    pt = _Painter(shape, place)

    def cloth(name: str, factor: float = 1.0):
        base = np.asarray(COLOURS[name], np.float32) * rng.uniform(0.9, 1.1) * pose.shade * factor
        return tuple(np.clip(base, 0, 255))

    skin = _tint(SKIN_TONES[person['skin']], pose.shade)
    hair = _tint(HAIR_COLOURS[person['hair_colour']], pose.shade)
    upper, lower, shoes = cloth(person['upper_colour']), cloth(person['lower_colour']), cloth(person['shoes_colour'])
    bag = cloth(person['bag_colour']) if person['bag'] != 'none' else None
    b = _BUILD[person['build']]
    g = pose.gait
    side = pose.view in ('left', 'right')
    facing = -1.0 if pose.view == 'left' else 1.0  # direction the nose points in side views
    # the image side on which the person's own left/right appears (front: their left is image right)
    own = {'front': {'left': 1.0, 'right': -1.0}, 'back': {'left': -1.0, 'right': 1.0}}

    sw = (0.062 if side else 0.105) * b  # half shoulder width
    ww = (0.058 if side else 0.085) * b  # half waist width
    torso = [(-sw, 0.165), (sw, 0.165), (ww, 0.50), (-ww, 0.50)]

    # far arm (side view) behind the body
    if side:
        _arm(pt, person, (0.0, 0.19), (-facing * 0.07 * g, 0.51), 0.048 * b, cloth(person['upper_colour'], 0.8),
             _tint(skin, 0.8))
        if person['bag'] == 'backpack':
            pt.poly([(-facing * sw * 0.9, 0.18), (-facing * (sw + 0.075), 0.2),
                     (-facing * (sw + 0.075), 0.42), (-facing * sw * 0.9, 0.43)], bag)

    # legs and lower clothing
    hip_u = 0.0 if side else 0.045 * b
    feet = ((-0.09 * g, 0.93), (0.09 * g, 0.93)) if side else ((-0.045 - 0.02 * g, 0.93), (0.045 - 0.02 * g, 0.93))
    for k, (fu, fv) in enumerate(feet):
        hu = (-hip_u, hip_u)[k]
        leg_colour = lower if person['lower_type'] == 'trousers' else skin
        pt.limb((hu, 0.53), (fu, fv), 0.072 * b, _tint(leg_colour, 0.85 if side and k == 0 else 1.0))
        if person['lower_type'] == 'shorts':
            pt.limb((hu, 0.53), (hu + (fu - hu) * 0.33, 0.53 + (fv - 0.53) * 0.33), 0.085 * b, lower)
        shoe_u = fu + (facing * 0.018 if side else 0.0)
        pt.ellipse((shoe_u, 0.955), (0.04 if side else 0.032, 0.022), shoes)
    if person['lower_type'] == 'skirt':
        pt.poly([(-ww, 0.48), (ww, 0.48), (ww * 1.55, 0.71), (-ww * 1.55, 0.71)], lower)
    else:
        pt.poly([(-ww, 0.48), (ww, 0.48), (ww, 0.58), (-ww, 0.58)], lower)

    # torso and its pattern (logos face the camera only in the front view)
    pt.ellipse((0.0, 0.145), (0.018, 0.03), skin)  # neck
    pt.poly(torso, upper)
    for s in (-1, 1):
        pt.ellipse((s * (sw - 0.02), 0.19), (0.03 * b, 0.03), upper)  # rounded shoulders
    pattern, accent = person['upper_pattern'], person['accent_colour']
    if pattern in ('hstripes', 'vstripes', 'checks'):
        pt.pattern(torso, pattern, cloth(accent), period=0.062, thickness=0.026)
    elif pattern.startswith('logo') and pose.view == 'front':
        if pattern == 'logo_circle':
            pt.ellipse((0.0, 0.29), (0.042, 0.042), cloth(accent))
        else:
            pt.poly([(0.0, 0.24), (0.05, 0.34), (-0.05, 0.34)], cloth(accent))

    # bags worn over the torso
    if person['bag'] == 'backpack' and pose.view == 'back':
        pt.poly([(-0.08 * b, 0.19), (0.08 * b, 0.19), (0.085 * b, 0.43), (-0.085 * b, 0.43)], bag)
        pt.poly([(-0.05 * b, 0.34), (0.05 * b, 0.34), (0.05 * b, 0.41), (-0.05 * b, 0.41)], _tint(bag, 0.7))
    elif person['bag'] == 'backpack' and pose.view == 'front':
        for s in (-1, 1):
            pt.limb((s * 0.06 * b, 0.17), (s * 0.07 * b, 0.36), 0.02, bag)
    elif person['bag'] == 'shoulder' and not side:
        s = own[pose.view][person['bag_side']]
        pt.limb((-s * 0.07 * b, 0.17), (s * 0.08 * b, 0.45), 0.016, bag)
        pt.poly([(s * 0.05 * b, 0.43), (s * 0.13 * b, 0.43), (s * 0.13 * b, 0.52), (s * 0.05 * b, 0.52)], bag)
    elif person['bag'] == 'shoulder' and person['bag_side'] == pose.view:
        pt.limb((0.02, 0.17), (0.0, 0.45), 0.016, bag)
        pt.poly([(-0.04, 0.43), (0.04, 0.43), (0.045, 0.52), (-0.045, 0.52)], bag)

    # arms (both in front/back views, the near one in side views) and a hand-held bag
    if side:
        hands = [(facing * 0.07 * g, 0.51)]
        shoulders = [(0.0, 0.19)]
    else:
        hands = [(-(sw + 0.015), 0.51 + 0.01 * g), (sw + 0.015, 0.51 - 0.01 * g)]
        shoulders = [(-(sw - 0.012), 0.19), (sw - 0.012, 0.19)]
    for sh, hand in zip(shoulders, hands):
        _arm(pt, person, sh, hand, 0.048 * b, upper, skin)
    if person['bag'] == 'handbag':
        if side:
            hand = hands[0] if person['bag_side'] == pose.view else None
        else:
            hand = hands[0] if own[pose.view][person['bag_side']] < 0 else hands[1]
        if hand is not None:
            hu, hv = hand
            pt.poly([(hu - 0.035, hv + 0.03), (hu + 0.035, hv + 0.03), (hu + 0.04, hv + 0.12),
                     (hu - 0.04, hv + 0.12)], bag)

    _head(pt, person, pose, skin, hair, cloth, facing)
    return pt.rgb, pt.alpha


def _arm(pt: _Painter, person: Identity, shoulder, hand, width, sleeve, skin) -> None:
    elbow = ((shoulder[0] + hand[0]) / 2, (shoulder[1] + hand[1]) / 2)
    pt.limb(shoulder, hand, width * 0.85, sleeve if person['sleeves'] == 'long' else skin)
    if person['sleeves'] == 'short':
        pt.limb(shoulder, (shoulder[0] + (elbow[0] - shoulder[0]) * 0.8, shoulder[1] + (elbow[1] - shoulder[1]) * 0.8),
                width, sleeve)
    pt.ellipse(hand, (0.024, 0.024), skin)


def _head(pt: _Painter, person: Identity, pose: Pose, skin, hair, cloth, facing: float) -> None:
    side = pose.view in ('left', 'right')
    long_hair = person['hair_style'] == 'long'
    if long_hair and pose.view == 'back':
        pt.poly([(-0.05, 0.07), (0.05, 0.07), (0.058, 0.25), (-0.058, 0.25)], hair)
    elif long_hair and side:
        pt.poly([(-facing * 0.005, 0.06), (-facing * 0.05, 0.06), (-facing * 0.055, 0.23), (-facing * 0.01, 0.23)],
                hair)
    elif long_hair:
        for s in (-1, 1):
            pt.poly([(s * 0.036, 0.06), (s * 0.056, 0.06), (s * 0.06, 0.2), (s * 0.036, 0.2)], hair)
    pt.ellipse((0.0, 0.075), (0.044, 0.06), hair if pose.view == 'back' else skin)
    if pose.view == 'front':
        pt.ellipse((0.0, 0.055), (0.047, 0.042), hair, start=180, end=360)
        for s in (-1, 1):
            pt.ellipse((s * 0.016, 0.08), (0.0065, 0.0065), (30, 24, 22))
    elif side:
        pt.ellipse((-facing * 0.008, 0.06), (0.044, 0.045), hair, start=180, end=360)
        pt.poly([(-facing * 0.044, 0.06), (0.0, 0.06), (-facing * 0.01, 0.11), (-facing * 0.04, 0.1)], hair)
        pt.ellipse((facing * 0.026, 0.075), (0.006, 0.006), (30, 24, 22))
    if person['hat'] == 'cap':
        colour = cloth(person['hat_colour'])
        pt.ellipse((0.0, 0.05), (0.049, 0.04), colour, start=180, end=360)
        if pose.view == 'front':
            pt.ellipse((0.0, 0.052), (0.05, 0.012), _tint(colour, 0.8))
        elif side:
            pt.poly([(facing * 0.02, 0.045), (facing * 0.08, 0.05), (facing * 0.075, 0.06), (0.0, 0.058)], colour)
    elif person['hat'] == 'beanie':
        colour = cloth(person['hat_colour'])
        pt.ellipse((0.0, 0.058), (0.05, 0.052), colour, start=180, end=360)
        pt.poly([(-0.051, 0.045), (0.051, 0.045), (0.051, 0.066), (-0.051, 0.066)], _tint(colour, 0.85))


def visible_attributes(person: Identity, view: str) -> Identity:
    """The attributes a viewer can read off an image drawn in ``view`` (mirrors ``draw_pedestrian``).

    A logo is only seen from the front (otherwise the top looks plain); a hand-held or shoulder bag
    is hidden in the side view facing away from it. Everything else shows in every view.
    """
    if view not in VIEWS:
        raise ValueError(f'SynthReID: unknown view {view!r}, expected one of {VIEWS}')
    seen = dict(normalise(person))
    if seen['upper_pattern'].startswith('logo') and view != 'front':
        seen['upper_pattern'] = 'plain'
    if seen['bag'] in ('handbag', 'shoulder') and view in ('left', 'right') and seen['bag_side'] != view:
        seen['bag'] = 'none'
    return normalise(seen)
