"""Part-aware attention mask (PAT eq. 3-4): bands, visibility rules, random sub-regions."""
import pytest
import torch

from plugins.pat.models.part_attention import (PartAttentionMask, band_rows, part_attention_mask,
                                               region_masks)

BANDS = ((0.0, 0.5), (0.25, 0.75), (0.5, 1.0))


def expected_mask(rows, cols, band_list, visibility):
    """Slow rule-by-rule construction: one (query, key) pair at a time."""
    parts = len(band_list)
    total = 1 + parts + rows * cols

    def kind(t):
        if t == 0:
            return ('cls', None)
        if t <= parts:
            return ('part', t - 1)
        return ('img', ((t - 1 - parts) // cols))  # grid row of the image token

    def in_region(part, row):
        start, end = band_list[part]
        return start <= row < end

    mask = torch.zeros(total, total, dtype=torch.bool)
    for q in range(total):
        for k in range(total):
            (qk, qv), (kk, kv) = kind(q), kind(k)
            if qk in ('cls', 'img') and kk in ('cls', 'img'):
                allowed = True
            elif qk == 'part' and kk == 'part':
                allowed = q == k
            elif qk == 'part' and kk == 'img':
                allowed = in_region(qv, kv)
            elif visibility == 'official' and qk == 'part' and kk == 'cls':
                allowed = True
            elif visibility == 'official' and qk == 'cls' and kk == 'part':
                allowed = True
            elif visibility == 'official' and qk == 'img' and kk == 'part':
                allowed = in_region(kv, qv)
            else:
                allowed = False
            mask[q, k] = allowed
    return mask


def test_bands_of_a_16x8_grid():
    assert band_rows(16, BANDS) == [(0, 8), (4, 12), (8, 16)]
    regions = region_masks((16, 8), BANDS).view(3, 16, 8)
    for p, (start, end) in enumerate([(0, 8), (4, 12), (8, 16)]):
        rows_in = regions[p].all(dim=1)
        assert rows_in.nonzero().flatten().tolist() == list(range(start, end))
        assert not regions[p][~rows_in].any()


@pytest.mark.parametrize('visibility', ['paper', 'official'])
def test_mask_matches_rules(visibility):
    rows, cols = 8, 3
    mask = part_attention_mask(region_masks((rows, cols), BANDS), visibility)
    assert torch.equal(mask, expected_mask(rows, cols, band_rows(rows, BANDS), visibility))


def test_cls_sees_parts_only_in_official_mode():
    regions = region_masks((16, 8), BANDS)
    paper, official = part_attention_mask(regions, 'paper'), part_attention_mask(regions, 'official')
    assert not paper[0, 1:4].any() and official[0, 1:4].all()
    assert not paper[1:4, 0].any() and official[1:4, 0].all()
    # image tokens never see part tokens in paper mode
    assert not paper[4:, 1:4].any()


def test_bad_visibility_and_bands_raise():
    with pytest.raises(ValueError, match='visibility'):
        PartAttentionMask(visibility='both')
    with pytest.raises(ValueError, match='band 0'):
        band_rows(16, [(0.6, 0.2)])


def test_random_subregions_stay_in_their_band_plus_one_row_and_are_off_at_test():
    maker = PartAttentionMask(BANDS, random_subregions=True)
    fixed = PartAttentionMask(BANDS)((16, 8))
    gen = torch.Generator().manual_seed(0)
    seen_different = False
    bands = band_rows(16, BANDS)
    for _ in range(50):
        mask = maker((16, 8), training=True, generator=gen)
        regions = mask[1:4, 4:].view(3, 16, 8)
        for p, (start, end) in enumerate(bands):
            rows = regions[p].any(1).nonzero().flatten()
            cols = regions[p].any(0).nonzero().flatten()
            assert rows.numel() > 0
            # the released rule may take the row just past the band (rows t..h, h <= end)
            assert start <= int(rows.min()) and int(rows.max()) <= min(end, 15)
            # a rectangle: every (row, col) of its bounding box is inside
            box = regions[p][rows.min():rows.max() + 1, cols.min():cols.max() + 1]
            assert box.all() and int(regions[p].sum()) == box.numel()
        # the global part of the mask never changes
        assert torch.equal(mask[0], fixed[0]) and torch.equal(mask[4:, 0], fixed[4:, 0])
        seen_different |= not torch.equal(mask, fixed)
        assert torch.equal(maker((16, 8), training=False, generator=gen), fixed)
    assert seen_different


def _released_region_spans(rows, cols, band_list, rng):
    """Direct re-statement of the released ``generate_2d_mask`` for one draw: per band, numbers of
    rows and columns of its region (``random.sample`` of two cells, inclusive, cut at the edge)."""
    spans = []
    for start, end in band_list:
        t, h = sorted(rng.sample(range(start, end + 1), 2))
        l, w = sorted(rng.sample(range(0, cols + 1), 2))
        spans.append((min(h, rows - 1) - t + 1, min(w, cols - 1) - l + 1))
    return tuple(spans)


def test_random_subregion_spans_follow_the_released_distribution():
    """The (rows, cols) span of each band over many draws matches the released rule's distribution:
    same support, total variation distance within sampling noise, released mean of ~4.3 rows."""
    import collections
    import random
    draws = 4000
    bands = band_rows(16, BANDS)
    rng = random.Random(0)
    released = collections.Counter(_released_region_spans(16, 8, bands, rng)[p]
                                   for _ in range(draws) for p in range(3))
    gen = torch.Generator().manual_seed(0)
    ours = collections.Counter()
    for _ in range(draws):
        regions = region_masks((16, 8), BANDS, random_subregions=True, generator=gen).view(3, 16, 8)
        for p in range(3):
            ours[(int(regions[p].any(1).sum()), int(regions[p].any(0).sum()))] += 1
    assert set(ours) == set(released)
    total = 3 * draws
    tv = 0.5 * sum(abs(ours[k] - released[k]) for k in released) / total
    assert tv < 0.05, tv  # 0.5 * sum |p - q| over ~100 cells at n = 12000: noise ~0.03
    mean_rows = sum(k[0] * n for k, n in ours.items()) / total
    assert abs(mean_rows - sum(k[0] * n for k, n in released.items()) / total) < 0.1
    assert 4.1 < mean_rows < 4.5
