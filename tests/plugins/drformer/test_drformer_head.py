"""DRFormer's losses (eq. 26) against direct re-statements: the intra-model cosine term (eq. 10-12),
the inter-model term with the fused classifier's own weights (eq. 23-25), the N = 1 path."""
from unittest import mock

import pytest
import torch
import torch.nn.functional as F

from plugins.drformer import DRFormerHead, TokenDiversityLoss
from reidengine.structures import ReIDDataSample

D, C, B = 8, 5, 8


def samples(labels):
    return [ReIDDataSample(metainfo=dict(pid=int(p), camid=0)) for p in labels]


def head(**kwargs):
    torch.manual_seed(0)
    module = DRFormerHead(num_classes=C, in_channels=2 * D, **kwargs)
    branch = module.branches['fused']
    with torch.no_grad():  # non-trivial BN affine (BNNeck is a BatchNorm1d) and classifier
        branch.bnneck.weight.uniform_(0.5, 1.5)
        branch.bnneck.bias.uniform_(-0.5, 0.5)
        branch.classifier.weight.normal_(0, 1)
    return module.train()


def feats(num_tokens=3, same_directions=False):
    torch.manual_seed(1)
    h_dc, h_cd = torch.randn(B, D), torch.randn(B, D)
    if same_directions:
        h_cd = h_dc.clone()
    return {'fused': torch.cat([h_dc, h_cd], 1), 'dino_to_clip': h_dc, 'clip_to_dino': h_cd,
            'tokens_dino': torch.randn(B, num_tokens, D), 'tokens_clip': torch.randn(B, num_tokens, D)}


def direct_cosine_term(tokens):
    """eq. 10: 1 / (N - 1) sum_{i=2..N} cos(f_1, f_i), averaged over the batch."""
    per_sample = []
    for f in tokens:
        terms = [torch.dot(f[0], f[i]) / (f[0].norm() * f[i].norm()) for i in range(1, len(f))]
        per_sample.append(sum(terms) / (len(f) - 1))
    return torch.stack(per_sample).mean()


def test_token_diversity_matches_eq10():
    tokens = torch.randn(4, 3, D)
    tokens[:, 2] = -tokens[:, 0] + 0.1 * torch.randn(4, D)  # a negative cosine: the raw value is kept
    assert torch.allclose(TokenDiversityLoss(loss_weight=5.0)(tokens), 5 * direct_cosine_term(tokens), atol=1e-6)
    # clamp_at_zero: max(cos, 0) per pair (the [0, 1] range of the paper's text)
    clamped = torch.stack([(F.relu(F.cosine_similarity(f[0], f[1], dim=0))
                            + F.relu(F.cosine_similarity(f[0], f[2], dim=0))) / 2 for f in tokens]).mean()
    assert torch.allclose(TokenDiversityLoss(clamp_at_zero=True)(tokens), clamped, atol=1e-6)
    with pytest.raises(ValueError, match='N >= 2'):
        TokenDiversityLoss()(torch.randn(4, 1, D))


def test_intra_term_is_the_sum_over_encoders_times_lambda2():
    f = feats()
    losses = head().loss(f, samples(torch.arange(B) % C))
    total = losses['dino_loss_intra'] + losses['clip_loss_intra']
    expected = 5.0 * (direct_cosine_term(f['tokens_dino']) + direct_cosine_term(f['tokens_clip']))
    assert torch.allclose(total, expected, atol=1e-6)  # eq. 12 with lambda_2 = 5


def ce_ls(logits, labels, eps=0.1):
    q = (1 - eps) * F.one_hot(labels, C).float() + eps / C
    return -(q * F.log_softmax(logits, 1)).sum(1).mean()


def test_inter_term_uses_the_fused_classifier_on_duplicated_features():
    module, f = head(), feats()
    labels = torch.arange(B) % C
    losses = module.loss(f, samples(labels))
    bn = module.branches['fused'].bnneck
    weight = module.branches['fused'].classifier.weight
    for direction in ('dino_to_clip', 'clip_to_dino'):
        z = torch.cat([f[direction], f[direction]], 1)  # eq. 23-24
        # BN in training mode: batch statistics, then the BNNeck's affine, then W (bias-free)
        mean, var = z.mean(0), z.var(0, unbiased=False)
        bn_z = (z - mean) / torch.sqrt(var + bn.eps) * bn.weight + bn.bias
        expected = 0.5 * ce_ls(bn_z @ weight.t(), labels)  # lambda_1 = 0.5
        assert torch.allclose(losses[f'{direction}_loss_inter'], expected, atol=1e-5)
    # every loss of eq. 26 is there (mmengine sums the keys holding 'loss')
    assert {k for k in losses if 'loss' in k} == {
        'fused_loss_cls', 'fused_loss_triplet', 'dino_to_clip_loss_inter', 'clip_to_dino_loss_inter',
        'dino_loss_intra', 'clip_loss_intra'}


def test_equal_directions_give_the_main_logits():
    """H_{D->C} = H_{C->D}: [H, H] is z_f itself, so each inter-model logit equals the main one."""
    module, f = head(), feats(same_directions=True)
    main = module.logits('fused', f['fused'])
    for logits in module.inter_logits(f).values():
        assert torch.allclose(logits, main, atol=1e-6)
    # and the classifier is the fused one: changing its weights changes the inter-model logits
    before = module.inter_logits(f)['dino_to_clip']
    with torch.no_grad():
        module.branches['fused'].classifier.weight.mul_(2)
    assert not torch.allclose(module.inter_logits(f)['dino_to_clip'], before)


def test_switches_remove_their_terms():
    f, data = feats(), samples(torch.arange(B) % C)
    losses = head(loss_inter=None, loss_intra=None).loss(f, data)
    assert not any('inter' in k or 'intra' in k for k in losses)
    assert 'fused_loss_cls' in losses and 'fused_loss_triplet' in losses


def test_one_token_switches_intra_off_with_a_log_line():
    module, f = head(), feats(num_tokens=1)
    logger = mock.MagicMock()
    with mock.patch('plugins.drformer.models.drformer_head.MMLogger.get_current_instance',
                    return_value=logger):
        losses = module.loss(f, samples(torch.arange(B) % C))
        module.loss(f, samples(torch.arange(B) % C))
    assert not any('intra' in k for k in losses)
    assert 'dino_to_clip_loss_inter' in losses
    logger.warning.assert_called_once()
    assert 'N = 1' in logger.warning.call_args[0][0] and 'OFF' in logger.warning.call_args[0][0]


def test_test_feature_is_the_pre_bn_fused_feature_l2_normalised():
    module, f = head().eval(), feats()
    assert torch.allclose(module(f), F.normalize(f['fused'], dim=1), atol=1e-6)
