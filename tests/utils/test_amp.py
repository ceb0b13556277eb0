"""Mixed-precision primitives: the CPU bf16 detection, the dtype per machine, float32 regions."""
import pytest
import torch

import reidengine.utils.amp as amp
from reidengine.utils.amp import autocast, float32_forward, fp32_region, resolve_amp_dtype


def test_cpu_detection_reads_cpuinfo_flags_when_torch_cannot_tell(tmp_path, monkeypatch):
    for name in ('_is_amx_tile_supported', '_is_avx512_bf16_supported'):
        monkeypatch.delattr(torch.cpu, name, raising=False)
    cases = {'fpu avx2 fma': None, 'avx2 avx512f avx512_bf16': 'avx512_bf16',
             'avx512_bf16 amx_tile amx_bf16': 'amx_bf16'}
    for i, (flags, expected) in enumerate(cases.items()):
        path = tmp_path / f'cpuinfo{i}'
        path.write_text(f'processor\t: 0\nflags\t\t: {flags}\n')
        assert amp.cpu_bf16_capability(str(path)) == expected
    assert amp.cpu_bf16_capability(str(tmp_path / 'missing')) is None


def test_cpu_detection_agrees_with_proc_cpuinfo():
    try:
        flags = open('/proc/cpuinfo').read().split()
    except OSError:
        pytest.skip('no /proc/cpuinfo')
    native = 'amx_bf16' in flags or 'avx512_bf16' in flags
    assert (amp.cpu_bf16_capability() is not None) == native


def test_cpu_without_native_bf16_falls_back_to_float32_with_one_log_line(monkeypatch, capsys):
    monkeypatch.setattr(amp, 'cpu_bf16_capability', lambda: None)
    amp._log_once.cache_clear()
    assert resolve_amp_dtype('bfloat16', 'cpu') is None
    assert resolve_amp_dtype('bfloat16', 'cpu') is None
    out = capsys.readouterr()
    assert (out.out + out.err).count('running in float32') == 1


def test_cpu_with_native_bf16_runs_bf16_also_when_float16_is_asked(monkeypatch):
    monkeypatch.setattr(amp, 'cpu_bf16_capability', lambda: 'amx_bf16')
    assert resolve_amp_dtype('bfloat16', 'cpu') == torch.bfloat16
    assert resolve_amp_dtype('float16', 'cpu') == torch.bfloat16
    with pytest.raises(ValueError, match='amp dtype'):
        resolve_amp_dtype('int8', 'cpu')


def test_gpu_dtypes(monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_bf16_supported', lambda *a, **k: False)
    assert resolve_amp_dtype('float16', 'cuda') == torch.float16
    assert resolve_amp_dtype('bfloat16', 'cuda') == torch.float16
    monkeypatch.setattr(torch.cuda, 'is_bf16_supported', lambda *a, **k: True)
    assert resolve_amp_dtype('bfloat16', 'cuda') == torch.bfloat16


def test_float32_regions_inside_autocast():
    x, w = torch.randn(4, 8), torch.randn(8, 3)
    with autocast(torch.bfloat16, 'cpu'):
        assert (x @ w).dtype == torch.bfloat16
        with fp32_region():
            assert (x @ w).dtype == torch.float32
        out = float32_forward(lambda a, b: a @ b)(x.bfloat16(), b=w)
    assert out.dtype == torch.float32
    assert torch.equal(out, x.bfloat16().float() @ w)
    with autocast(None):
        assert (x @ w).dtype == torch.float32


def test_float32_forward_leaves_float64_alone():
    out = float32_forward(lambda a: a * 2)(torch.ones(2, dtype=torch.float64))
    assert out.dtype == torch.float64
