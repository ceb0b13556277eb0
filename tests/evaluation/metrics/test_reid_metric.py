import pytest
import torch

from reidengine.evaluation import ReIDMetric
from reidengine.evaluation.functional import evaluate_features
from reidengine.registry import METRICS
from reidengine.utils import register_all_modules


def sample(feature, pid, camid, is_query):
    """What mmengine hands to ``process``: ``ReIDDataSample.to_dict()``."""
    return dict(pred_feature=torch.tensor(feature, dtype=torch.float32), pid=pid, camid=camid,
                is_query=is_query, img_path=f'{pid}_{camid}.jpg', domain=0)


# query pid 1 cam 0 at x = 0; gallery at x = distance (1-D features, squared euclidean)
HAND_SET = [sample([0.0], 1, 0, True),
            sample([0.1], 1, 0, False),   # same identity, same camera: removed
            sample([0.2], 2, 1, False),
            sample([0.3], 1, 1, False),   # positive, rank 1
            sample([0.05], -1, 2, False),  # junk: ignored
            sample([0.4], 0, 1, False),   # distractor: a negative
            sample([0.5], 1, 2, False)]   # positive, rank 3


def build(**kwargs):
    register_all_modules()
    return METRICS.build(dict(type='ReIDMetric', **kwargs))


def test_hand_case_through_registry_with_prefix(tmp_path):
    metric = build(prefix='synthreid_B', collect_dir=str(tmp_path))
    metric.process(None, HAND_SET[:3])
    metric.process(None, HAND_SET[3:])
    out = metric.evaluate(len(HAND_SET))
    assert out['synthreid_B/mAP'] == pytest.approx((1 / 2 + 2 / 4) / 2)
    assert out['synthreid_B/mINP'] == pytest.approx(0.5)
    assert (out['synthreid_B/R1'], out['synthreid_B/R5'], out['synthreid_B/R10']) == (0, 1, 1)
    assert out['synthreid_B/num_skipped_queries'] == 0
    assert metric.results == []  # cleared for the next evaluation


def test_options_are_passed_to_the_evaluation():
    g = torch.Generator().manual_seed(0)
    feats = torch.randn(40, 6, generator=g)
    pids = torch.randint(0, 5, (40,), generator=g)
    camids = torch.randint(0, 3, (40,), generator=g)
    is_query = torch.arange(40) < 10
    data = [dict(pred_feature=f, pid=int(p), camid=int(c), is_query=bool(q))
            for f, p, c, q in zip(feats, pids, camids, is_query)]
    options = dict(metric='cosine', rerank=dict(k1=5, k2=2, lambda_value=0.3),
                   aqe=dict(k=3, alpha=2.0), roc=True)
    metric = build(**options)
    metric.process(None, data)
    out = metric.evaluate(len(data))
    q, gal = is_query, ~is_query
    expected = evaluate_features(feats[q], feats[gal], q_pids=pids[q], q_camids=camids[q],
                                 g_pids=pids[gal], g_camids=camids[gal], **options)
    assert out == expected
    assert 'TPR@FPR=1e-02' in out


def test_bad_samples_and_sets():
    metric = build()
    with pytest.raises(KeyError, match="x.jpg lacks \\['camid'\\]"):
        metric.process(None, [dict(pred_feature=torch.zeros(2), pid=1, is_query=True,
                                   img_path='x.jpg')])
    with pytest.raises(ValueError, match='must be a 1-D tensor'):
        metric.process(None, [dict(pred_feature=torch.zeros(1, 2), pid=1, camid=0,
                                   is_query=True)])
    metric.process(None, [sample([0.0], 1, 0, False), sample([1.0], 1, 1, False)])
    with pytest.raises(ValueError, match='both query and gallery'):
        metric.evaluate(2)


def _dist_worker(rank, world_size, port, collect_dir, out):
    import torch.distributed as torch_dist
    from mmengine.dataset import DefaultSampler
    torch_dist.init_process_group('gloo', init_method=f'tcp://127.0.0.1:{port}', rank=rank,
                                  world_size=world_size)
    try:
        dataset = _tie_dataset()
        sampler = DefaultSampler(dataset, shuffle=False, round_up=True)  # pads rank 1
        indices = list(sampler)
        metric = ReIDMetric(collect_dir=collect_dir)
        for s in range(0, len(indices), 2):
            metric.process(None, [dataset[i] for i in indices[s:s + 2]])
        out[rank] = metric.evaluate(len(dataset))
    finally:
        torch_dist.destroy_process_group()


def _tie_dataset():
    # 11 samples (odd: the sampler repeats one); equal features make gallery order matter
    data = [sample([0.0], 1, 0, True), sample([0.0], 2, 0, True), sample([1.0], 3, 0, True)]
    data += [sample([1.0], 3, 1, False), sample([1.0], 1, 1, False), sample([1.0], 2, 1, False),
             sample([1.0], 4, 1, False), sample([2.0], 1, 2, False), sample([2.0], 2, 2, False),
             sample([0.0], 5, 1, False), sample([0.0], 3, 2, False)]
    return data


def test_two_rank_collection_equals_single_process(tmp_path):
    import socket

    import torch.multiprocessing as mp
    single = ReIDMetric()
    single.process(None, _tie_dataset())
    expected = single.evaluate(len(_tie_dataset()))
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        port = sock.getsockname()[1]
    out = mp.Manager().dict()
    mp.start_processes(_dist_worker, args=(2, port, str(tmp_path), out), nprocs=2,
                       start_method='spawn')
    assert out[0] == expected and out[1] == expected
    # the test can see both faults: a kept padding duplicate, and rank-major order (ties)
    data = _tie_dataset()
    single.process(None, data + data[:1])
    assert single.evaluate(12) != expected
    single.process(None, data[0::2] + data[1::2])
    assert single.evaluate(11) != expected


@pytest.mark.parametrize('options, message', [
    (dict(metric='cosin'), 'distance metric must be one of'),
    (dict(rerank=dict(k1=20, k3=6)), "unknown rerank option(s) ['k3']"),
    (dict(rerank=dict(k1=4, k2=6)), 'k2 <= k1 + 1'),
    (dict(rerank=dict(lambda_value=1.5)), 'lambda_value must be a number in [0, 1]'),
    (dict(rerank=dict(k1=20.0)), 'rerank k1 must be an int'),
    (dict(aqe=dict(k=5, beta=3.0)), "unknown aqe option(s) ['beta']"),
    (dict(aqe=dict(k=0)), 'aqe k must be an int >= 1'),
    (dict(aqe=dict(alpha=-1.0)), 'aqe alpha must be a number >= 0'),
    (dict(ranks=(0, 5)), 'ranks must be a non-empty list of ints >= 1'),
])
def test_bad_options_fail_when_the_metric_is_built(options, message):
    # before any feature is extracted: the error comes from the constructor, not from evaluate()
    with pytest.raises(ValueError) as err:
        build(**options)
    assert message in str(err.value)


def test_good_options_are_accepted_when_built():
    build(metric='euclidean', rerank=True, aqe=True)
    build(metric='cosine', rerank=dict(k1=20, k2=6, lambda_value=0.3), aqe=dict(k=5, alpha=3.0))
