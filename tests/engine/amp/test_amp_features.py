"""Features extracted under bf16 autocast rank a small synthetic test set like float32 features,
and the ReID test loop runs the model under autocast when the config asks for it.

Tolerance: mAP within 0.02 and R1 within 0.05 of the float32 ones (64 queries, one positive
each: one query losing its first rank moves R1 by 0.016). Measured on three seeds of this set
(random-weight demo ResNet-18, mAP 0.70-0.86): mAP moved by at most 0.011, R1 by 0.016.
"""
import pytest
import torch
from mmengine.evaluator import BaseMetric
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch.utils.data import Dataset

from amp_test_utils import tiny_model
from reidengine.evaluation import evaluate_features
from reidengine.registry import DATASETS, METRICS, MODELS
from reidengine.structures import ReIDDataSample
from reidengine.utils import register_all_modules
from reidengine.utils.amp import autocast, cpu_bf16_capability

needs_bf16 = pytest.mark.skipif(cpu_bf16_capability() is None,
                                reason='CPU without native bf16 (AMX / AVX512-BF16)')


def synthetic_set(num_ids=32, per_cam=2, size=(64, 32), seed=1):
    """Per identity a base image; each image adds noise and a camera colour cast."""
    gen = torch.Generator().manual_seed(seed)
    bases = torch.randint(0, 256, (num_ids, 3, *size), generator=gen).float()
    casts = 20 * torch.randn(2, 3, 1, 1, generator=gen)
    images, pids, camids = [], [], []
    for pid in range(num_ids):
        for cam in range(2):
            for _ in range(per_cam):
                noise = 40 * torch.randn(3, *size, generator=gen)
                images.append((bases[pid] + casts[cam] + noise).clamp(0, 255).to(torch.uint8))
                pids.append(pid)
                camids.append(cam)
    return images, torch.tensor(pids), torch.tensor(camids)


@needs_bf16
def test_bf16_features_rank_like_fp32():
    model = tiny_model('demo/bot_r18_synthreid.py', dict(head=dict(num_classes=4))).eval()
    images, pids, camids = synthetic_set()
    samples = [ReIDDataSample() for _ in images]
    data = model.data_preprocessor(dict(inputs=images, data_samples=samples), False)
    with torch.no_grad():
        fp32 = torch.stack([s.pred_feature for s in model.predict(data['inputs'])])
        with autocast(torch.bfloat16, 'cpu'):
            bf16 = torch.stack([s.pred_feature for s in model.predict(data['inputs'])])
    assert bf16.dtype == torch.float32 and not torch.equal(bf16, fp32)
    query = torch.arange(len(pids)) % 2 == 0
    results = [evaluate_features(f[query], f[~query], q_pids=pids[query], q_camids=camids[query],
                                 g_pids=pids[~query], g_camids=camids[~query], metric='cosine')
               for f in (fp32, bf16)]
    assert 0.3 < results[0]['mAP'] < 1.0  # a real ranking
    assert abs(results[0]['mAP'] - results[1]['mAP']) <= 0.02
    assert abs(results[0]['R1'] - results[1]['R1']) <= 0.05


@DATASETS.register_module(force=True)
class _AmpToySet(Dataset):
    metainfo = dict(dataset_name='toy')

    def __len__(self):
        return 4

    def __getitem__(self, i):
        return dict(inputs=torch.full((2,), float(i)))


@MODELS.register_module(force=True)
class _AutocastProbe(BaseModel):
    """Reports the dtype of a linear layer's output in each test step."""

    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(2, 2)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        out = self.linear(torch.stack(inputs))
        return [dict(dtype=str(out.dtype))] * len(out)


@METRICS.register_module(force=True)
class _DtypeMetric(BaseMetric):
    def process(self, data_batch, data_samples):
        self.results.extend(s['dtype'] for s in data_samples)

    def compute_metrics(self, results):
        return dict(bf16=float(all(r == 'torch.bfloat16' for r in results)))


@needs_bf16
@pytest.mark.parametrize('enabled', [True, False])
def test_test_loop_runs_the_model_under_autocast(tmp_path, enabled):
    register_all_modules()
    runner = Runner.from_cfg(dict(
        model=dict(type='_AutocastProbe'), work_dir=str(tmp_path),
        test_dataloader=dict(batch_size=2, num_workers=0, dataset=dict(type='_AmpToySet'),
                             sampler=dict(type='DefaultSampler', shuffle=False)),
        test_evaluator=dict(type='_DtypeMetric'),
        test_cfg=dict(type='ReIDTestLoop', amp=dict(enabled=enabled, dtype='bfloat16')),
        default_scope='reidengine'))
    assert runner.test()['toy/bf16'] == float(enabled)
