import numpy as np
import pytest

from reidengine.datasets.transforms import RandomPatch


def _find(window, source):
    """All (row, col) where ``window`` occurs in ``source``."""
    h, w = window.shape[:2]
    return [(i, j) for i in range(source.shape[0] - h + 1)
            for j in range(source.shape[1] - w + 1)
            if np.array_equal(source[i:i + h, j:j + w], window)]


def _pasted(target, out):
    changed = (out != target).any(-1)
    if not changed.any():
        return None
    rows, cols = np.nonzero(changed)
    top, left = rows.min(), cols.min()
    h, w = rows.max() - top + 1, cols.max() - left + 1
    assert changed[top:top + h, left:left + w].all()  # a rectangle was overwritten
    return out[top:top + h, left:left + w]


@pytest.mark.parametrize('prob_flip', [0.0, 1.0])
def test_pastes_a_patch_of_an_earlier_image(prob_flip):
    rng = np.random.default_rng(0)
    np.random.seed(0)
    pasted = 0
    for _ in range(20):
        source = rng.integers(0, 100, (24, 12, 3), dtype=np.uint8)  # distinct from target
        target = np.full((24, 12, 3), 200, dtype=np.uint8)
        transform = RandomPatch(prob=1.0, min_sample_size=1, prob_flip=prob_flip, prob_rotate=0.0)
        transform(dict(img=source))
        out = transform(dict(img=target.copy()))['img']
        window = _pasted(target, out)
        if window is None:  # the patch drawn was the target's own (all 200)
            continue
        pasted += 1
        if prob_flip:
            window = window[:, ::-1]
        assert _find(window, source), 'pasted content is not a window of the earlier image'
    assert pasted >= 5


def test_nothing_pasted_below_min_sample_size_or_with_p_zero():
    rng = np.random.default_rng(1)
    waiting = RandomPatch(prob=1.0, min_sample_size=50)
    never = RandomPatch(prob=0.0, min_sample_size=1)
    for _ in range(40):
        img = rng.integers(0, 256, (24, 12, 3), dtype=np.uint8)
        for transform in (waiting, never):
            np.testing.assert_array_equal(transform(dict(img=img.copy()))['img'], img)
    assert len(waiting.pool) == 40 and len(never.pool) == 40  # every image gave a patch


def test_pool_keeps_the_newest_patches():
    transform = RandomPatch(prob=0.0, pool_capacity=3)
    for value in range(10):
        transform(dict(img=np.full((24, 12, 3), value, dtype=np.uint8)))
    assert [int(p[0, 0, 0]) for p in transform.pool] == [7, 8, 9]


def test_rotated_patch_keeps_its_size():
    np.random.seed(2)
    transform = RandomPatch(prob=1.0, min_sample_size=1, prob_rotate=1.0, max_rotation=10)
    patch = np.random.randint(1, 255, (9, 5, 3)).astype(np.uint8)
    assert transform._augment_patch(patch).shape == (9, 5, 3)


def test_bad_arguments():
    with pytest.raises(ValueError, match='prob_flip'):
        RandomPatch(prob_flip=2.0)
    with pytest.raises(ValueError, match='pool_capacity'):
        RandomPatch(pool_capacity=0)
