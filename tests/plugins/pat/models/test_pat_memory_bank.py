"""PAT memory bank (eq. 5): fill, momentum update, duplicates, checkpoint round trip."""
import pytest
import torch

from plugins.pat.models.memory_bank import PartMemoryBank


def test_momentum_update_exact_values():
    bank = PartMemoryBank(num_parts=2, feat_dim=3, momentum=0.1, num_samples=4)
    bank.fill(torch.ones(4, 2, 3), torch.arange(4), torch.tensor([5, 6, 7, 8]))
    feats = torch.full((2, 2, 3), 11.0)
    feats[1, 1] = -9.0
    bank.update(feats, torch.tensor([2, 0]), torch.tensor([7, 5]))
    expected = torch.ones(2, 4, 3)
    expected[:, 2] = 0.9 * 1 + 0.1 * 11          # 2.0
    expected[0, 0] = 2.0
    expected[1, 0] = 0.9 * 1 + 0.1 * -9           # 0.0
    assert torch.allclose(bank.features, expected, atol=1e-6)
    assert bank.pids.tolist() == [5, 6, 7, 8]


def test_repeated_image_in_a_batch_is_updated_once_per_occurrence():
    bank = PartMemoryBank(num_parts=1, feat_dim=1, momentum=0.5, num_samples=2)
    bank.fill(torch.zeros(2, 1, 1), torch.arange(2), torch.zeros(2, dtype=torch.long))
    bank.update(torch.tensor([10.0, 4.0, 20.0]).view(3, 1, 1), torch.tensor([0, 1, 0]),
                torch.zeros(3, dtype=torch.long))
    # entry 0: 0 -> 0.5*0 + 0.5*10 = 5 -> 0.5*5 + 0.5*20 = 12.5; entry 1: 0.5*4 = 2
    assert bank.features.flatten().tolist() == [12.5, 2.0]


def test_bad_inputs_raise():
    bank = PartMemoryBank(num_parts=3, feat_dim=4, num_samples=5)
    with pytest.raises(IndexError, match='sample_idx out of range'):
        bank.update(torch.zeros(1, 3, 4), torch.tensor([5]), torch.tensor([0]))
    with pytest.raises(ValueError, match=r'expected \(batch, 3, 4\)'):
        bank.update(torch.zeros(1, 2, 4), torch.tensor([0]), torch.tensor([0]))
    with pytest.raises(ValueError, match='momentum'):
        PartMemoryBank(num_parts=3, feat_dim=4, momentum=0.0)


def test_state_dict_round_trip_restores_bank_and_flag():
    bank = PartMemoryBank(num_parts=3, feat_dim=4, num_samples=6)
    feats = torch.randn(6, 3, 4)
    bank.fill(feats, torch.arange(6), torch.arange(6) % 2)
    bank.mark_initialized()
    restored = PartMemoryBank(num_parts=3, feat_dim=4)  # empty: takes the checkpoint's size
    assert not restored.is_initialized and restored.num_samples == 0
    restored.load_state_dict(bank.state_dict())
    assert restored.is_initialized and restored.num_samples == 6
    assert torch.equal(restored.features, feats.transpose(0, 1))
    assert restored.pids.tolist() == [0, 1, 0, 1, 0, 1]
    restored.resize(2)
    assert not restored.is_initialized and restored.features.abs().sum() == 0
    assert (restored.pids == -1).all()


def _ddp_worker(rank, world_size, port, out):
    import torch.distributed as torch_dist
    torch_dist.init_process_group('gloo', init_method=f'tcp://127.0.0.1:{port}', rank=rank,
                                  world_size=world_size)
    try:
        bank = PartMemoryBank(num_parts=2, feat_dim=1, momentum=0.5, num_samples=4)
        # each rank fills its own shard; the gather gives every rank all entries
        shard = torch.tensor([rank, rank + 2])
        bank.fill((10.0 * shard).view(2, 1, 1).expand(2, 2, 1), shard, shard + 100)
        # each rank updates entry 1 with its own feature (4 on rank 0, 8 on rank 1)
        bank.update(torch.full((1, 2, 1), 4.0 * (rank + 1)), torch.tensor([1]),
                    torch.tensor([101]))
        out[rank] = bank.features.clone()
    finally:
        torch_dist.destroy_process_group()


def test_distributed_fill_and_update_give_identical_full_banks():
    import socket

    import torch.multiprocessing as mp
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        port = sock.getsockname()[1]
    out = mp.Manager().dict()
    mp.start_processes(_ddp_worker, args=(2, port, out), nprocs=2, start_method='spawn')
    # filled: entry i = 10 i; then entry 1 updated by rank 0's 4 then rank 1's 8 (gather order):
    # 10 -> 0.5*10 + 0.5*4 = 7 -> 0.5*7 + 0.5*8 = 7.5
    expected = torch.tensor([0.0, 7.5, 20.0, 30.0]).view(1, 4, 1).expand(2, 4, 1)
    assert torch.equal(out[0], expected) and torch.equal(out[1], expected)
