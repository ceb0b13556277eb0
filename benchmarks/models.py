"""Inference and training-step speed of every ReID model the configs build, in fp32 and bf16, against this
machine's GEMM peak for that dtype.

Models (random weights, built from the shipped configs): BoT ResNet-50, the ViT-B/16 baseline, PAT ViT-B/16,
CLIP ViT-B/16 and DINOv2 ViT-B/14 as ReID backbones (the ViT baseline's neck and head), ResNet-101-IBN-a
(the BoT recipe), each at its paper resolution and at the demo size 128x64; and the three SynthReID demo models
(PAT and ViT baseline with a 128-d 4-block ViT, BoT ResNet-18).

For each model and size, in a fresh subprocess (so that memory figures are its own):

- inference: eval mode, ``torch.inference_mode``, ``model(x, mode='tensor')`` on normalised float images
  (the uint8 -> float data preprocessor is left out); images/s = batch / median time of ``--repeats`` calls
  after one warm-up call.
- FLOPs of one image's forward, counted by ``torch.utils.flop_counter.FlopCounterMode`` (2 FLOPs per
  multiply-add: GEMMs, convolutions) plus the CPU attention kernel, which the counter has no formula for:
  ``_scaled_dot_product_flash_attention_for_cpu`` (and its backward) are given torch's own SDPA formulas
  (full T x T, also under PAT's mask). GFLOP/s = FLOPs x images/s.
- % of the GEMM peak: right after each timed call, one fp32 ``torch.mm`` of two 4096^2 matrices (2 n^3 FLOPs)
  is timed; the model's GFLOP/s over that GEMM's, median over the repeats. On a shared machine the CPU time
  other processes leave changes from second to second and this ratio is much steadier than either number.
  The best GEMM of the whole run (before and after the cases, in the parent) is printed too.
- training step: train mode, a P x K batch (K = 4, identities 0..P-1, random cameras), the loss of
  ``model(x, samples, mode='loss')``, backward and the config's optimizer through MMEngine's
  ``OptimWrapper`` (PAT: memory bank sized as the training set and filled with random entries first);
  images/s and % of the GEMM as above; FLOPs of forward + backward counted the same way on a 2 x 4 batch.
- memory: resident set size (RSS) sampled every 2 ms by a thread reading ``/proc/self/statm``: growth from
  building the model, peak above the RSS before inference and before training, and the process's peak
  during training (libraries included; the GEMM's 192 MiB of buffers left out).
- where the time goes: one profiled forward (``torch.profiler``, self CPU time per aten op), grouped into
  GEMM / convolution / attention / normalisation / element-wise / data movement, with each group's GFLOP/s.
  For a model under ``--target`` (80%) of the GEMM the script names what holds it back.

- dtypes (``--dtypes fp32 bf16``): each case runs once per dtype, in its own subprocess. bf16 = mixed
  precision as training uses it: inference under ``torch.autocast('cpu', torch.bfloat16)``, the training step
  through ``MixedPrecisionOptimWrapper`` (``reidengine/engine/amp.py``: forward and loss under autocast,
  fp32 weights and optimizer). Its "% of GEMM" is against a bf16 ``torch.mm`` of the same 4096^3 size (on a
  CPU with AMX that peak is several times the fp32 one). bf16 cases are skipped on a CPU without native
  bf16 (AMX / AVX512-BF16), where the engine itself falls back to fp32. The CPU's flags are recorded.

    python benchmarks/models.py [--only NAME ...] [--sizes paper demo] [--dtypes fp32 bf16] [--repeats 3]

On a shared machine: before each case it waits (up to ``--wait`` seconds) until other processes use less
than ``--max-other`` cores (CPU time from ``/proc/stat`` minus its own), and runs a case again (up to
``--retries`` times) when they used more while it ran; the table shows what they used. Prints markdown
tables (``--json`` keeps the raw numbers). Whole run: about 20 minutes on 2 quiet cores.
"""
import argparse
import copy
import json
import os
import os.path as osp
import platform
import subprocess
import sys
import threading
import time

