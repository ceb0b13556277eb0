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
