"""Mixed precision keeps resume exact: a bf16 AMP run (tiny ViT baseline, with a dynamic loss
scaler that grows every 2 steps so that its state changes during the run) stopped mid-epoch and
resumed ends with the same weights, optimizer and loss-scaler state as the run left alone."""
import pytest
import torch
from reliability_utils import run_tool, tiny_config, write_market
from test_exact_resume import Stop, assert_same_training_state

from reidengine.utils.amp import cpu_bf16_capability

AMP = "amp = dict(enabled=True, dtype='bfloat16', loss_scale=dict(init_scale=256.0, growth_interval=2))\n"


@pytest.mark.skipif(cpu_bf16_capability() is None,
                    reason='CPU without native bf16 (AMX / AVX512-BF16)')
def test_amp_run_stopped_mid_epoch_and_resumed_equals_the_uninterrupted_run(tmp_path):
    data = write_market(tmp_path / 'data')
    cfg = tiny_config(tmp_path / 'vit.py', data, 'vit', max_epochs=2, extra=AMP)
    run_tool('train', cfg, '--work-dir', tmp_path / 'a', '--no-test',
             '--cfg-options', 'experiment_name=aa')
    stop = tiny_config(tmp_path / 'vit_stop.py', data, 'vit', max_epochs=2, extra=AMP + (
        "custom_hooks = [dict(type='_StopAfterIteration', at_iter=6)]\n"))
    with pytest.raises(Stop):
        run_tool('train', stop, '--work-dir', tmp_path / 'b', '--no-test',
                 '--cfg-options', 'experiment_name=ab')
    run_tool('train', cfg, '--work-dir', tmp_path / 'b', '--resume', '--no-test',
             '--cfg-options', 'experiment_name=ac')

    ckpt = assert_same_training_state(tmp_path / 'a' / 'epoch_2.pth', tmp_path / 'b' / 'epoch_2.pth')
    other = torch.load(tmp_path / 'b' / 'epoch_2.pth', weights_only=True)
    scaler = ckpt['optimizer']['loss_scaler']
    assert scaler == other['optimizer']['loss_scaler']
    assert scaler['scale'] > 256.0  # the scaler's state moved during the run and was restored
    assert 'MixedPrecisionOptimWrapper' in ckpt['meta']['cfg']
