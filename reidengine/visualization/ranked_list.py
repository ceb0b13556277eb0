"""Ranked-list pictures: each query with its top-k gallery images, nearest first.

Layout (one row per query): the query framed blue with its label, then the gallery images of
ranks 1..k left to right, each framed green (same identity: a true match) or red (a wrong match),
with ``#rank`` above and the distance below. The title row says what the picture shows and how
to read it. :func:`cell_box` gives the pixel box of any image cell (the tests read frame colours
back from it).
"""
from typing import List, Optional, Sequence, Tuple

import cv2
import numpy as np

GREEN, RED, BLUE, WHITE, BLACK = (0, 170, 0), (220, 0, 0), (40, 90, 230), (255, 255, 255), (0, 0, 0)
CELL_H, CELL_W, FRAME, GAP = 128, 64, 4, 6
LABEL_H, TEXT_H, TITLE_H, QUERY_GAP = 16, 30, 40, 24


def load_rgb(image) -> np.ndarray:
    """An HxWx3 uint8 RGB array from a path (read by OpenCV) or an array (RGB)."""
    if isinstance(image, str):
        img = cv2.imread(image, cv2.IMREAD_COLOR)
        if img is None:
            raise IOError(f'cannot read image {image}')
        return img[..., ::-1]
    img = np.asarray(image)
    if img.ndim != 3 or img.shape[2] != 3:
        raise ValueError(f'expected an HxWx3 image, got shape {img.shape}')
    return img.astype(np.uint8)


def _cell_x(col: int) -> int:
    """Left pixel of column ``col`` (0 = query)."""
    width = CELL_W + 2 * FRAME
    if col == 0:
        return GAP
    return GAP + width + QUERY_GAP + (col - 1) * (width + GAP)


def cell_box(row: int, col: int) -> Tuple[int, int, int, int]:
    """(top, left, bottom, right) pixels of the framed cell of query ``row``, column ``col``
    (0 = the query, r = rank r), frame included, bottom/right exclusive."""
    row_h = LABEL_H + CELL_H + 2 * FRAME + TEXT_H
    top = TITLE_H + row * row_h + LABEL_H
    left = _cell_x(col)
    return top, left, top + CELL_H + 2 * FRAME, left + CELL_W + 2 * FRAME


def _text(canvas, text, x, y, scale=0.38, color=BLACK):
    cv2.putText(canvas, text, (int(x), int(y)), cv2.FONT_HERSHEY_SIMPLEX, scale, color, 1,
                cv2.LINE_AA)


def _put_cell(canvas, image, box, color):
    top, left, bottom, right = box
    canvas[top:bottom, left:right] = color
    img = cv2.resize(load_rgb(image), (CELL_W, CELL_H), interpolation=cv2.INTER_AREA)
    canvas[top + FRAME:bottom - FRAME, left + FRAME:right - FRAME] = img


def draw_ranked_lists(queries: Sequence, galleries: Sequence[Sequence], distances: np.ndarray,
                      matches: np.ndarray, title: str = 'Ranked lists',
                      query_labels: Optional[List[str]] = None) -> np.ndarray:
    """The picture (HxWx3 uint8 RGB).

    Args:
        queries: Q query images (paths or RGB arrays).
        galleries: per query, its k ranked gallery images (nearest first).
        distances: (Q, k) the distances of those images.
        matches: (Q, k) bool, True where the gallery image shows the query's identity.
        title: first line of the title row.
        query_labels: a label per query (e.g. its identity and AP).
    """
    distances, matches = np.asarray(distances, dtype=float), np.asarray(matches, dtype=bool)
    num_q = len(queries)
    if num_q == 0:
        raise ValueError('draw_ranked_lists: no queries to draw')
    k = distances.shape[1]
    if distances.shape != (num_q, k) or matches.shape != (num_q, k) or len(galleries) != num_q:
        raise ValueError(f'draw_ranked_lists: {num_q} queries but distances {distances.shape}, '
                         f'matches {matches.shape}, {len(galleries)} gallery lists')
    bottom = cell_box(num_q - 1, 0)[2] + TEXT_H
    right = cell_box(0, k)[3] + GAP
    legend = ('query (blue) | ranks 1..k nearest first; green = same identity, red = other; '
              'distance below')
    text_w = max(cv2.getTextSize(t, cv2.FONT_HERSHEY_SIMPLEX, sc, 1)[0][0]
                 for t, sc in ((title, 0.5), (legend, 0.35)))
    canvas = np.full((bottom, max(right, text_w + 2 * GAP), 3), 255, np.uint8)
    _text(canvas, title, GAP, 16, 0.5)
    _text(canvas, legend, GAP, 32, 0.35, (80, 80, 80))
    for q in range(num_q):
        box = cell_box(q, 0)
        _text(canvas, 'query', box[1], box[0] - 4, 0.38, BLUE)
        _put_cell(canvas, queries[q], box, BLUE)
        if query_labels is not None:
            _text(canvas, str(query_labels[q]), box[1], box[2] + 12, 0.32)
        for r in range(k):
            box = cell_box(q, r + 1)
            _text(canvas, f'#{r + 1}', box[1] + 2, box[0] - 4)
            _put_cell(canvas, galleries[q][r], box, GREEN if matches[q, r] else RED)
            _text(canvas, f'{distances[q, r]:.4g}', box[1], box[2] + 12, 0.34)
    return canvas


def save_png(path: str, rgb: np.ndarray) -> None:
    """Write an RGB array as PNG (OpenCV writes BGR)."""
    if not cv2.imwrite(path, np.ascontiguousarray(rgb[..., ::-1])):
        raise IOError(f'cannot write {path}')
