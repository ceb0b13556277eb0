"""MultiFeatureHead: per-feature BNNeck + classifier + losses against direct formulas."""
import math

import pytest
import torch

from reidengine.registry import MODELS
from reidengine.structures import ReIDDataSample
from reidengine.utils import register_all_modules


def _samples(pids):
    return [ReIDDataSample(metainfo=dict(pid=p, camid=0)) for p in pids]


def _ce_ls(logits, labels, eps):
    total = 0.0
    for row, y in zip(logits.tolist(), labels.tolist()):
        log_z = math.log(sum(math.exp(v) for v in row))
        total -= sum(((1 - eps) * (c == y) + eps / len(row)) * (v - log_z)
                     for c, v in enumerate(row))
    return total / len(logits)


def _hard_soft_margin_triplet(x, labels):
    """Batch-hard soft-margin triplet, Euclidean distances, written out pair by pair."""
    total = 0.0
    for i in range(len(x)):
        d = [float((x[i] - x[j]).norm()) for j in range(len(x))]
        pos = max(d[j] for j in range(len(x)) if labels[j] == labels[i])
        neg = min(d[j] for j in range(len(x)) if labels[j] != labels[i])
        total += math.log1p(math.exp(pos - neg))
    return total / len(x)


@pytest.fixture
def feats():
    torch.manual_seed(0)
    return dict(a=torch.randn(6, 4), b=torch.randn(6, 3), extra=torch.randn(6, 2)), [0, 0, 1, 1, 2, 2]


def _head(**kwargs):
    register_all_modules()
    cfg = dict(type='MultiFeatureHead', num_classes=3,
               features=dict(a=dict(in_channels=4),
                             b=dict(in_channels=3, loss_cls=None, bnneck=False)),
               defaults=dict(loss_cls=dict(type='CrossEntropyLabelSmooth', epsilon=0.1),
                             loss_triplet=dict(type='TripletLoss', margin=None)))
    cfg.update(kwargs)
    return MODELS.build(cfg)


def test_losses_per_feature_against_direct_formulas(feats):
    x, pids = feats
    head = _head()
    assert head.branches['b'].classifier is None  # loss_cls=None: no ID loss, no classifier
    losses = head.loss(x, _samples(pids))
    assert set(losses) == {'a_loss_cls', 'a_acc', 'a_loss_triplet', 'b_loss_triplet'}
    labels = torch.tensor(pids)
    bn = torch.nn.functional.batch_norm(x['a'], None, None, training=True, eps=1e-5)
    logits = bn @ head.branches['a'].classifier.weight.t()
    assert losses['a_loss_cls'].item() == pytest.approx(_ce_ls(logits, labels, 0.1), rel=1e-5)
    assert losses['a_loss_triplet'].item() == pytest.approx(
        _hard_soft_margin_triplet(x['a'], pids), rel=1e-5)
    assert losses['b_loss_triplet'].item() == pytest.approx(
        _hard_soft_margin_triplet(x['b'], pids), rel=1e-5)


def test_mean_reduction_divides_each_loss_type_by_its_count(feats):
    x, pids = feats
    torch.manual_seed(1)
    summed = _head().loss(x, _samples(pids))
    torch.manual_seed(1)
    mean = _head(reduction='mean').loss(x, _samples(pids))
    assert mean['a_loss_cls'].item() == pytest.approx(summed['a_loss_cls'].item())  # 1 ID loss
    for key in ('a_loss_triplet', 'b_loss_triplet'):  # 2 triplet losses
        assert mean[key].item() == pytest.approx(summed[key].item() / 2)


def test_test_feature_concatenates_listed_features_before_or_after_bn(feats):
    x, _ = feats
    head = _head(test_features=['b', 'a'], test_feat='after_bn').eval()
    bn = head.branches['a'].bnneck
    bn.running_mean.copy_(torch.tensor([1.0, -2.0, 0.5, 3.0]))
    bn.running_var.copy_(torch.tensor([4.0, 0.25, 1.0, 9.0]))
    expected_a = (x['a'] - bn.running_mean) / (bn.running_var + bn.eps).sqrt()
    out = head(x)
    assert out.shape == (6, 7) and head.out_channels == 7
    torch.testing.assert_close(out, torch.cat([x['b'], expected_a], dim=1))  # b has no BN
    before = _head(test_features=['a'], test_feat='before_bn', normalize_test=True).eval()
    torch.testing.assert_close(before(x), torch.nn.functional.normalize(x['a'], dim=1))


def test_logits_reuse_the_features_classifier(feats):
    x, _ = feats
    head = _head().eval()
    other = torch.randn(6, 4)
    branch = head.branches['a']
    expected = branch.bnneck(other) @ branch.classifier.weight.t()
    torch.testing.assert_close(head.logits('a', other), expected)
    with pytest.raises(RuntimeError, match='no classifier'):
        head.logits('b', torch.randn(6, 3))


def test_bad_configs_and_inputs_are_named():
    with pytest.raises(ValueError, match='test_features'):
        _head(test_features=['c'])
    with pytest.raises(ValueError, match='reduction'):
        _head(reduction='max')
    with pytest.raises(KeyError, match="feature 'b' missing"):
        _head()(dict(a=torch.randn(2, 4)))
