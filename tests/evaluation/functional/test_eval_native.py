"""The native ranking kernel against the torch ``bounded_positions`` and a written-out stable
argsort, on every code path the compiler can give it (AVX-512, AVX2, scalar)."""
import os

import pytest
import torch

from reidengine.evaluation.functional import native
from reidengine.evaluation.functional.positions import bounded_positions

from test_eval_positions import stable_argsort_positions

needs_kernel = pytest.mark.skipif(native.kernel() is None,
                                  reason=f'no native kernel: {native.unavailable_reason()}')


def _cpu_flags():
    try:
        with open('/proc/cpuinfo') as f:
            return set(next(ln for ln in f if ln.startswith('flags')).split(':')[1].split())
    except (OSError, StopIteration):
        return set()


def kernels():
    """This machine's kernel, plus the AVX2-only and plain x86-64 builds where they can run."""
    out = {'native': native.kernel()}
    flags = _cpu_flags()
    variants = {'x86-64-v3 (AVX2)': ('avx2', 'fma', 'bmi2'), 'x86-64 (scalar)': ()}
    for name, needed in variants.items():
        if flags and all(f in flags for f in needed):
            march = name.split()[0]
            out[name] = native.load_library(native.build(
                flags=(f'-march={march}', *[f for f in native.FLAGS if f != '-march=native'])))
    return out


def tied_distances(g, shape, step):
    """Few distinct values (exact ties) including zeros of both signs (they compare equal)."""
    dist = torch.randint(-3, 4, shape, generator=g).float() * step
    dist[dist == 0] = torch.where(torch.rand((dist == 0).sum(), generator=g) < 0.5, -0.0, 0.0)
    return dist


def expected_below(dist, cols, mask, bound):
    """The stable-argsort positions of the probes within the bound, -1 for the others."""
    expected = stable_argsort_positions(dist, cols, mask)
    expected[dist.gather(1, cols) > bound[:, None]] = -1
    return expected


def assert_every_build(fns, dist, cols, mask, bound, expected, label):
    for name, fn in fns.items():
        assert torch.equal(native.bounded_positions(dist, cols, mask, bound, fn=fn),
                           expected), (name, label)


def random_case(g, trial):
    rows = int(torch.randint(1, 7, (), generator=g))
    cols_n = int(torch.randint(1, 90, (), generator=g))  # across the 8 / 16-lane boundaries
    probes = int(torch.randint(1, 9, (), generator=g))
    if trial % 3 == 0:  # many exact ties, also at the bound, and -0.0 against +0.0
        dist = tied_distances(g, (rows, cols_n), 0.5)
    else:
        dist = torch.randn(rows, cols_n, generator=g)
    cols = torch.randint(0, cols_n, (rows, probes), generator=g)
    mask = torch.rand(rows, probes, generator=g) < 0.7
    pick = torch.randint(0, probes, (rows, 1), generator=g)
    bound = dist.gather(1, cols).gather(1, pick).squeeze(1)
    bound[torch.rand(rows, generator=g) < 0.2] = -float('inf')
    bound[torch.rand(rows, generator=g) < 0.1] = float('inf')  # every element a candidate
    return dist, cols, mask, bound


@needs_kernel
def test_kernel_equals_stable_argsort_below_the_bound_on_every_code_path():
    g = torch.Generator().manual_seed(11)
    fns = kernels()
    assert len(fns) >= 2 or not _cpu_flags()  # on x86-64 at least the scalar build runs too
    for trial in range(150):
        dist, cols, mask, bound = random_case(g, trial)
        expected = expected_below(dist, cols, mask, bound)  # beyond the bound: not placed
        assert torch.equal(bounded_positions(dist, cols, mask, bound), expected)
        assert_every_build(fns, dist, cols, mask, bound, expected, trial)


