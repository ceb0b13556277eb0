"""Part-aware attention mask of PAT (Ni et al., ICCV 2023, Sec. 3.1, eq. 3-4).

Token order: ``[cls, part_1 .. part_P, image tokens (row-major grid)]``. Each part token owns a
region of the patch grid (by default three overlapping horizontal bands, full width). One boolean
(T, T) mask (True = may attend) is shared by the batch, every layer and every head.

Visibility ``'paper'`` (eq. 3-4): cls and image tokens attend to cls + image tokens only; part token
i attends to itself and the image tokens of its region. Visibility ``'official'`` reproduces the
released code: part tokens also see cls, cls sees the part tokens and every image token sees the part
tokens whose region holds it.
"""
import math
from typing import Optional, Sequence, Tuple

import torch

VISIBILITIES = ('paper', 'official')


def band_rows(num_rows: int, bands: Sequence[Tuple[float, float]]) -> list:
    """Row ranges ``[start, end)`` of the bands, given as fractions of the grid height.

    Fractions are rounded half up: for 16 rows the default bands (0, .5), (.25, .75), (.5, 1) give
    rows 0-7, 4-11 and 8-15.
    """
    rows = []
    for i, (lo, hi) in enumerate(bands):
        if not 0.0 <= lo < hi <= 1.0:
            raise ValueError(f'part band {i} = ({lo}, {hi}): expected 0 <= start < end <= 1 '
                             '(fractions of the grid height)')
        start, end = math.floor(lo * num_rows + 0.5), math.floor(hi * num_rows + 0.5)
        if end <= start:
            raise ValueError(f'part band {i} = ({lo}, {hi}) holds no row of a grid with '
                             f'{num_rows} rows')
        rows.append((start, end))
    return rows


def _released_span(start: int, end: int, size: int,
                   generator: Optional[torch.Generator]) -> Tuple[int, int]:
    """The released code's random span of a band ``[start, end)`` of a grid axis of ``size`` cells,
    as a half-open range.

    Released rule (``generate_2d_mask``): ``t, h = sorted(random.sample(range(start, end + 1), 2))``,
    then cells ``t .. h`` inclusive, cut at the grid edge. So the span holds at least two cells
    unless cut, and may reach one cell past the band's end (``h = end``).
    """
    t, h = sorted((start + torch.randperm(end - start + 1, generator=generator)[:2]).tolist())
    return t, min(h + 1, size)


def region_masks(grid_size: Tuple[int, int],
                 bands: Sequence[Tuple[float, float]],
                 random_subregions: bool = False,
                 generator: Optional[torch.Generator] = None) -> torch.Tensor:
    """(P, rows*cols) bool: which image tokens belong to each part's region.

    With ``random_subregions`` each region is a random sub-rectangle drawn from its band by the
    released code's rule (``_released_span`` for rows and for columns; drawn anew at every call).
    """
    num_rows, num_cols = grid_size
    regions = torch.zeros(len(bands), num_rows, num_cols, dtype=torch.bool)
    for p, (start, end) in enumerate(band_rows(num_rows, bands)):
        col_start, col_end = 0, num_cols
        if random_subregions:
            start, end = _released_span(start, end, num_rows, generator)
            col_start, col_end = _released_span(0, num_cols, num_cols, generator)
        regions[p, start:end, col_start:col_end] = True
    return regions.flatten(1)


def part_attention_mask(regions: torch.Tensor, visibility: str = 'paper') -> torch.Tensor:
    """(T, T) bool attention mask, T = 1 + P + N, from the (P, N) region masks (eq. 3-4)."""
    if visibility not in VISIBILITIES:
        raise ValueError(f'visibility={visibility!r}: expected one of {VISIBILITIES}')
    num_parts, num_patches = regions.shape
    prefix = 1 + num_parts
    total = prefix + num_patches
    mask = torch.zeros(total, total, dtype=torch.bool)
    is_global = torch.ones(total, dtype=torch.bool)
    is_global[1:prefix] = False
    # global attention (eq. 3): cls + image tokens among themselves
    mask |= is_global[:, None] & is_global[None, :]
    parts = torch.arange(1, prefix)
    # part-aware attention (eq. 4): part token i -> itself and the image tokens of its region
    mask[parts, parts] = True
    mask[1:prefix, prefix:] = regions
    if visibility == 'official':
        mask[1:prefix, 0] = True
        mask[0, 1:prefix] = True
        mask[prefix:, 1:prefix] = regions.t()
    return mask


class PartAttentionMask:
    """Builds the part-aware attention mask for a backbone grid (PAT Sec. 3.1).

    Args:
        bands: one ``(start, end)`` pair per part token, fractions of the grid height; each region
            spans the full width of its band.
        visibility: ``'paper'`` (eq. 3-4) or ``'official'`` (released code, see module docstring).
        random_subregions: in training, draw a random sub-rectangle of each band at every forward
            pass (released code). Never used at test time.
    """

    def __init__(self,
                 bands: Sequence[Tuple[float, float]] = ((0.0, 0.5), (0.25, 0.75), (0.5, 1.0)),
                 visibility: str = 'paper',
                 random_subregions: bool = False):
        if visibility not in VISIBILITIES:
            raise ValueError(f'visibility={visibility!r}: expected one of {VISIBILITIES}')
        if len(bands) == 0:
            raise ValueError('bands is empty: expected one (start, end) pair per part token')
        self.bands = tuple(tuple(float(v) for v in b) for b in bands)
        self.visibility = visibility
        self.random_subregions = random_subregions

    @property
    def num_parts(self) -> int:
        return len(self.bands)

    def __call__(self, grid_size: Tuple[int, int], training: bool = False,
                 device=None, generator: Optional[torch.Generator] = None) -> torch.Tensor:
        regions = region_masks(grid_size, self.bands,
                               random_subregions=self.random_subregions and training,
                               generator=generator)
        return part_attention_mask(regions, self.visibility).to(device)