import torch

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
DEMO_SIZE = (128, 64)
MARKET_TRAIN_IMAGES = 12936  # memory-bank entries of PAT trained on Market-1501
SYNTHREID_TRAIN_IMAGES = 1600  # 100 ids x 4 cameras x 4 images (the demo's default generator)

VIT_BASE = 'configs/baselines/vit_base_market1501.py'
BOT_R50 = 'configs/baselines/bot_r50_market1501.py'

# name -> config, model overrides, paper (H, W) (None: demo model, demo size only), memory-bank size
CASES = {
    'BoT ResNet-50': dict(config=BOT_R50, paper=(256, 128)),
    'ViT-B/16 baseline': dict(config=VIT_BASE, paper=(256, 128)),
    'PAT ViT-B/16': dict(config='configs/pat/pat_market2duke.py', paper=(256, 128), bank=MARKET_TRAIN_IMAGES),
    'CLIP ViT-B/16 (CLIPViTReID)': dict(
        config=VIT_BASE, paper=(256, 128),
        backbone=dict(type='CLIPViTReID', arch='ViT-B-16', drop_path_rate=0.1), in_channels=512),
    'DINOv2 ViT-B/14 (DINOv2ReID)': dict(
        config=VIT_BASE, paper=(252, 126),
        backbone=dict(type='DINOv2ReID', arch='vit_base_patch14_dinov2', drop_path_rate=0.1)),
    'ResNet-101-IBN-a': dict(config=BOT_R50, paper=(256, 128),
                             backbone=dict(type='ResNetReID', depth=101, ibn='a', last_stride=1)),
    'demo PAT (SynthReID)': dict(config='configs/pat/pat_synthreid.py', paper=None,
                                 bank=SYNTHREID_TRAIN_IMAGES),
    'demo ViT baseline (SynthReID)': dict(config='configs/pat/vit_baseline_synthreid.py', paper=None),
    'demo BoT ResNet-18 (SynthReID)': dict(config='configs/demo/bot_r18_synthreid.py', paper=None),
    # the CNNs without the NHWC batches of their data preprocessor (channels_last=False): what it gains
    'BoT ResNet-50, NCHW batches': dict(config=BOT_R50, paper=(256, 128), channels_last=False),
    'demo BoT ResNet-18, NCHW batches': dict(config='configs/demo/bot_r18_synthreid.py', paper=None,
                                             channels_last=False),
}

# op-name substrings -> group, first match wins (profiler self time per aten op)
OP_GROUPS = (
    ('attention', ('scaled_dot_product',)),
    ('conv', ('convolution', 'conv2d')),
    ('GEMM', ('addmm', '::mm', 'bmm', 'matmul', 'linear')),
    ('norm', ('norm',)),
    ('data movement', ('copy', 'clone', 'contiguous', 'cat', '_to_', '::to', 'fill', 'zero', 'empty',
                       'index', 'select', 'slice', 'expand', 'view', 'reshape', 'transpose', 'permute',
                       'unsafe', 'split', 'flip', 'as_strided', 'pad')),
    ('element-wise', ('gelu', 'relu', 'sigmoid', 'add', 'mul', 'div', 'sub', 'softmax', 'pool', 'mean',
                      'max', 'tanh', 'clamp', 'where', 'exp', 'log')),
)
FLOP_GROUPS = {'addmm': 'GEMM', 'mm': 'GEMM', 'bmm': 'GEMM', 'baddbmm': 'GEMM', 'convolution': 'conv',
               '_scaled_dot_product_flash_attention_for_cpu': 'attention'}


# ----------------------------------------------------------------------------- measuring helpers
DTYPES = dict(fp32=torch.float32, bf16=torch.bfloat16)


def cpu_flags() -> list:
    """The CPU flags that decide GEMM speed per dtype."""
    keep = ('avx2', 'fma', 'avx512f', 'avx512_vnni', 'avx512_bf16', 'avx512_fp16', 'amx_tile', 'amx_bf16',
            'amx_int8', 'amx_fp16')
    try:
        with open('/proc/cpuinfo') as f:
            flags = next((ln.split(':', 1)[1].split() for ln in f if ln.startswith('flags')), [])
    except OSError:
        flags = []
    return [flag for flag in keep if flag in flags]


