"""Mutual distillation (eq. 8) against a direct formula; the stop-gradient on the targets."""
import torch

from plugins.mdpr.losses import MutualDistillationLoss


def test_matches_equation_8():
    torch.manual_seed(0)
    loss_fn = MutualDistillationLoss(dim=6, hidden_dim=5)
    assert [type(m).__name__ for m in loss_fn.predict_soft] == ['Linear', 'BatchNorm1d', 'ReLU', 'Linear']
    assert loss_fn.predict_soft[0].bias is None and loss_fn.predict_soft[3].bias is not None
    hard, soft = torch.randn(8, 6), torch.randn(8, 6)
    p_h, p_s = loss_fn.predict_soft(hard), loss_fn.predict_hard(soft)

    def d(p, z):
        p, z = p.detach(), z.detach()
        return -sum(float(p[i] @ z[i] / (p[i].norm() * z[i].norm())) for i in range(len(p))) / len(p)

    expected = 0.5 * (d(p_h, soft) + d(p_s, hard))
    assert abs(loss_fn(hard, soft).item() - expected) < 1e-5


def test_targets_get_no_gradient():
    torch.manual_seed(0)
    loss_fn = MutualDistillationLoss(dim=4)
    hard, soft = torch.randn(6, 4, requires_grad=True), torch.randn(6, 4, requires_grad=True)
    d_hard, d_soft = loss_fn.terms(hard, soft)
    g_hard, g_soft = torch.autograd.grad(d_hard, (hard, soft), allow_unused=True)
    assert g_hard.abs().sum() > 0 and g_soft is None
    g_hard, g_soft = torch.autograd.grad(d_soft, (hard, soft), allow_unused=True)
    assert g_hard is None and g_soft.abs().sum() > 0
