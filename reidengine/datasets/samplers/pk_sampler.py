"""Identity (P x K) samplers for triplet-style losses (Hermans et al. 2017, Sec. 3 "batch hard":
P identities x K images per batch; the ``RandomIdentitySampler`` of TransReID / fast-reid).

Epoch plan. An identity with ``n`` images gives ``c = max(1, n // K)`` chunks of K images
(images shuffled; an identity with ``n < K`` images is completed to K by drawing some of its
images again, i.e. duplicates). With ``C`` chunks in all and ``P = batch_size / K`` identities
per batch, an epoch has ``B = ceil(C / P)`` global batches (``round_up=True``: the few
missing chunks are extra chunks drawn again from random identities) or ``B = C // P``
(``round_up=False``: leftover chunks are dropped). ``B`` is known at construction, so
``len(sampler)`` is exact. Every batch holds P different identities (an identity supplies at
most B chunks per epoch; beyond that its chunks are dropped, which only happens when a few
identities own most of the images). The plan depends only on ``(seed, epoch)``.

Distributed training. ``batch_size`` is the GLOBAL batch (P x K over all ranks, the paper's
number, e.g. 64 = 16 ids x 4). Each global batch's P identities are split across the
``world_size`` ranks, so at every step the ranks see different identities and each rank
yields ``P / world_size`` identities x K images. The dataloader's ``batch_size`` is per rank
and must be ``batch_size // world_size`` (see ``batch_size_per_rank``).
"""
import math
from typing import Iterator, List, Optional, Sized

import numpy as np
from mmengine.dist import get_dist_info, sync_random_seed
from torch.utils.data import Sampler

from reidengine.registry import DATA_SAMPLERS


def read_labels(dataset: Sized, key: str) -> np.ndarray:
    """Per-image integer labels: ``dataset.get_<key>s()`` if the dataset has it, else
    ``dataset.get_data_info(i)[key]`` for every index."""
    getter = getattr(dataset, f'get_{key}s', None)
    if callable(getter):
        labels = np.asarray(getter())
        if labels.shape != (len(dataset), ):
            raise ValueError(f'{type(dataset).__name__}.get_{key}s() returned shape '
                             f'{labels.shape}, expected ({len(dataset)},) (one per image)')
        return labels.astype(np.int64)
    labels = []
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        if key not in info:
            raise KeyError(f'{type(dataset).__name__}.get_data_info({i}) has no "{key}" key '
                           f'(keys: {sorted(info)})')
        labels.append(int(info[key]))
    return np.asarray(labels, dtype=np.int64)


