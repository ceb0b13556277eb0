"""One training step of a shipped config's model in float32 and under the bf16 AMP wrapper."""
import copy
import os.path as osp

import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper

from reidengine.registry import MODELS
from reidengine.structures import ReIDDataSample
from reidengine.utils import register_all_modules
from reidengine.utils.config_knobs import resolve_references

REPO = osp.join(osp.dirname(__file__), '..', '..', '..')


def tiny_model(config: str, overrides: dict = None):
    """The model of ``configs/<config>``, merged with ``overrides`` (smaller sizes)."""
    register_all_modules()
    cfg = Config.fromfile(osp.join(REPO, 'configs', config))
    if overrides:
        cfg.merge_from_dict(dict(model=copy.deepcopy(overrides)))  # merging consumes _delete_
    resolve_references(cfg)  # '${knob}' values, as the tools resolve them
    torch.manual_seed(0)
    return MODELS.build(cfg.model)


def batch(size, num_ids=4, seed=0):
    """A PK batch of uint8 images: per identity a base image plus noise, 2 cameras."""
    gen = torch.Generator().manual_seed(seed)
    per_id = 8 // num_ids
    bases = torch.randint(0, 256, (num_ids, 3, *size), generator=gen).float()
    inputs, samples = [], []
    for i in range(8):
        pid = i // per_id
        noise = 40 * torch.randn(3, *size, generator=gen)
        inputs.append((bases[pid] + noise).clamp(0, 255).to(torch.uint8))
        samples.append(ReIDDataSample(metainfo=dict(pid=pid, camid=i % 2, sample_idx=i)))
    return dict(inputs=inputs, data_samples=samples)


def train_step(model, data, amp: bool):
    """Losses, the dtypes of the backbone's GEMM / conv outputs and the stepped copy of ``model`` after one ``train_step``."""
    model = copy.deepcopy(model).train()
    optimizer = dict(type='SGD', lr=0.01, momentum=0.9)
    wrapper = build_optim_wrapper(model, dict(
        type='MixedPrecisionOptimWrapper' if amp else 'OptimWrapper', optimizer=optimizer,
        **(dict(dtype='bfloat16') if amp else {})))
    torch.manual_seed(1)  # the same drop-path / random sub-region draws in both runs
    dtypes = set()  # output dtypes of the backbone's linear / conv layers
    layers = [m for m in model.backbone.modules() if isinstance(m, (torch.nn.Linear, torch.nn.Conv2d))]
    handles = [m.register_forward_hook(lambda m, i, o: dtypes.add(o.dtype)) for m in layers]
    losses = model.train_step(copy.deepcopy(data), wrapper)
    for handle in handles:
        handle.remove()
    return {k: v.detach() for k, v in losses.items()}, dtypes, model


def compare_bf16_to_fp32(model, data, term_tol=0.05, total_rel_tol=0.03):
    """Assert: bf16 ran (the backbone's GEMMs / convolutions); every loss term is float32, finite
    and within ``term_tol`` (absolute) of the float32 step's, their sum within ``total_rel_tol``
    (relative); the step moved the weights to finite values."""
    fp32, fp32_dtype, _ = train_step(model, data, amp=False)
    bf16, bf16_dtype, stepped = train_step(model, data, amp=True)
    assert fp32_dtype == {torch.float32} and bf16_dtype == {torch.bfloat16}
    assert fp32.keys() == bf16.keys()
    terms = [k for k in bf16 if 'loss' in k and k != 'loss']
    assert terms
    for key in terms:
        value = bf16[key]
        assert value.dtype == torch.float32 and torch.isfinite(value), key
        assert abs(float(value) - float(fp32[key])) <= term_tol, (key, float(value), float(fp32[key]))
    total_fp32, total_bf16 = (float(sum(d[k] for k in terms)) for d in (fp32, bf16))
    assert abs(total_bf16 - total_fp32) <= total_rel_tol * abs(total_fp32), (total_bf16, total_fp32)
    before = dict(model.named_parameters())
    after = dict(stepped.named_parameters())
    assert all(torch.isfinite(p).all() for p in after.values())
    assert any(not torch.equal(before[k], after[k]) for k in before)
    return fp32, bf16
