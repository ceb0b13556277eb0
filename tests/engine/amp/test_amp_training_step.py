"""A training step of every core model config under bf16 autocast (CPU) gives finite float32
losses within a stated tolerance of the float32 step on the same batch and weights.

Tolerance: each loss term within 0.05 (absolute; the terms are O(1)), the total within 3 %
(relative). bf16 keeps 8 mantissa bits (0.4 % per rounding). Measured: totals moved by 0.0 %
(ViT), 0.8 % (ResNet-50), 1.9 % (demo ResNet-18, whose batch-hard triplet term, a hinge on a
difference of two nearly equal distances, moved by 0.03).
"""
import pytest
import torch

from amp_test_utils import batch, compare_bf16_to_fp32, tiny_model
from reidengine.utils.amp import cpu_bf16_capability

needs_bf16 = pytest.mark.skipif(cpu_bf16_capability() is None,
                                reason='CPU without native bf16 (AMX / AVX512-BF16)')
TINY_VIT = dict(backbone=dict(arch=dict(embed_dim=64, depth=2, num_heads=2, _delete_=True),
                              img_size=(32, 16), patch_size=8, stride_size=8),
                head=dict(in_channels=64, num_classes=4))
CASES = {
    'baselines/bot_r50_market1501.py': (dict(
        backbone=dict(base_channels=8, pretrained=None), head=dict(in_channels=256, num_classes=4)),
        (64, 32)),
    'baselines/vit_base_market1501.py': (dict(TINY_VIT, backbone=dict(
        TINY_VIT['backbone'], pretrained=None)), (32, 16)),
    'demo/bot_r18_synthreid.py': (dict(head=dict(num_classes=4)), (64, 32)),
}


@needs_bf16
@pytest.mark.parametrize('config', sorted(CASES))
def test_bf16_training_step_is_close_to_fp32(config):
    overrides, size = CASES[config]
    model = tiny_model(config, overrides)
    fp32, bf16 = compare_bf16_to_fp32(model, batch(size))  # asserts the tolerances per term
    assert any('loss' in key for key in bf16), sorted(bf16)  # the step had loss terms to compare