def gemm_peak_gflops(size: int = 4096, repeats: int = 3, dtype: torch.dtype = torch.float32) -> float:
    """Best GFLOP/s of ``torch.mm`` on two ``size`` x ``size`` matrices of ``dtype`` (2 n^3 FLOPs)."""
    a, b = torch.randn(size, size, dtype=dtype), torch.randn(size, size, dtype=dtype)
    torch.mm(a, b)
    best = float('inf')
    for _ in range(repeats):
        start = time.perf_counter()
        torch.mm(a, b)
        best = min(best, time.perf_counter() - start)
    return 2 * size ** 3 / best / 1e9


def busy_cpu_seconds() -> float:
    """CPU seconds all processes of the machine have used since boot (``/proc/stat``)."""
    with open('/proc/stat') as f:
        fields = [int(v) for v in f.readline().split()[1:]]
    user, nice, system, idle, iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
    return (user + nice + system + irq + softirq + steal) / os.sysconf('SC_CLK_TCK')


def own_cpu_seconds() -> float:
    """CPU seconds of this process and of its finished children."""
    import resource
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


class OtherLoad:
    """Cores used by other processes (not this one nor its children) while the ``with`` block runs.

    The 1-minute load average lags by a minute and counts runnable threads, not CPU use; this counts the
    CPU time the whole machine used minus our own, over the wall time.
    """

    def __enter__(self):
        self.start = (time.perf_counter(), busy_cpu_seconds(), own_cpu_seconds())
        return self

    def __exit__(self, *exc):
        wall, busy, own = (b - a for a, b in zip(self.start, (time.perf_counter(), busy_cpu_seconds(),
                                                                own_cpu_seconds())))
        self.cores = max(0.0, busy - own) / max(wall, 1e-9)


def wait_until_quiet(max_cores: float = 0.15, wait: float = 1800, window: float = 5.0) -> float:
    """Wait (at most ``wait`` s) until other processes use under ``max_cores`` cores over ``window`` s; return
    the cores they used in the last window."""
    deadline = time.time() + wait
    while True:
        with OtherLoad() as other:
            time.sleep(window)
        if other.cores < max_cores or time.time() > deadline:
            return other.cores


class RSSPeak:
    """Peak resident set size (MiB) while the ``with`` block runs, sampled from ``/proc/self/statm``."""

    page = os.sysconf('SC_PAGE_SIZE')

    def __init__(self, interval: float = 0.002):
        self.interval = interval
        self.peak_mib = 0.0
        self._stop = threading.Event()

    @classmethod
    def current_mib(cls) -> float:
        with open('/proc/self/statm') as f:
            return int(f.read().split()[1]) * cls.page / 2 ** 20

    def _sample(self):
        while not self._stop.is_set():
            self.peak_mib = max(self.peak_mib, self.current_mib())
            time.sleep(self.interval)

    def __enter__(self):
        self.peak_mib = self.current_mib()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak_mib = max(self.peak_mib, self.current_mib())


def flop_counter():
    """``FlopCounterMode`` that also counts the CPU flash-attention kernels (torch's SDPA formulas)."""
    from torch.utils import flop_counter as fc
    aten = torch.ops.aten
    mapping = {}
    if hasattr(aten, '_scaled_dot_product_flash_attention_for_cpu'):
        mapping[aten._scaled_dot_product_flash_attention_for_cpu] = (
            lambda q, k, v, *args, out_shape=None, **kwargs: fc.sdpa_flop_count(q, k, v))
        mapping[aten._scaled_dot_product_flash_attention_for_cpu_backward] = (
            lambda grad_out, q, k, v, *args, out_shape=None, **kwargs:
            fc.sdpa_backward_flop_count(grad_out, q, k, v))
    return fc.FlopCounterMode(display=False, custom_mapping=mapping)


def flops_by_op(counter) -> dict:
    return {str(op).split('.')[-1]: n for op, n in counter.get_flop_counts().get('Global', {}).items()}


def op_group(name: str) -> str:
    for group, keys in OP_GROUPS:
        if any(k in name for k in keys):
            return group
    return 'other'


