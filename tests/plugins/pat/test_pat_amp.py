"""PAT's training step under bf16 autocast (CPU): the part tokens run in bf16, the memory bank,
CSL's distances / log-sum-exp and the PSD / triplet losses in float32; the losses are finite and
within a stated tolerance of the float32 step on the same batch, weights and bank.

Tolerance: each loss term within 0.05 (absolute), the total within 3 % (relative); see
tests/engine/amp/amp_test_utils.py.
"""
import os.path as osp
import sys

import pytest
import torch

import plugins.pat  # noqa: F401
from reidengine.utils.amp import cpu_bf16_capability

sys.path.insert(0, osp.join(osp.dirname(__file__), '..', '..', 'engine', 'amp'))
from amp_test_utils import batch, compare_bf16_to_fp32, tiny_model  # noqa: E402

TINY = dict(backbone=dict(arch=dict(embed_dim=64, depth=2, num_heads=2, _delete_=True),
                          img_size=(32, 16), patch_size=4, stride_size=4, pretrained=None),
            head=dict(in_channels=64, num_classes=4, csl_loss=dict(k=3)))


def fill_bank_with_own_features(model, data):
    """The bank holds the batch's own float32 part features (what PATMemoryBankHook writes)."""
    with torch.no_grad():
        prepared = model.data_preprocessor(data, False)
        samples = prepared['data_samples']
        feats = model.eval().part_features(prepared['inputs'], samples)
    model.memory_bank.resize(len(samples))
    model.memory_bank.fill(feats, torch.tensor([s.sample_idx for s in samples]),
                           torch.tensor([s.pid for s in samples]))
    model.memory_bank.mark_initialized()


@pytest.mark.skipif(cpu_bf16_capability() is None,
                    reason='CPU without native bf16 (AMX / AVX512-BF16)')
@pytest.mark.parametrize('config', ['pat/pat_synthreid.py', 'pat/pat_market2duke.py'])
def test_pat_bf16_training_step_is_close_to_fp32(config):
    model = tiny_model(config, TINY)
    data = batch((32, 16))
    fill_bank_with_own_features(model, data)
    fp32, bf16 = compare_bf16_to_fp32(model, data)
    assert {'loss_id', 'loss_triplet', 'loss_csl'} <= set(bf16)
    assert model.memory_bank.features.dtype == torch.float32
