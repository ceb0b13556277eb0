import pytest
import torch

from reidengine.evaluation.functional.positions import bounded_positions, sorted_positions


def stable_argsort_positions(dist, cols, mask):
    """Direct: position of each probe column in a stable argsort of its row."""
    out = torch.full_like(cols, -1)
    for r in range(dist.shape[0]):
        order = sorted(range(dist.shape[1]), key=lambda k: (float(dist[r, k]), k))
        where = {k: i for i, k in enumerate(order)}
        for j in range(cols.shape[1]):
            if mask[r, j]:
                out[r, j] = where[int(cols[r, j])]
    return out


def test_hand_case_with_ties():
    dist = torch.tensor([[0.5, 0.2, 0.5, 0.1, 0.5]])
    cols = torch.tensor([[2, 0, 3, 4]])
    mask = torch.tensor([[True, True, True, False]])
    # sorted: col3 (0.1), col1 (0.2), col0, col2, col4 (0.5, gallery order)
    assert sorted_positions(dist, cols, mask).tolist() == [[3, 2, 0, -1]]


@pytest.mark.parametrize('kind', ['normal', 'integer', 'negative', 'with_inf'])
def test_equals_stable_argsort(kind):
    seed = {'normal': 0, 'integer': 1, 'negative': 2, 'with_inf': 3}[kind]
    g = torch.Generator().manual_seed(seed)
    for _ in range(40):
        rows = int(torch.randint(1, 6, (), generator=g))
        cols_n = int(torch.randint(1, 70, (), generator=g))
        probes = int(torch.randint(1, 9, (), generator=g))
        if kind == 'integer':  # many exact ties
            dist = torch.randint(0, 6, (rows, cols_n), generator=g).float()
        else:
            dist = torch.randn(rows, cols_n, generator=g)
            if kind == 'negative':
                dist = dist - 10
        cols = torch.randint(0, cols_n, (rows, probes), generator=g)
        mask = torch.rand(rows, probes, generator=g) < 0.7
        if kind == 'with_inf':  # infinite distances away from the probes
            far = torch.rand(rows, cols_n, generator=g) < 0.2
            far.scatter_(1, cols, False)
            dist[far] = float('inf')
        cells = int(torch.randint(2, 40, (), generator=g))
        assert torch.equal(sorted_positions(dist, cols, mask, num_cells=cells),
                           stable_argsort_positions(dist, cols, mask))


def test_rows_without_probes_and_single_probe():
    dist = torch.tensor([[3.0, 1.0, 2.0], [1.0, 1.0, 0.0]])
    cols = torch.tensor([[0, 1], [1, 0]])
    mask = torch.tensor([[False, False], [True, False]])
    assert sorted_positions(dist, cols, mask).tolist() == [[-1, -1], [2, -1]]
    assert sorted_positions(dist, cols, torch.zeros_like(mask)).tolist() == [[-1, -1], [-1, -1]]


def test_bad_arguments():
    with pytest.raises(ValueError, match='num_cells'):
        sorted_positions(torch.zeros(1, 2), torch.zeros(1, 1, dtype=torch.long),
                         torch.ones(1, 1, dtype=torch.bool), num_cells=1)
    with pytest.raises(ValueError, match='rows x cells'):
        sorted_positions(torch.zeros(2 ** 14, 2), torch.zeros(2 ** 14, 1, dtype=torch.long),
                         torch.ones(2 ** 14, 1, dtype=torch.bool), num_cells=2 ** 10)


@pytest.mark.parametrize('dense_fraction', [0.0, 0.3, 2.0])  # all rows dense / mixed / sparse
def test_bounded_positions_equal_stable_argsort_below_the_bound(dense_fraction):
    g = torch.Generator().manual_seed(5)
    for trial in range(40):
        rows = int(torch.randint(1, 7, (), generator=g))
        cols_n = int(torch.randint(1, 90, (), generator=g))  # also not a multiple of 8
        probes = int(torch.randint(1, 9, (), generator=g))
        if trial % 3 == 0:  # many exact ties, also at the bound
            dist = torch.randint(0, 6, (rows, cols_n), generator=g).float()
        else:
            dist = torch.randn(rows, cols_n, generator=g)
        cols = torch.randint(0, cols_n, (rows, probes), generator=g)
        mask = torch.rand(rows, probes, generator=g) < 0.7
        # the bound: a probe's distance (as the evaluator uses it), or -inf (nothing wanted)
        pick = torch.randint(0, probes, (rows,), generator=g)
        bound = dist.gather(1, cols).gather(1, pick[:, None]).squeeze(1)
        bound[torch.rand(rows, generator=g) < 0.2] = -float('inf')
        expected = stable_argsort_positions(dist, cols, mask)
        expected[dist.gather(1, cols) > bound[:, None]] = -1  # beyond the bound: not placed
        out = bounded_positions(dist, cols, mask, bound, num_cells=int(
            torch.randint(2, 30, (), generator=g)), dense_fraction=dense_fraction)
        assert torch.equal(out, expected)


@pytest.mark.parametrize('dense_fraction', [0.0, 2.0])
def test_bounded_positions_report_nan_on_both_routes(dense_fraction):
    dist = torch.tensor([[0.1, 0.5, float('nan'), 0.3] * 4, [0.2] * 16])
    cols, mask = torch.tensor([[1], [0]]), torch.tensor([[True], [True]])
    with pytest.raises(ValueError, match='NaN'):  # a NaN compares false: it must still be found
        bounded_positions(dist, cols, mask, torch.tensor([0.5, 0.2]),
                          dense_fraction=dense_fraction)
    with pytest.raises(ValueError, match='NaN'):  # a row with nothing wanted still reads NaN
        bounded_positions(dist, cols, mask & False, torch.full((2,), -float('inf')),
                          dense_fraction=dense_fraction)