# ----------------------------------------------------------------------------- building
def build_case(name: str, size: str):
    """(model, (H, W), optim_wrapper config, memory-bank size) of a case at 'paper' or 'demo' size."""
    import plugins.pat  # noqa: F401  (PATModel, PATHead)
    from reidengine.registry import MODELS
    from reidengine.utils import register_all_modules
    from reidengine.utils.config_knobs import read_config

    register_all_modules()
    case = CASES[name]
    cfg = read_config(osp.join(REPO, case['config']))
    model_cfg = copy.deepcopy(cfg.model.to_dict() if hasattr(cfg.model, 'to_dict') else dict(cfg.model))
    if case.get('backbone'):
        model_cfg['backbone'] = dict(case['backbone'])
    if case.get('in_channels'):
        model_cfg['head']['in_channels'] = case['in_channels']
    if 'channels_last' in case:
        model_cfg['data_preprocessor']['channels_last'] = case['channels_last']
    if model_cfg['head'].get('num_classes') is None:
        model_cfg['head']['num_classes'] = 751  # Market-1501 training identities
    if case['paper'] is None:
        hw = tuple(cfg.img_size)
    else:
        hw = tuple(case['paper']) if size == 'paper' else DEMO_SIZE
    if 'ResNet' not in model_cfg['backbone']['type']:
        model_cfg['backbone']['img_size'] = hw
    model_cfg['backbone']['pretrained'] = None
    torch.manual_seed(0)
    model = MODELS.build(model_cfg)
    return model, hw, cfg.optim_wrapper, case.get('bank')


