import math

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from reidengine.datasets.samplers import DomainBalancedPKSampler, PKSampler, pk_sampler
from reidengine.registry import DATA_SAMPLERS
from reidengine.utils import register_all_modules


class FakeDataset:
    """Only what samplers read: ``get_data_info(i)`` (and ``get_pids`` / ``get_domains``)."""

    def __init__(self, counts, domains=None, with_getters=False):
        self.pids = np.repeat(np.arange(len(counts)), counts)
        id_domains = np.zeros(len(counts), int) if domains is None else np.asarray(domains)
        self.domains = id_domains[self.pids]
        if with_getters:
            self.get_pids = lambda: self.pids.copy()
            self.get_domains = lambda: self.domains.copy()

    def __len__(self):
        return len(self.pids)

    def __getitem__(self, i):
        return i

    def get_data_info(self, i):
        return dict(pid=int(self.pids[i]), domain=int(self.domains[i]), img_path=f'{i}.jpg')


COUNTS = [5, 3, 8, 1, 4, 4, 9, 2, 6, 7]  # chunks of K=4: 1,1,2,1,1,1,2,1,1,1 -> 12


@pytest.fixture
def world(monkeypatch):
    """Pretend to be ``rank`` of ``size`` processes."""
    def set_world(rank, size):
        monkeypatch.setattr(pk_sampler, 'get_dist_info', lambda: (rank, size))
    return set_world


def _batches(sampler, epoch=0):
    sampler.set_epoch(epoch)
    out = np.array(list(sampler))
    return out.reshape(-1, sampler.batch_size_per_rank)


def _check_pk(batch, pids, p, k):
    ids = pids[batch].reshape(p, k)
    assert (ids == ids[:, :1]).all(), 'each group of K images has one identity'
    assert len(set(ids[:, 0].tolist())) == p, 'P different identities'


