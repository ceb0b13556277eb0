"""The AMP optimizer wrapper on CPU, the config's ``amp`` key / --amp, and the autocast test loop."""
import argparse

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper

import reidengine.utils.amp as amp
from reidengine.engine.amp import configure_amp
from reidengine.utils import register_all_modules
from reidengine.utils.runner_utils import add_common_args, load_config


def wrapper(model, **kwargs):
    register_all_modules()
    return build_optim_wrapper(model, dict(type='MixedPrecisionOptimWrapper',
                                           optimizer=dict(type='SGD', lr=0.1), **kwargs))


def test_wrapper_autocasts_to_bf16_on_a_cpu_with_native_bf16(monkeypatch):
    monkeypatch.setattr(amp, 'cpu_bf16_capability', lambda: 'amx_bf16')
    model = torch.nn.Linear(4, 2)
    optim = wrapper(model)
    with optim.optim_context(model):
        assert model(torch.randn(3, 4)).dtype == torch.bfloat16
    assert not optim.loss_scaler.is_enabled()  # bf16 needs no loss scaling


def test_wrapper_runs_float32_on_a_cpu_without_native_bf16(monkeypatch):
    monkeypatch.setattr(amp, 'cpu_bf16_capability', lambda: None)
    model = torch.nn.Linear(4, 2)
    optim = wrapper(model)
    assert optim.cast_dtype is None
    with optim.optim_context(model):
        assert model(torch.randn(3, 4)).dtype == torch.float32


def test_loss_scaler_state_is_saved_and_restored(monkeypatch):
    monkeypatch.setattr(amp, 'cpu_bf16_capability', lambda: 'amx_bf16')
    model = torch.nn.Linear(4, 2)
    optim = wrapper(model, loss_scale=dict(init_scale=256.0, growth_interval=1))
    for _ in range(3):
        with optim.optim_context(model):
            loss = model(torch.randn(3, 4)).float().pow(2).mean()
        optim.update_params(loss)
    state = optim.state_dict()
    assert state['loss_scaler']['scale'] == 256.0 * 2 ** 3  # grown once per finite step
    fresh = wrapper(model, loss_scale=dict(init_scale=256.0, growth_interval=1))
    fresh.load_state_dict(state)
    assert fresh.loss_scaler.get_scale() == 2048.0
    # a checkpoint written without a scaler (bf16 default) loads into a scaled wrapper
    plain = wrapper(model).state_dict()
    assert plain['loss_scaler'] == {}
    fresh.load_state_dict(plain)


def test_config_key_sets_the_wrapper_and_the_test_loops():
    cfg = Config(dict(amp=dict(enabled=True, dtype='float16'),
                      optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)),
                      test_cfg=dict(type='ReIDTestLoop'), val_cfg=dict(type='ValLoop')))
    configure_amp(cfg)
    assert cfg.optim_wrapper.type == 'MixedPrecisionOptimWrapper'
    assert cfg.optim_wrapper.dtype == 'float16'
    assert cfg.test_cfg.amp == dict(enabled=True, dtype='float16')
    assert cfg.val_cfg.fp16 is True and 'amp' not in cfg.val_cfg
    with pytest.raises(ValueError, match='unknown key'):
        configure_amp(Config(dict(amp=dict(enabled=True, dtpye='float16'))))
    with pytest.raises(ValueError, match='optim_wrapper.type'):
        configure_amp(Config(dict(amp=dict(enabled=True),
                                  optim_wrapper=dict(type='OptimWrapperDict'))))


def test_amp_flag_of_the_tools(tmp_path):
    path = tmp_path / 'cfg.py'
    path.write_text("amp = dict(enabled=False, dtype='bfloat16', loss_scale=8.0)\n")
    parser = argparse.ArgumentParser()
    parser.add_argument('config')
    add_common_args(parser)
    cfg = load_config(parser.parse_args([str(path), '--amp']))
    assert cfg.amp == dict(enabled=True, dtype='bfloat16', loss_scale=8.0)
    cfg = load_config(parser.parse_args([str(path), '--amp', 'float16']))
    assert cfg.amp.dtype == 'float16'
    assert not load_config(parser.parse_args([str(path)])).amp.enabled