def pk_samples(batch: int, num_classes: int, bank: int, seed: int):
    from reidengine.structures import ReIDDataSample
    gen = torch.Generator().manual_seed(seed)
    pids = torch.arange(batch // 4).repeat_interleave(4) % num_classes
    camids = torch.randint(0, 6, (batch,), generator=gen)
    indices = torch.randperm(max(bank or 0, batch), generator=gen)[:batch]
    return [ReIDDataSample(metainfo=dict(pid=int(p), camid=int(c), sample_idx=int(i)))
            for p, c, i in zip(pids, camids, indices)]


def fill_bank(model, entries: int, num_classes: int) -> None:
    gen = torch.Generator().manual_seed(1)
    bank = model.head.memory_bank
    bank.resize(entries)
    feats = torch.randn(entries, bank.features.shape[0], bank.features.shape[2], generator=gen)
    bank.fill(feats, torch.arange(entries), torch.randint(0, num_classes, (entries,), generator=gen))
    bank.mark_initialized()


# ----------------------------------------------------------------------------- one case (subprocess)
class PairedGEMM:
    """A 4096^3 ``torch.mm`` (fp32 or bf16) into a pre-allocated output, timed right after each model call.

    On a shared machine the throughput other processes leave varies from second to second; the ratio of
    a model's GFLOP/s to the GEMM's GFLOP/s measured next to it is much steadier than either alone.
    """

    def __init__(self, size: int = 4096, dtype: torch.dtype = torch.float32):
        self.a = torch.randn(size, size, dtype=dtype)
        self.b = torch.randn(size, size, dtype=dtype)
        self.c = torch.empty(size, size, dtype=dtype)
        self.flops = 2 * size ** 3
        self.mib = 3 * size * size * self.a.element_size() / 2 ** 20

    def gflops(self) -> float:
        start = time.perf_counter()
        torch.mm(self.a, self.b, out=self.c)
        return self.flops / (time.perf_counter() - start) / 1e9


def paired(fn, gemm: PairedGEMM, repeats: int):
    """(seconds of each ``fn`` call, GEMM GFLOP/s right after each), after one warm-up of both."""
    fn()
    gemm.gflops()
    seconds, rates = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        seconds.append(time.perf_counter() - start)
        rates.append(gemm.gflops())
    return seconds, rates


def median(values):
    values = sorted(values)
    return values[len(values) // 2]


def run_case(name: str, size: str, batch: int, train_batch: int, repeats: int, profile: bool,
             dtype: str = 'fp32') -> dict:
    from mmengine.optim import build_optim_wrapper

    import plugins.pat  # noqa: F401  (imported before the memory baseline)
    import reidengine.engine  # noqa: F401  (MixedPrecisionOptimWrapper)
    import reidengine.models  # noqa: F401
    from reidengine.utils.amp import autocast

    gemm = PairedGEMM(dtype=DTYPES[dtype])
    amp_dtype = torch.bfloat16 if dtype == 'bf16' else None
    result = dict(gemm_buffers_mib=gemm.mib, dtype=dtype)
    rss_before = RSSPeak.current_mib()
    model, (height, width), optim_cfg, bank = build_case(name, size)
    num_classes = model.head.classifier.weight.shape[0]
    if bank:
        fill_bank(model, bank, num_classes)
    rss_model = RSSPeak.current_mib()
    result.update(hw=f'{height}x{width}', batch=batch, train_batch=train_batch,
                  params_m=sum(p.numel() for p in model.parameters()) / 1e6,
                  rss_base_mib=rss_before - gemm.mib, rss_model_mib=rss_model - rss_before)
    gen = torch.Generator().manual_seed(0)
    # the layout the model's data preprocessor hands it (NHWC for the CNN configs: channels_last=True)
    layout = (torch.channels_last if getattr(model.data_preprocessor, 'channels_last', False)
              else torch.contiguous_format)
    result['layout'] = 'NHWC' if layout is torch.channels_last else 'NCHW'
    images = torch.randn(batch, 3, height, width, generator=gen).contiguous(memory_format=layout)

    # inference
    model.eval()
    with torch.inference_mode(), autocast(amp_dtype, 'cpu'):
        with flop_counter() as counter:
            model(images[:1], pk_samples(1, num_classes, bank, 0), mode='tensor')
        flops = counter.get_total_flops()
        samples = pk_samples(batch, num_classes, bank, 0)
        rss_start = RSSPeak.current_mib()
        with RSSPeak() as rss:
            seconds, rates = paired(lambda: model(images, samples, mode='tensor'), gemm, repeats)
    result.update(gflop_per_image=flops / 1e9, infer_ips=batch / median(seconds),
                  infer_gflops=flops * batch / median(seconds) / 1e9,
                  infer_peak_share=median([flops * batch / t / 1e9 / g for t, g in zip(seconds, rates)]),
                  infer_gemm=median(rates), rss_infer_mib=rss.peak_mib - rss_start,
                  infer_flops_by_op=flops_by_op(counter))

    # training step
    model.train()
    optim_cfg = copy.deepcopy(optim_cfg)
    if amp_dtype is not None:
        optim_cfg.update(type='MixedPrecisionOptimWrapper', dtype='bfloat16')
    optim_wrapper = build_optim_wrapper(model, optim_cfg)

    def train_step(inputs, data_samples):
        with optim_wrapper.optim_context(model):  # autocast under the AMP wrapper
            losses = model(inputs, data_samples, mode='loss')
        loss = sum(v for k, v in losses.items() if 'loss' in k)
        optim_wrapper.update_params(loss)

    small = pk_samples(8, num_classes, bank, 1)
    with flop_counter() as counter:
        train_step(torch.randn(8, 3, height, width, generator=gen).contiguous(memory_format=layout), small)
    train_flops = counter.get_total_flops() / 8
    train_images = torch.randn(train_batch, 3, height, width, generator=gen).contiguous(memory_format=layout)
    train_samples = pk_samples(train_batch, num_classes, bank, 2)
    rss_start = RSSPeak.current_mib()
    with RSSPeak() as rss:
        seconds, rates = paired(lambda: train_step(train_images, train_samples), gemm, repeats)
    result.update(train_ips=train_batch / median(seconds),
                  train_gflops=train_flops * train_batch / median(seconds) / 1e9,
                  train_peak_share=median([train_flops * train_batch / t / 1e9 / g for t, g in zip(seconds, rates)]),
                  train_gemm=median(rates), train_gflop_per_image=train_flops / 1e9,
                  rss_train_mib=rss.peak_mib - rss_start,
                  rss_process_peak_mib=rss.peak_mib - gemm.mib)

    # where the inference time goes
    if profile:
        from torch.profiler import ProfilerActivity
        from torch.profiler import profile as torch_profile
        model.eval()
        with torch.inference_mode(), autocast(amp_dtype, 'cpu'):
            model(images, samples, mode='tensor')
            with torch_profile(activities=[ProfilerActivity.CPU]) as prof:
                model(images, samples, mode='tensor')
        times = {}
        for event in prof.key_averages():
            group = op_group(event.key)
            times[group] = times.get(group, 0.0) + event.self_cpu_time_total / 1e6
        result['profile_seconds'] = times
    return result


# ----------------------------------------------------------------------------- report (parent)
def breakdown(r: dict) -> dict:
    """Per group: share of the profiled time, share of the FLOPs, GFLOP/s of that group."""
    times = r.get('profile_seconds', {})
    total_time = sum(times.values()) or 1.0
    flops = {}
    for op, n in r['infer_flops_by_op'].items():
        group = FLOP_GROUPS.get(op, 'other')
        flops[group] = flops.get(group, 0) + n * r['batch']
    total_flops = sum(flops.values()) or 1
    # the profiler slows small ops down: scale its times to the measured forward time
    scale = r['batch'] / r['infer_ips'] / total_time
    out = {}
    for group in sorted(set(times) | set(flops), key=lambda g: -times.get(g, 0.0)):
        t = times.get(group, 0.0)
        out[group] = dict(time=t / total_time, flops=flops.get(group, 0) / total_flops,
                          gflops=flops.get(group, 0) / (t * scale) / 1e9 if t and flops.get(group) else None)
    return out


def verdict(r: dict, target: float) -> str:
    """Why a model's inference stays under ``target`` of the GEMM peak, from its time breakdown."""
    peak = r['infer_gemm']
    if r['infer_peak_share'] >= target or not r.get('profile_seconds'):
        return ''
    parts = breakdown(r)
    compute = {g: v for g, v in parts.items() if v['flops'] > 0}
    free = {g: v for g, v in parts.items() if v['flops'] == 0}
    free_time = sum(v['time'] for v in free.values())
    notes = []
    if free_time > 0.08:
        top = sorted(free.items(), key=lambda kv: -kv[1]['time'])[:2]
        notes.append(f'{100 * free_time:.0f}% of the time in ops without GEMM FLOPs (memory-bound: '
                     + ', '.join(f'{g} {100 * v["time"]:.0f}%' for g, v in top) + ')')
    for group, v in sorted(compute.items(), key=lambda kv: -kv[1]['time']):
        if v['gflops'] is not None and v['gflops'] < target * peak and v['time'] > 0.05:
            notes.append(f'{group} at {100 * v["gflops"] / peak:.0f}% of peak ({100 * v["time"]:.0f}% of the time)')
    return '; '.join(notes)


def cpu_name() -> str:
    try:
        with open('/proc/cpuinfo') as f:
            return next(ln.split(':', 1)[1].strip() for ln in f if ln.startswith('model name'))
    except (OSError, StopIteration):
        return platform.processor() or platform.machine()


def fmt_mib(x: float) -> str:
    return f'{x / 1024:.2f} GiB' if x >= 1024 else f'{x:.0f} MiB'


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--only', nargs='*', default=None, help='substrings of case names to run')
    parser.add_argument('--sizes', nargs='*', default=['paper', 'demo'], choices=['paper', 'demo'])
    parser.add_argument('--batch', type=int, default=32, help='inference batch at paper resolution')
    parser.add_argument('--train-batch', type=int, default=16, help='training batch (P x 4) at paper resolution')
    parser.add_argument('--demo-batch', type=int, default=64, help='inference batch at the demo size')
    parser.add_argument('--demo-train-batch', type=int, default=64, help='training batch at the demo size '
                        '(the demo configs: 16 ids x 4)')
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--target', type=float, default=0.8, help='fraction of the GEMM peak to reach')
    parser.add_argument('--max-other', type=float, default=0.15, help='most cores other processes may use '
                        'while a case runs; a case run while they used more is run again (--retries)')
    parser.add_argument('--retries', type=int, default=3)
    parser.add_argument('--wait', type=float, default=60, help='seconds to wait for a quiet machine each time')
    parser.add_argument('--dtypes', nargs='*', default=['fp32', 'bf16'], choices=sorted(DTYPES))
    parser.add_argument('--no-profile', action='store_true', help='skip the per-op time breakdown')
    parser.add_argument('--json', help='also write the raw results to this file')
    parser.add_argument('--case', help=argparse.SUPPRESS)  # child mode: one case, JSON on stdout
    parser.add_argument('--size', help=argparse.SUPPRESS)
    parser.add_argument('--dtype', help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    if args.case:
        paper = args.size == 'paper' and CASES[args.case]['paper'] is not None
        r = run_case(args.case, args.size, args.batch if paper else args.demo_batch,
                     args.train_batch if paper else args.demo_train_batch, args.repeats, not args.no_profile,
                     args.dtype or 'fp32')
        print('RESULT ' + json.dumps(r))
        return

    from reidengine.utils.amp import cpu_bf16_capability
    dtypes = [d for d in args.dtypes if d != 'bf16' or cpu_bf16_capability() is not None]
    if dtypes != args.dtypes:
        print('bf16 skipped: this CPU has no native bf16 (AMX / AVX512-BF16)', file=sys.stderr)
    wait_until_quiet(args.max_other, args.wait)
    with OtherLoad() as other:
        peak_before = {d: gemm_peak_gflops(4096, args.repeats, DTYPES[d]) for d in dtypes}
    flags = cpu_flags()
    print(f'machine: {cpu_name()}, {os.cpu_count()} CPUs, flags {" ".join(flags)}, torch {torch.__version__}, '
          f'{args.threads} threads; load average {os.getloadavg()[0]:.1f}; other processes used '
          f'{other.cores:.2f} cores during the first GEMM peaks')
    results = []
    for name, case in CASES.items():
        if args.only and not any(s in name for s in args.only):
            continue
        sizes = ['demo'] if case['paper'] is None else args.sizes
        for size, dtype in [(s, d) for s in sizes for d in dtypes]:
            cmd = [sys.executable, osp.abspath(__file__), '--case', name, '--size', size, '--dtype', dtype]
            for key in ('batch', 'train_batch', 'demo_batch', 'demo_train_batch', 'repeats', 'threads'):
                cmd += [f'--{key.replace("_", "-")}', str(getattr(args, key))]
            if args.no_profile:
                cmd.append('--no-profile')
            for attempt in range(1 + args.retries):
                quiet_before = wait_until_quiet(args.max_other, args.wait)
                with OtherLoad() as other:
                    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
                lines = [ln for ln in proc.stdout.splitlines() if ln.startswith('RESULT ')]
                if proc.returncode or not lines:
                    print(f'{name} ({size}) failed:\n{proc.stderr[-3000:]}', file=sys.stderr)
                    break
                r = json.loads(lines[-1][len('RESULT '):])
                r.update(name=name, size=size, other_cores=other.cores, attempts=attempt + 1,
                         loadavg=os.getloadavg()[0])
                print(f'  {name} {r["hw"]} {dtype}: {r["infer_ips"]:.1f} img/s inference '
                      f'({100 * r["infer_peak_share"]:.0f}% of the GEMM next to it), {r["train_ips"]:.1f} img/s '
                      f'training; other processes {quiet_before:.2f} cores before, {other.cores:.2f} during',
                      file=sys.stderr, flush=True)
                if other.cores <= args.max_other:
                    break
            else:
                print(f'  {name} {size}: never quiet; keeping the last run', file=sys.stderr)
            if proc.returncode == 0 and lines:
                results.append(r)
    wait_until_quiet(args.max_other, args.wait)
    peak_after = {d: gemm_peak_gflops(4096, args.repeats, DTYPES[d]) for d in dtypes}
    for d in dtypes:
        print(f'{d} GEMM peak (torch.mm 4096^3, best of {args.repeats}): {peak_before[d]:.1f} GFLOP/s before the '
              f'cases, {peak_after[d]:.1f} after.')
    print('"% of GEMM" = median over the repeats of the model\'s GFLOP/s over the GFLOP/s of a GEMM of the same '
          'dtype measured right after it (the "GEMM next to it" column: what the machine gave a GEMM then).\n')

    print('| model | input | params (M) | GFLOP/img fwd | inference img/s (batch) | inference GFLOP/s | '
          '% of GEMM | GEMM next to it | train-step img/s (batch) | train GFLOP/s fwd+bwd (% of GEMM) | '
          'memory: model / +inference / +training / process peak | other processes (cores) |')
    print('|---|---|---|---|---|---|---|---|---|---|---|---|')
    for r in results:
        print(f'| {r["name"]} | {r["hw"]} {r.get("layout", "")} {r["dtype"]} | {r["params_m"]:.1f} | {r["gflop_per_image"]:.2f} | '
              f'{r["infer_ips"]:.1f} ({r["batch"]}) | {r["infer_gflops"]:.0f} | '
              f'**{100 * r["infer_peak_share"]:.0f}%** | {r["infer_gemm"]:.0f} | '
              f'{r["train_ips"]:.1f} ({r["train_batch"]}) | '
              f'{r["train_gflops"]:.0f} ({100 * r["train_peak_share"]:.0f}%) | {fmt_mib(r["rss_model_mib"])} / '
              f'{fmt_mib(r["rss_infer_mib"])} / {fmt_mib(r["rss_train_mib"])} / '
              f'{fmt_mib(r["rss_process_peak_mib"])} | {r["other_cores"]:.2f} |')

    by_case = {}
    for r in results:
        by_case.setdefault((r['name'], r['hw']), {})[r['dtype']] = r
    if 'bf16' in dtypes and 'fp32' in dtypes:
        print('\nfp32 vs bf16 (autocast), same case: images/s and speed-up, % of that dtype\'s GEMM, process peak '
              'memory during training:\n')
        print('| model | input | inference img/s fp32 / bf16 (x) | % of GEMM fp32 / bf16 | train-step img/s fp32 / '
              'bf16 (x) | train % of GEMM fp32 / bf16 | process peak fp32 / bf16 |')
        print('|---|---|---|---|---|---|---|')
        for (name, hw), pair in by_case.items():
            if set(pair) != {'fp32', 'bf16'}:
                continue
            a, b = pair['fp32'], pair['bf16']
            print(f'| {name} | {hw} | {a["infer_ips"]:.1f} / {b["infer_ips"]:.1f} ({b["infer_ips"] / a["infer_ips"]:.2f}x)'
                  f' | {100 * a["infer_peak_share"]:.0f}% / {100 * b["infer_peak_share"]:.0f}% | '
                  f'{a["train_ips"]:.1f} / {b["train_ips"]:.1f} ({b["train_ips"] / a["train_ips"]:.2f}x) | '
                  f'{100 * a["train_peak_share"]:.0f}% / {100 * b["train_peak_share"]:.0f}% | '
                  f'{fmt_mib(a["rss_process_peak_mib"])} / {fmt_mib(b["rss_process_peak_mib"])} |')

    if not args.no_profile:
        groups = ('GEMM', 'conv', 'attention', 'norm', 'element-wise', 'data movement', 'other')
        print('\nWhere the inference time goes: share of the profiled forward per op group, and the group\'s '
              'GFLOP/s where it has FLOPs; for a model under the target, what holds it back:\n')
        print('| model | input | ' + ' | '.join(groups) + ' | under the target because |')
        print('|---|---|' + '---|' * len(groups) + '---|')
        for r in results:
            parts = breakdown(r)
            cells = []
            r = dict(r, hw=f'{r["hw"]} {r["dtype"]}')
            for g in groups:
                v = parts.get(g)
                if v is None or v['time'] < 0.005:
                    cells.append('')
                else:
                    rate = f' @ {v["gflops"]:.0f}' if v['gflops'] else ''
                    cells.append(f'{100 * v["time"]:.0f}%{rate}')
            print(f'| {r["name"]} | {r["hw"]} | ' + ' | '.join(cells) + f' | {verdict(r, args.target)} |')
    print('\nOther processes (cores): CPU the rest of the machine used while the case ran (a case is run again '
          f'when above {args.max_other}). Model memory = RSS growth from building the model '
          '(weights, optimizer-free); +inference / +training = peak RSS above the RSS before that phase; process '
          'peak = whole process (libraries included) during training.')
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(dict(peak_before=peak_before, peak_after=peak_after, cpu=cpu_name(), cpu_flags=flags,
                           torch=torch.__version__, results=results), f, indent=1)


if __name__ == '__main__':
    main()