@DATA_SAMPLERS.register_module()
class PKSampler(Sampler):
    """Yields this rank's indices of B batches of P identities x K images (see module doc).

    Args:
        dataset: a dataset with ``get_pids()`` or ``get_data_info(i)['pid']`` (pid >= 0).
        num_instances: K, images per identity in a batch.
        batch_size: global batch size P x K over all ranks.
        shuffle: False keeps the same plan every epoch (drawn from ``seed`` alone).
        seed: seed of the plan; None draws one and shares it across ranks.
        round_up: complete the last batch with extra chunks (True) or drop leftovers.
    """

    def __init__(self, dataset: Sized, num_instances: int = 4, batch_size: int = 64,
                 shuffle: bool = True, seed: Optional[int] = None, round_up: bool = True):
        name = type(self).__name__
        if not (isinstance(num_instances, int) and isinstance(batch_size, int)
                and num_instances >= 1 and batch_size >= 1):
            raise ValueError(f'{name}: num_instances and batch_size must be positive ints, '
                             f'got num_instances={num_instances!r}, batch_size={batch_size!r}')
        if batch_size % num_instances:
            raise ValueError(f'{name}: batch_size={batch_size} is not divisible by '
                             f'num_instances={num_instances} (batch = P identities x K images)')
        self.rank, self.world_size = get_dist_info()
        self.num_instances = num_instances
        self.batch_size = batch_size
        self.num_ids_per_batch = batch_size // num_instances
        if self.num_ids_per_batch % self.world_size:
            raise ValueError(f'{name}: P={self.num_ids_per_batch} identities per batch '
                             f'(batch_size={batch_size} / num_instances={num_instances}) is not '
                             f'divisible by world_size={self.world_size}')
        self.ids_per_rank = self.num_ids_per_batch // self.world_size
        self.batch_size_per_rank = self.ids_per_rank * num_instances
        self.dataset = dataset
        self.shuffle = shuffle
        self.seed = sync_random_seed() if seed is None else int(seed)
        self.round_up = round_up
        self.epoch = 0

        pids = read_labels(dataset, 'pid')
        if len(pids) == 0:
            raise ValueError(f'{name}: the dataset is empty')
        if (pids < 0).any():
            bad = np.flatnonzero(pids < 0)
            raise ValueError(f'{name}: {len(bad)} images have a negative pid (first: index '
                             f'{bad[0]}, pid {pids[bad[0]]}); training sets need pids >= 0')
        order = np.argsort(pids, kind='stable')
        self.pids, starts = np.unique(pids[order], return_index=True)
        # images of the i-th identity (dataset order), for i in range(len(self.pids))
        self.images: List[np.ndarray] = np.split(order, starts[1:])
        self.groups = self._group_identities(dataset)
        self.ids_per_group = self.num_ids_per_batch // len(self.groups)
        for g, members in enumerate(self.groups):
            if len(members) < self.ids_per_group:
                raise ValueError(self._too_few_ids_message(g, len(members)))

        counts = np.array([len(idx) for idx in self.images])
        self.num_chunks = np.maximum(1, counts // num_instances)
        total = int(self.num_chunks.sum())
        self.num_batches = (math.ceil(total / self.num_ids_per_batch) if round_up
                            else total // self.num_ids_per_batch)

    def _group_identities(self, dataset: Sized) -> List[np.ndarray]:
        """Identities drawn together; each batch takes ``P / len(groups)`` from every group."""
        return [np.arange(len(self.pids))]

    def _too_few_ids_message(self, group: int, num_ids: int) -> str:
        return (f'{type(self).__name__}: the dataset has {num_ids} identities, fewer than '
                f'P={self.num_ids_per_batch} identities per batch (batch_size='
                f'{self.batch_size} / num_instances={self.num_instances})')

    def __len__(self) -> int:
        """Indices this rank yields per epoch: ``num_batches x batch_size_per_rank``."""
        return self.num_batches * self.batch_size_per_rank

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self) -> Iterator[int]:
        plan = self.plan(self.epoch if self.shuffle else 0)
        mine = plan[:, self.rank * self.ids_per_rank:(self.rank + 1) * self.ids_per_rank]
        return iter(mine.reshape(-1).tolist())

    def plan(self, epoch: int) -> np.ndarray:
        """Dataset indices of the epoch's global batches, shape (B, P, K)."""
        rng = np.random.default_rng([self.seed % 2**32, epoch])
        per_group = [self._group_plan(members, rng) for members in self.groups]
        # (B, P_g, G, K): slot j * G + g holds group g, so each rank's contiguous share of a
        # batch holds the groups equally whenever P / world_size is a multiple of G.
        return np.stack(per_group, axis=2).reshape(self.num_batches, self.num_ids_per_batch,
                                                   self.num_instances)

    def _group_plan(self, members: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """(B, P_g, K) indices: B batches of P_g distinct identities of ``members``."""
        num_batches, k = self.num_batches, self.num_instances
        used = self._allocate(self.num_chunks[members], num_batches * self.ids_per_group, rng)
        chunks = [self._chunks(self.images[m], n, rng) for m, n in zip(members, used)]
        schedule = self._schedule(used, rng)
        taken = np.zeros(len(members), dtype=np.int64)
        out = np.empty((num_batches, self.ids_per_group, k), dtype=np.int64)
        for b, row in enumerate(schedule):
            for j, i in enumerate(row):
                out[b, j] = chunks[i][taken[i]]
                taken[i] += 1
        return out

    def _allocate(self, chunks: np.ndarray, total: int, rng: np.random.Generator) -> np.ndarray:
        """Chunks each identity supplies this epoch: at most ``num_batches`` each, ``total``
        in all; surplus chunks are dropped and missing ones added at random."""
        used = np.minimum(chunks, self.num_batches)
        diff = total - int(used.sum())
        if diff == 0:
            return used
        # |diff| draws without replacement among the chunks that can be removed (diff < 0)
        # or the free places that can be added (diff > 0)
        slots = used if diff < 0 else self.num_batches - used
        return used + np.sign(diff) * rng.multivariate_hypergeometric(slots, abs(diff))

    def _chunks(self, images: np.ndarray, num: int, rng: np.random.Generator) -> np.ndarray:
        """``num`` chunks of K images of one identity: its own chunks first, then extra chunks
        drawn again (with replacement if it has fewer than K images)."""
        k = self.num_instances
        perm = rng.permutation(images)
        if len(perm) < k:
            perm = rng.permutation(np.concatenate([perm, rng.choice(images, k - len(perm))]))
        own = perm[:len(perm) // k * k].reshape(-1, k)
        extra = [rng.choice(images, size=k, replace=len(images) < k)
                 for _ in range(num - len(own))]
        return np.concatenate([own[:num]] + [e[None] for e in extra])

    def _schedule(self, used: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """(B, P_g) identity positions: each batch P_g distinct identities, identity i in
        ``used[i]`` batches. With r batches left, an identity with r chunks left must be in
        the next batch; the other places go to identities drawn with probability
        proportional to their chunks left. This keeps ``sum(left) = r P_g`` and
        ``max(left) <= r``, so it never gets stuck."""
        left = used.copy()
        p_g = self.ids_per_group
        rows = np.empty((self.num_batches, p_g), dtype=np.int64)
        for b in range(self.num_batches):
            remaining = self.num_batches - b
            forced = np.flatnonzero(left == remaining)
            free = np.flatnonzero((left > 0) & (left < remaining))
            num_free = p_g - len(forced)
            # weighted draw without replacement (Efraimidis & Spirakis 2006): smallest keys
            keys = rng.exponential(size=len(free)) / left[free]
            drawn = free[np.argpartition(keys, num_free - 1)[:num_free]] if num_free else free[:0]
            rows[b] = rng.permutation(np.concatenate([forced, drawn]))
            left[rows[b]] -= 1
        return rows[rng.permutation(self.num_batches)]


@DATA_SAMPLERS.register_module()
class DomainBalancedPKSampler(PKSampler):
    """PK sampler for multi-source training: every batch takes ``P / D`` identities from each
    of the D domains (``dataset.get_domains()`` or ``get_data_info(i)['domain']``).

    The epoch length is the PKSampler's over all chunks; a domain with fewer chunks than its
    share repeats chunks, a larger one drops some. Each rank's share of a batch holds the
    domains equally when ``P / world_size`` is a multiple of D. Arguments as PKSampler.
    """

    def _group_identities(self, dataset: Sized) -> List[np.ndarray]:
        domains = read_labels(dataset, 'domain')
        first = np.array([idx[0] for idx in self.images])
        id_domain = domains[first]
        for i, idx in enumerate(self.images):
            if (domains[idx] != id_domain[i]).any():
                raise ValueError(f'{type(self).__name__}: pid {self.pids[i]} appears in '
                                 f'domains {sorted(set(domains[idx].tolist()))}; pids must be '
                                 f'unique across domains (prefix them by dataset)')
        self.domains = np.unique(id_domain)
        if self.num_ids_per_batch % len(self.domains):
            raise ValueError(f'{type(self).__name__}: P={self.num_ids_per_batch} identities per '
                             f'batch is not divisible by the {len(self.domains)} domains '
                             f'{self.domains.tolist()}')
        return [np.flatnonzero(id_domain == d) for d in self.domains]

    def _too_few_ids_message(self, group: int, num_ids: int) -> str:
        return (f'{type(self).__name__}: domain {self.domains[group]} has {num_ids} '
                f'identities, fewer than the {self.ids_per_group} identities per batch it must '
                f'supply (P={self.num_ids_per_batch} over {len(self.domains)} domains)')
