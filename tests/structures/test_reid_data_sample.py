import pytest
import torch

from reidengine.structures import ReIDDataSample, stack_meta


def test_meta_fields_read_as_attributes_and_stack():
    samples = [ReIDDataSample(metainfo=dict(pid=p, camid=c, domain=d))
               for p, c, d in [(3, 0, 1), (7, 2, 0)]]
    assert samples[0].pid == 3 and samples[1].camid == 2
    assert torch.equal(stack_meta(samples, 'pid'), torch.tensor([3, 7]))
    assert torch.equal(stack_meta(samples, 'domain'), torch.tensor([1, 0]))


def test_pred_feature_must_be_a_tensor():
    s = ReIDDataSample()
    s.pred_feature = torch.ones(4)
    assert torch.equal(s.pred_feature, torch.ones(4))
    with pytest.raises(AssertionError):
        s.pred_feature = [1.0, 2.0]
