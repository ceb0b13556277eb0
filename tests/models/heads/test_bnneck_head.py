"""BNNeckHead: losses on the right features, accuracy, test feature."""
import math

import pytest
import torch

from reidengine.models.losses import TripletLoss
from reidengine.registry import MODELS
from reidengine.structures import ReIDDataSample


def _samples(pids):
    return [ReIDDataSample(metainfo=dict(pid=p, camid=0)) for p in pids]


def _batch_norm(x):
    mean = x.mean(dim=0)
    var = ((x - mean) ** 2).mean(dim=0)
    return (x - mean) / (var + 1e-5).sqrt()


def _ce_ls(logits, labels, eps):
    total = 0.0
    for row, y in zip(logits.tolist(), labels.tolist()):
        log_z = math.log(sum(math.exp(v) for v in row))
        total -= sum(((1 - eps) * (c == y) + eps / len(row)) * (v - log_z)
                     for c, v in enumerate(row))
    return total / len(logits)


def _head(**kwargs):
    cfg = dict(type='BNNeckHead', in_channels=5, num_classes=3)
    cfg.update(kwargs)
    return MODELS.build(cfg)


@pytest.fixture
def batch():
    torch.manual_seed(0)
    return torch.randn(6, 5), [0, 0, 1, 1, 2, 2]


def test_loss_values_before_bn_triplet(batch):
    feats, pids = batch
    head = _head()
    losses = head.loss(feats, _samples(pids))
    assert set(losses) == {'loss_cls', 'loss_triplet', 'acc'}
    bn = _batch_norm(feats)
    logits = bn @ head.classifier.weight.detach().t()
    labels = torch.tensor(pids)
    assert losses['loss_cls'].item() == pytest.approx(_ce_ls(logits, labels, 0.1), rel=1e-5)
    assert torch.allclose(losses['loss_triplet'], TripletLoss(margin=0.3)(feats, labels))
    acc = sum(int(r.argmax() == y) for r, y in zip(logits, labels)) / 6
    assert losses['acc'].item() == pytest.approx(acc)


def test_triplet_on_after_bn_feature(batch):
    feats, pids = batch
    head = _head(loss_triplet=dict(type='TripletLoss', margin=None), triplet_feat='after_bn')
    labels = torch.tensor(pids)
    got = head.loss(feats, _samples(pids))['loss_triplet']
    assert torch.allclose(got, TripletLoss(margin=None)(_batch_norm(feats), labels), atol=1e-6)
    assert not torch.allclose(got, TripletLoss(margin=None)(feats, labels))


def test_no_triplet_and_loss_weight(batch):
    feats, pids = batch
    head = _head(loss_triplet=None,
                 loss_cls=dict(type='CrossEntropyLabelSmooth', epsilon=0.0, loss_weight=2.0))
    losses = head.loss(feats, _samples(pids))
    assert set(losses) == {'loss_cls', 'acc'}
    logits = _batch_norm(feats) @ head.classifier.weight.detach().t()
    assert losses['loss_cls'].item() == pytest.approx(
        2.0 * _ce_ls(logits, torch.tensor(pids), 0.0), rel=1e-5)


def test_margin_classifier_accuracy_uses_margin_free_logits(batch):
    feats, pids = batch
    head = _head(classifier=dict(type='CircleSoftmax', scale=64, margin=0.35))
    losses = head.loss(feats, _samples(pids))
    cos = torch.nn.functional.normalize(_batch_norm(feats), dim=1) @ \
        torch.nn.functional.normalize(head.classifier.weight.detach(), dim=1).t()
    acc = sum(int(r.argmax() == y) for r, y in zip(cos, pids)) / 6
    assert losses['acc'].item() == pytest.approx(acc)
    assert not losses['acc'].requires_grad


def test_gradients_reach_classifier_not_bn_bias(batch):
    feats, pids = batch
    head = _head()
    sum(v for k, v in head.loss(feats, _samples(pids)).items() if 'loss' in k).backward()
    assert head.classifier.weight.grad.abs().sum() > 0
    assert head.bnneck.bias.grad is None


def test_test_feature(batch):
    feats, _ = batch
    head = _head(test_feat='before_bn').eval()
    assert torch.equal(head(feats), feats)
    head = _head(test_feat='after_bn').eval()
    with torch.no_grad():
        head.bnneck.running_mean.fill_(0.5)
        head.bnneck.running_var.fill_(4.0)
        head.bnneck.weight.fill_(3.0)
    assert torch.allclose(head(feats), 3.0 * (feats - 0.5) / math.sqrt(4.0 + 1e-5))


def test_bad_config_and_inputs_raise(batch):
    feats, _ = batch
    with pytest.raises(ValueError, match='num_classes'):
        _head(num_classes=None)
    with pytest.raises(ValueError, match='test_feat'):
        _head(test_feat='after')
    with pytest.raises(ValueError, match=r'relabelled to \[0, 3\)'):
        _head().loss(feats, _samples([0, 0, 1, 1, 3, 3]))
    with pytest.raises(ValueError, match=r'\(B, 5\)'):
        _head()(torch.zeros(2, 5, 4, 4))


def test_losses_run_in_fp32_under_autocast(batch):
    """Under bf16 autocast the classifier may run in bf16, the losses and distances do not."""
    feats, pids = batch
    head = _head().train()
    with torch.autocast('cpu', dtype=torch.bfloat16):
        losses = head.loss(feats.bfloat16(), _samples(pids))
    assert losses['loss_cls'].dtype == losses['loss_triplet'].dtype == torch.float32
    expected = TripletLoss(margin=0.3)(feats.bfloat16().float(), torch.tensor(pids))
    torch.testing.assert_close(losses['loss_triplet'], expected)