@needs_kernel
def test_rows_with_hundreds_of_probes_take_the_search_route_and_agree():
    g = torch.Generator().manual_seed(7)
    fns = kernels()
    for trial in range(4):  # > 256 wanted probes (the search route) next to rows with a few
        dist = torch.randn(3, 700, generator=g)
        if trial % 2:  # ties, -0.0 / +0.0 and repeated probe columns
            dist = tied_distances(g, (3, 700), 0.25)
        cols = torch.randint(0, 700, (3, 400), generator=g)
        mask = torch.ones(3, 400, dtype=torch.bool)
        mask[1, 5:] = False  # 5 probes: the counting route
        bound = torch.stack([dist[0].max(), dist[1].max(), dist[2].quantile(0.8)])
        expected = expected_below(dist, cols, mask, bound)
        assert int(((expected >= 0).sum(1) > 256).sum()) == 2  # rows 0 and 2: the search route
        assert_every_build(fns, dist, cols, mask, bound, expected, trial)


@needs_kernel
def test_kernel_reads_rows_with_a_stride_and_reports_nan():
    g = torch.Generator().manual_seed(3)
    big = torch.randn(5, 40, generator=g)
    dist = big[:, 3:37]  # rows 40 apart
    cols = torch.randint(0, 34, (5, 4), generator=g)
    mask = torch.ones(5, 4, dtype=torch.bool)
    bound = dist.gather(1, cols).amax(1)
    expected = stable_argsort_positions(dist.contiguous(), cols, mask)
    assert torch.equal(native.bounded_positions(dist, cols, mask, bound), expected)
    for bound_row0 in (0.5, -float('inf')):  # a NaN is a candidate whatever the bound
        with_nan = torch.tensor([[0.1, 0.5] * 9 + [float('nan')] + [0.3] * 20, [0.2] * 39])
        with pytest.raises(ValueError, match='NaN .row 0 of this block of 2 rows'):
            native.bounded_positions(with_nan, torch.tensor([[1], [0]]),
                                     torch.tensor([[True], [True]]),
                                     torch.tensor([bound_row0, 0.2]))


def test_build_errors_name_the_compiler_and_the_cache_is_reused(tmp_path, monkeypatch):
    with pytest.raises(RuntimeError, match='no C compiler "no-such-cc"'):
        native.build(compiler='no-such-cc', directory=str(tmp_path))
    if native.kernel() is None:
        pytest.skip(f'no native kernel: {native.unavailable_reason()}')
    with pytest.raises(RuntimeError, match='-fno-such-flag'):
        native.build(flags=('-fno-such-flag', *native.FLAGS), directory=str(tmp_path))
    path = native.build(directory=str(tmp_path))
    assert os.listdir(tmp_path) == [os.path.basename(path)]  # no temporary file left behind
    stamp = os.stat(path).st_mtime_ns
    assert native.build(directory=str(tmp_path)) == path and os.stat(path).st_mtime_ns == stamp
    other = native.build(flags=('-O2', *native.FLAGS[1:]), directory=str(tmp_path))
    assert other != path  # the flags are part of the name


def test_disabled_kernel_falls_back_to_torch_with_a_reason(monkeypatch):
    monkeypatch.setattr(native, '_STATE', {})
    monkeypatch.setenv('REIDENGINE_NATIVE', '0')
    assert native.kernel() is None and native.unavailable_reason() == 'REIDENGINE_NATIVE=0'
    from reidengine.evaluation.functional import RankAccumulator
    acc = RankAccumulator(torch.tensor([1]), torch.tensor([0]), torch.tensor([2, 1]),
                          torch.tensor([1, 1]), native=True)
    with pytest.raises(RuntimeError, match='native ranking kernel is not available'):
        acc.update(0, torch.tensor([[0.5, 0.7]]))
    acc = RankAccumulator(torch.tensor([1]), torch.tensor([0]), torch.tensor([2, 1]),
                          torch.tensor([1, 1]))  # auto: the torch implementation
    acc.update(0, torch.tensor([[0.5, 0.7]]))
    assert acc.summary()['mAP'] == 0.5