@pytest.mark.parametrize('with_getters', [False, True])
@pytest.mark.parametrize('round_up,num_batches', [(True, math.ceil(12 / 3)), (False, 12 // 3)])
def test_batches_are_p_ids_by_k_images_and_len_is_exact(with_getters, round_up, num_batches):
    ds = FakeDataset(COUNTS, with_getters=with_getters)
    sampler = PKSampler(ds, num_instances=4, batch_size=12, seed=0, round_up=round_up)
    assert sampler.num_batches == num_batches
    assert len(sampler) == num_batches * 12
    for epoch in range(5):
        batches = _batches(sampler, epoch)
        assert len(batches) * 12 == len(sampler)
        for batch in batches:
            _check_pk(batch, ds.pids, 3, 4)


def test_every_chunk_is_used_and_small_ids_are_duplicated():
    ds = FakeDataset(COUNTS)
    sampler = PKSampler(ds, num_instances=4, batch_size=8, seed=3, round_up=True)  # P=2, B=6
    for epoch in range(10):
        batches = _batches(sampler, epoch)
        chunks = batches.reshape(-1, 4)
        chunk_pids = ds.pids[chunks[:, 0]]
        for pid, n in enumerate(COUNTS):
            mine = chunks[chunk_pids == pid]
            assert len(mine) >= max(1, n // 4)  # all its chunks (12 = 6 x 2: none dropped)
            own = np.flatnonzero(ds.pids == pid)
            assert np.isin(mine, own).all()
            if n < 4:  # every own image present, the rest duplicates of them
                for chunk in mine:
                    assert set(chunk.tolist()) == set(own.tolist())
            else:  # chunks of an identity with >= K images take distinct images
                first = mine[:n // 4].reshape(-1)
                assert len(set(first.tolist())) == len(first)


def test_deterministic_per_seed_and_epoch():
    ds = FakeDataset(COUNTS)
    a = PKSampler(ds, num_instances=2, batch_size=6, seed=7)
    b = PKSampler(ds, num_instances=2, batch_size=6, seed=7)
    c = PKSampler(ds, num_instances=2, batch_size=6, seed=8)
    for epoch in (0, 3):
        np.testing.assert_array_equal(_batches(a, epoch), _batches(b, epoch))
    assert not np.array_equal(_batches(a, 0), _batches(a, 1))
    assert not np.array_equal(_batches(a, 0), _batches(c, 0))
    # resuming mid-training: a fresh sampler set to epoch 4 gives the same epoch 4
    for epoch in range(4):
        list(a)
        a.set_epoch(epoch + 1)
    np.testing.assert_array_equal(np.array(list(a)), np.array(list(_fresh(ds, 4))))


def _fresh(ds, epoch):
    s = PKSampler(ds, num_instances=2, batch_size=6, seed=7)
    s.set_epoch(epoch)
    return s


def test_shuffle_false_keeps_the_plan_across_epochs():
    sampler = PKSampler(FakeDataset(COUNTS), num_instances=2, batch_size=6, seed=1,
                        shuffle=False)
    np.testing.assert_array_equal(_batches(sampler, 0), _batches(sampler, 5))


def test_two_ranks_split_each_global_batch(world):
    ds = FakeDataset(COUNTS)
    world(0, 1)
    whole = PKSampler(ds, num_instances=2, batch_size=16, seed=5)  # P = 8
    world(0, 2)
    r0 = PKSampler(ds, num_instances=2, batch_size=16, seed=5)
    world(1, 2)
    r1 = PKSampler(ds, num_instances=2, batch_size=16, seed=5)
    assert len(r0) == len(r1) == len(whole) // 2
    assert r0.batch_size_per_rank == r1.batch_size_per_rank == 8
    for epoch in (0, 1):
        b0, b1, bw = _batches(r0, epoch), _batches(r1, epoch), _batches(whole, epoch)
        assert len(b0) * 8 == len(r0) and len(b1) * 8 == len(r1)
        for x, y, full in zip(b0, b1, bw):
            _check_pk(x, ds.pids, 4, 2)
            _check_pk(y, ds.pids, 4, 2)
            assert not set(ds.pids[x]) & set(ds.pids[y]), 'ranks share an identity'
            np.testing.assert_array_equal(np.concatenate([x, y]), full)


def test_dominant_identity_never_repeats_within_a_batch():
    # one identity owns most images: it can fill at most one place per batch
    ds = FakeDataset([100, 4, 4, 4, 8])
    sampler = PKSampler(ds, num_instances=4, batch_size=8, seed=0)
    chunks = 25 + 1 + 1 + 1 + 2
    assert sampler.num_batches == math.ceil(chunks / 2)
    for batch in _batches(sampler):
        _check_pk(batch, ds.pids, 2, 4)


def test_domain_balanced_batches(world):
    counts = [4] * 6 + [2] * 3 + [8] * 4  # domain 0: ids 0-5, domain 1: 6-8, domain 2: 9-12
    domains = [0] * 6 + [1] * 3 + [2] * 4
    ds = FakeDataset(counts, domains)
    world(0, 1)
    whole = DomainBalancedPKSampler(ds, num_instances=2, batch_size=12, seed=2)  # P = 6
    chunks = 6 * 2 + 3 * 1 + 4 * 4
    assert whole.num_batches == math.ceil(chunks / 6) and len(whole) == whole.num_batches * 12
    for epoch in range(3):
        for batch in _batches(whole, epoch):
            _check_pk(batch, ds.pids, 6, 2)
            assert np.bincount(ds.domains[batch], minlength=3).tolist() == [4, 4, 4]
    # two ranks with P / world = 3 = number of domains: each rank gets one id per domain
    shares = []
    for rank in (0, 1):
        world(rank, 2)
        shares.append(_batches(DomainBalancedPKSampler(ds, num_instances=2, batch_size=12,
                                                       seed=2)))
    for x, y in zip(*shares):
        assert sorted(ds.domains[x].tolist()) == sorted(ds.domains[y].tolist()) == [0, 0, 1, 1,
                                                                                    2, 2]
        assert not set(ds.pids[x]) & set(ds.pids[y])


def test_builds_from_registry_and_feeds_a_dataloader():
    register_all_modules()
    ds = FakeDataset(COUNTS)
    sampler = DATA_SAMPLERS.build(dict(type='PKSampler', num_instances=2, batch_size=6),
                                  default_args=dict(dataset=ds, seed=0))
    loader = DataLoader(ds, batch_size=sampler.batch_size_per_rank, sampler=sampler)
    batches = list(loader)
    assert len(batches) * 6 == len(sampler)
    for batch in batches:
        assert isinstance(batch, torch.Tensor)
        _check_pk(batch.numpy(), ds.pids, 3, 2)


@pytest.mark.parametrize('kwargs,match', [
    (dict(num_instances=4, batch_size=10), 'batch_size=10 is not divisible by num_instances=4'),
    (dict(num_instances=0, batch_size=8), 'positive ints'),
    (dict(num_instances=1, batch_size=11), 'fewer than P=11'),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        PKSampler(FakeDataset(COUNTS), seed=0, **kwargs)


def test_p_not_divisible_by_world_size(world):
    world(0, 3)
    with pytest.raises(ValueError, match='P=4 .* not divisible by world_size=3'):
        PKSampler(FakeDataset(COUNTS), num_instances=2, batch_size=8, seed=0)


def test_bad_datasets():
    bad = FakeDataset(COUNTS)
    bad.pids[3] = -1
    with pytest.raises(ValueError, match='negative pid .*index 3'):
        PKSampler(bad, num_instances=2, batch_size=4, seed=0)
    short = FakeDataset(COUNTS)
    short.get_pids = lambda: np.zeros(3, int)
    with pytest.raises(ValueError, match=r'get_pids\(\) returned shape \(3,\)'):
        PKSampler(short, num_instances=2, batch_size=4, seed=0)
    with pytest.raises(ValueError, match='empty'):
        PKSampler(FakeDataset([]), num_instances=2, batch_size=4, seed=0)


def test_domain_errors():
    ds = FakeDataset([4] * 5, domains=[0, 0, 0, 1, 1])
    with pytest.raises(ValueError, match='P=3 identities per batch is not divisible by the 2'):
        DomainBalancedPKSampler(ds, num_instances=2, batch_size=6, seed=0)
    with pytest.raises(ValueError, match='domain 1 has 2 identities, fewer than the 3'):
        DomainBalancedPKSampler(ds, num_instances=2, batch_size=12, seed=0)
    mixed = FakeDataset([4] * 4, domains=[0, 0, 1, 1])
    mixed.domains[0] = 1  # pid 0 now has images in two domains
    with pytest.raises(ValueError, match=r'pid 0 appears in domains \[0, 1\]'):
        DomainBalancedPKSampler(mixed, num_instances=2, batch_size=4, seed=0)
