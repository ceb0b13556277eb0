"""The multi-test-set loop evaluates every set with its own prefixed metric and writes a table."""
import json

import torch
from mmengine.evaluator import BaseMetric
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch.utils.data import Dataset

from reidengine.engine.runner import results_table
from reidengine.registry import DATASETS, METRICS, MODELS
from reidengine.utils import register_all_modules


@DATASETS.register_module(force=True)
class _ToySet(Dataset):
    """Values 0..n-1 scaled; metainfo carries the set's name."""

    def __init__(self, name, n, scale):
        self.metainfo = dict(dataset_name=name)
        self.values = [float(i) * scale for i in range(n)]

    def __len__(self):
        return len(self.values)

    def __getitem__(self, i):
        return dict(inputs=torch.tensor([self.values[i]]))


@MODELS.register_module(force=True)
class _Identity(BaseModel):

    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.ones(1))

    def forward(self, inputs, data_samples=None, mode='tensor'):
        x = torch.stack(inputs) if isinstance(inputs, list) else inputs
        return [dict(v=float(v)) for v in x.flatten()]


@METRICS.register_module(force=True)
class _MeanMetric(BaseMetric):
    default_prefix = 'toy'

    def process(self, data_batch, data_samples):
        self.results.extend(s['v'] for s in data_samples)

    def compute_metrics(self, results):
        return dict(mAP=sum(results) / len(results), count=len(results))


def test_each_set_gets_its_own_prefixed_metrics_and_a_table(tmp_path):
    register_all_modules()
    loader = dict(batch_size=3, num_workers=0, sampler=dict(type='DefaultSampler', shuffle=False))
    runner = Runner(
        model=dict(type='_Identity'),
        work_dir=str(tmp_path),
        test_dataloader=[dict(loader, dataset=dict(type='_ToySet', name='a', n=4, scale=0.1)),
                         dict(loader, dataset=dict(type='_ToySet', name='b', n=5, scale=0.2))],
        test_evaluator=dict(type='_MeanMetric'),
        test_cfg=dict(type='ReIDTestLoop'),
        default_scope='reidengine')
    metrics = runner.test()
    # set a: mean of 0, .1, .2, .3 ; set b: mean of 0, .2, .4, .6, .8
    assert abs(metrics['a/mAP'] - 0.15) < 1e-6 and metrics['a/count'] == 4
    assert abs(metrics['b/mAP'] - 0.4) < 1e-6 and metrics['b/count'] == 5
    saved = json.loads((tmp_path / 'results_test.json').read_text())
    assert set(saved) == {'a', 'b'} and abs(saved['b']['mAP'] - 0.4) < 1e-6
    table = (tmp_path / 'results_test.md').read_text()
    assert '| a | 15.0 |' in table and '| b | 40.0 |' in table


def test_results_table_formats_percent_and_missing_values():
    table = results_table({'x': dict(mAP=0.5, R1=0.25), 'y': dict(mAP=0.125)})
    lines = table.splitlines()
    assert lines[0] == '| test set | mAP | R1 |'
    assert lines[2] == '| x | 50.0 | 25.0 |'
    assert lines[3] == '| y | 12.5 | - |'
