"""MDPRHead: each term of eq. 9 against a direct re-statement on small tensors (after-BN features
computed by hand from the batch statistics)."""
import math

import pytest
import torch

from reidengine.registry import MODELS

LABELS = [0, 0, 1, 1, 2, 2]


def make_head(circle_form='classifier', distill=False, **kwargs):
    torch.manual_seed(0)
    dims = {'g': 6, 's': 6, 'bap5': 4}
    return MODELS.build(dict(type='MDPRHead', num_classes=3, feature_dims=dims, bap_features=['bap5'],
                             distill_features=('g', 's') if distill else None,
                             circle_form=circle_form, diversity=None, **kwargs)).train()


def inputs(samples_fn):
    torch.manual_seed(1)
    feats = {'g': torch.randn(6, 6) * 2 + 1, 's': torch.randn(6, 6), 'bap5': torch.rand(6, 4)}
    return feats, samples_fn(LABELS)


def bn(x):
    return (x - x.mean(0)) / torch.sqrt(x.var(0, unbiased=False) + 1e-5)


def cos(a, b):
    a, b = a.detach(), b.detach()
    return float(a @ b / (a.norm() * b.norm()))


def direct_triplet(f, labels, margin):
    dist = torch.cdist(f, f)
    out = []
    for a in range(len(f)):
        pos = max(float(dist[a, p]) for p in range(len(f)) if labels[p] == labels[a])
        neg = min(float(dist[a, n]) for n in range(len(f)) if labels[n] != labels[a])
        out.append(max(0.0, margin + pos - neg))
    return sum(out) / len(out)


def direct_pairwise_circle(f, labels, gamma, m):
    out = []
    for a in range(len(f)):
        sp = [cos(f[a], f[i]) for i in range(len(f)) if i != a and labels[i] == labels[a]]
        sn = [cos(f[a], f[j]) for j in range(len(f)) if labels[j] != labels[a]]
        neg = sum(math.exp(gamma * max(s + m, 0) * (s - m)) for s in sn)
        pos = sum(math.exp(-gamma * max(1 + m - s, 0) * (s - (1 - m))) for s in sp)
        out.append(math.log(1 + neg * pos))
    return sum(out) / len(out)


def direct_circle_softmax_ce(f, weight, labels, s, m, eps):
    num_classes = weight.shape[0]
    out = []
    for i in range(len(f)):
        logits = []
        for c in range(num_classes):
            c_ = cos(f[i], weight[c])
            if c == labels[i]:
                logits.append(s * max(1 + m - c_, 0) * (c_ - (1 - m)))
            else:
                logits.append(s * max(c_ + m, 0) * (c_ - m))
        lse = math.log(sum(math.exp(z - max(logits)) for z in logits)) + max(logits)
        target = [(1 - eps) * (c == labels[i]) + eps / num_classes for c in range(num_classes)]
        out.append(-sum(t * (z - lse) for t, z in zip(target, logits)))
    return sum(out) / len(out)


def test_classifier_form_and_triplet(build_samples):
    head = make_head('classifier')
    feats, data_samples = inputs(build_samples)
    losses = head.loss(feats, data_samples)
    assert {k for k in losses if 'loss' in k} == {'g_loss_cls', 'g_loss_triplet', 's_loss_cls', 's_loss_triplet',
                                                  'bap5_loss_cls'}
    for name in ('g', 'bap5'):
        weight = head.branches[name].classifier.weight.detach()
        expected = direct_circle_softmax_ce(bn(feats[name]), weight, LABELS, 64.0, 0.35, 0.1)
        assert losses[f'{name}_loss_cls'].item() == pytest.approx(expected, rel=1e-4)
    assert losses['g_loss_triplet'].item() == pytest.approx(direct_triplet(bn(feats['g']), LABELS, 0.05), rel=1e-5)


def test_pairwise_form_is_equation_5(build_samples):
    head = make_head('pairwise')
    feats, data_samples = inputs(build_samples)
    losses = head.loss(feats, data_samples)
    assert not any(k.endswith('_loss_cls') for k in losses)
    for name in ('g', 's', 'bap5'):
        expected = direct_pairwise_circle(bn(feats[name]), LABELS, 64.0, 0.35)
        assert losses[f'{name}_loss_circle'].item() == pytest.approx(expected, rel=1e-4)


def test_distillation_on_after_bn_features_updates_bn_statistics_once(build_samples):
    head = make_head('pairwise', distill=True)
    feats, data_samples = inputs(build_samples)
    losses = head.loss(feats, data_samples)
    d = head.distillation
    z_h, z_s = bn(feats['g']), bn(feats['s'])
    p_h, p_s = d.predict_soft(z_h), d.predict_hard(z_s)
    expected = -0.5 * (sum(cos(p_h[i], z_s[i]) for i in range(6)) / 6 + sum(cos(p_s[i], z_h[i]) for i in range(6)) / 6)
    assert losses['distill_loss'].item() == pytest.approx(expected, rel=1e-4)
    # one momentum-0.1 update from the initial (0, 1) running statistics, not two
    torch.testing.assert_close(head.branches['g'].bnneck.running_mean, 0.1 * feats['g'].mean(0))


def test_test_feature_skips_bap_and_is_after_bn():
    head = make_head().eval()
    feats = {'g': torch.randn(3, 6), 's': torch.randn(3, 6), 'bap5': torch.randn(3, 4)}
    out = head(feats)
    expected = torch.cat([head.branches['g'].bnneck(feats['g']), head.branches['s'].bnneck(feats['s'])], 1)
    torch.testing.assert_close(out, expected)


def test_test_feature_subset_for_table_8():
    head = make_head(test_features=['s']).eval()
    feats = {'g': torch.randn(3, 6), 's': torch.randn(3, 6), 'bap5': torch.randn(3, 4)}
    torch.testing.assert_close(head(feats), head.branches['s'].bnneck(feats['s']))


def test_bad_configuration_is_named():
    with pytest.raises(ValueError, match="circle_form='softmax'"):
        make_head('softmax')
    with pytest.raises(ValueError, match=r"\['x'\] are not among the features"):
        MODELS.build(dict(type='MDPRHead', num_classes=3, feature_dims={'g': 4}, bap_features=['x']))
