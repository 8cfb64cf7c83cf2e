"""Built-in adversarial objectives and regularizers against hand-computed values.

Reference numbers are computed here from the papers' formulas written with plain ``math`` on
Python floats (sigmoids and logs, not the softplus forms the implementation uses).
"""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from gan.errors import GanError
from gan.losses import (
    BUILTIN_LOSSES, BUILTIN_REGULARIZERS, Hinge, LeastSquares, Minimax, NonSaturating, Wasserstein,
    clip_weights, get_loss, get_regularizer, gradient_penalty, r1_penalty,
)

REAL = [0.0, 2.0, -1.5]
FAKE = [0.5, -3.0, 1.0, -0.25]


def sig(t: float) -> float:
    return 1.0 / (1.0 + math.exp(-t))


def mean(xs):
    xs = list(xs)
    return sum(xs) / len(xs)


def t(xs):
    return torch.tensor(xs, dtype=torch.float64)


# --- objectives ---------------------------------------------------------------------------------

def test_non_saturating_matches_bce_formula():
    expected_d = -mean(math.log(sig(r)) for r in REAL) - mean(math.log(1 - sig(f)) for f in FAKE)
    expected_g = -mean(math.log(sig(f)) for f in FAKE)
    loss = NonSaturating()
    assert loss.d_loss(t(REAL), t(FAKE)).item() == pytest.approx(expected_d, rel=1e-12)
    assert loss.g_loss(t(FAKE)).item() == pytest.approx(expected_g, rel=1e-12)


def test_minimax_matches_value_function():
    expected_d = -mean(math.log(sig(r)) for r in REAL) - mean(math.log(1 - sig(f)) for f in FAKE)
    expected_g = mean(math.log(1 - sig(f)) for f in FAKE)
    loss = Minimax()
    assert loss.d_loss(t(REAL), t(FAKE)).item() == pytest.approx(expected_d, rel=1e-12)
    assert loss.g_loss(t(FAKE)).item() == pytest.approx(expected_g, rel=1e-12)


def test_minimax_saturates_where_non_saturating_does_not():
    # A confidently rejected fake (logit -20): log(1 - σ) is flat, -log σ is steep.
    for loss, vanishes in ((Minimax(), True), (NonSaturating(), False)):
        fake = torch.tensor([-20.0], requires_grad=True)
        loss.g_loss(fake).backward()
        assert (abs(fake.grad.item()) < 1e-8) == vanishes
    # and non-saturating's gradient there is ≈ -1 (d/dt softplus(-t) = -σ(-t))
    fake = torch.tensor([-20.0], requires_grad=True)
    NonSaturating().g_loss(fake).backward()
    assert fake.grad.item() == pytest.approx(-sig(20.0), rel=1e-6)


@pytest.mark.parametrize("cls", [Minimax, NonSaturating])
def test_probabilistic_losses_are_stable_at_extreme_logits(cls):
    real = torch.tensor([100.0, -100.0], dtype=torch.float32, requires_grad=True)
    fake = torch.tensor([-100.0, 100.0], dtype=torch.float32, requires_grad=True)
    d = cls().d_loss(real, fake)
    g = cls().g_loss(fake)
    (d + g).backward()
    # softplus(-100)≈0, softplus(100)=100: means of (0, 100) per term
    assert d.item() == pytest.approx(50.0 + 50.0, rel=1e-6)
    assert torch.isfinite(real.grad).all() and torch.isfinite(fake.grad).all()
    assert math.isfinite(g.item())


def test_least_squares_default_and_custom_codes():
    loss = LeastSquares()
    expected_d = 0.5 * mean((r - 1) ** 2 for r in REAL) + 0.5 * mean((f - 0) ** 2 for f in FAKE)
    expected_g = 0.5 * mean((f - 1) ** 2 for f in FAKE)
    assert loss.d_loss(t(REAL), t(FAKE)).item() == pytest.approx(expected_d, rel=1e-12)
    assert loss.g_loss(t(FAKE)).item() == pytest.approx(expected_g, rel=1e-12)
    a, b, c = -1.0, 1.0, 0.0  # the Pearson chi^2 coding of Mao et al.
    loss = LeastSquares(a=a, b=b, c=c)
    expected_d = 0.5 * mean((r - b) ** 2 for r in REAL) + 0.5 * mean((f - a) ** 2 for f in FAKE)
    expected_g = 0.5 * mean((f - c) ** 2 for f in FAKE)
    assert loss.d_loss(t(REAL), t(FAKE)).item() == pytest.approx(expected_d, rel=1e-12)
    assert loss.g_loss(t(FAKE)).item() == pytest.approx(expected_g, rel=1e-12)


def test_wasserstein_critic_and_generator():
    loss = Wasserstein()
    assert loss.d_loss(t(REAL), t(FAKE)).item() == pytest.approx(mean(FAKE) - mean(REAL), rel=1e-12)
    assert loss.g_loss(t(FAKE)).item() == pytest.approx(-mean(FAKE), rel=1e-12)


def test_hinge_margins():
    loss = Hinge()
    expected_d = mean(max(0.0, 1 - r) for r in REAL) + mean(max(0.0, 1 + f) for f in FAKE)
    assert loss.d_loss(t(REAL), t(FAKE)).item() == pytest.approx(expected_d, rel=1e-12)
    assert loss.g_loss(t(FAKE)).item() == pytest.approx(-mean(FAKE), rel=1e-12)
    # beyond the margin there is no gradient for D
    real = torch.tensor([3.0], requires_grad=True)
    fake = torch.tensor([-3.0], requires_grad=True)
    loss.d_loss(real, fake).backward()
    assert real.grad.item() == 0.0 and fake.grad.item() == 0.0


@pytest.mark.parametrize("name", sorted(BUILTIN_LOSSES))
def test_losses_reduce_any_shape_by_mean(name):
    torch.manual_seed(0)
    real, fake = torch.randn(4, 1, 5, 5), torch.randn(4, 1, 5, 5)  # PatchGAN-style maps
    loss = BUILTIN_LOSSES[name]()
    assert loss.name == name
    flat_d = loss.d_loss(real.flatten(), fake.flatten())
    assert loss.d_loss(real, fake).item() == pytest.approx(flat_d.item(), rel=1e-6)
    assert loss.g_loss(fake).item() == pytest.approx(loss.g_loss(fake.flatten()).item(), rel=1e-6)
    assert loss.d_loss(real, fake).dim() == 0


def test_clip_weights_clamps_every_parameter():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(4, 8), nn.Linear(8, 1))
    with torch.no_grad():
        for p in net.parameters():
            p.mul_(10)
    before = [p.detach().clone() for p in net.parameters()]
    clip_weights(net, 0.01)
    for b, p in zip(before, net.parameters()):
        assert p.abs().max().item() <= 0.01 + 1e-12
        assert torch.equal(p, b.clamp(-0.01, 0.01))
    with pytest.raises(GanError):
        clip_weights(net, 0.0)


# --- regularizers -------------------------------------------------------------------------------

class Linear(nn.Module):
    """f(x) = w · flatten(x): its input gradient is w everywhere, so ||∇f|| = ||w||."""

    def __init__(self, shape):
        super().__init__()
        self.w = nn.Parameter(torch.randn(*shape, dtype=torch.float64))

    def forward(self, x, cond=None):
        out = (x * self.w).flatten(1).sum(dim=1)
        if cond is not None:
            out = out + 3.0 * cond.flatten(1).sum(dim=1)
        return out


@pytest.mark.parametrize("shape", [(4, 2, 3, 3), (5, 7)])
def test_gradient_penalty_linear_critic(shape):
    torch.manual_seed(0)
    critic = Linear(shape[1:])
    real, fake = torch.randn(shape, dtype=torch.float64), torch.randn(shape, dtype=torch.float64)
    w = critic.w.detach().flatten()
    norm = math.sqrt(sum(v * v for v in w.tolist()))
    gp = gradient_penalty(critic, real, fake, weight=10.0)
    assert gp.item() == pytest.approx(10.0 * (norm - 1.0) ** 2, rel=1e-10)
    # differentiable in the critic: d/dw λ(||w|| - c)² = 2λ(||w|| - c) w / ||w||
    gp.backward()
    expected = 2 * 10.0 * (norm - 1.0) * w / norm
    assert torch.allclose(critic.w.grad.flatten(), expected, rtol=1e-10)
    # zero-centred variant and another weight
    gp0 = gradient_penalty(critic, real, fake, weight=2.0, center=0.0)
    assert gp0.item() == pytest.approx(2.0 * norm**2, rel=1e-10)


def test_gradient_penalty_interpolates_per_sample():
    # f(x) = ½||x||²: ∇f(x̂) = x̂; with real = 1, fake = 0 the interpolate is ε_i · 1.
    n, d = 6, 4
    critic = lambda x: 0.5 * x.square().sum(dim=1)  # noqa: E731
    real, fake = torch.ones(n, d, dtype=torch.float64), torch.zeros(n, d, dtype=torch.float64)
    torch.manual_seed(123)
    gp = gradient_penalty(critic, real, fake, weight=1.0)
    torch.manual_seed(123)
    eps = torch.rand(n, dtype=torch.float64).tolist()
    assert len(set(eps)) == n  # distinct ε per sample
    expected = mean((e * math.sqrt(d) - 1.0) ** 2 for e in eps)
    assert gp.item() == pytest.approx(expected, rel=1e-10)
    # with real == fake the interpolate is that point whatever ε is
    x = torch.randn(n, d, dtype=torch.float64)
    gp = gradient_penalty(critic, x, x.clone(), weight=1.0)
    expected = mean((math.sqrt(sum(v * v for v in row)) - 1.0) ** 2 for row in x.tolist())
    assert gp.item() == pytest.approx(expected, rel=1e-10)


def test_gradient_penalty_passes_conditioning_and_detaches_inputs():
    torch.manual_seed(0)
    critic = Linear((3,))
    real = torch.randn(4, 3, dtype=torch.float64)
    fake = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    cond = torch.randn(4, 2, dtype=torch.float64)
    norm = critic.w.detach().norm().item()
    gp = gradient_penalty(critic, real, fake, cond=cond)
    assert gp.item() == pytest.approx(10.0 * (norm - 1) ** 2, rel=1e-10)
    gp.backward()
    assert fake.grad is None  # the penalty trains the critic only
    with pytest.raises(GanError):
        gradient_penalty(critic, real, fake[:2])


def test_gradient_penalty_zero_gradient_is_finite():
    critic = lambda x: 0.0 * x.sum(dim=1)  # noqa: E731
    gp = gradient_penalty(critic, torch.randn(3, 2), torch.randn(3, 2), weight=10.0)
    assert gp.item() == pytest.approx(10.0)


def test_r1_penalty_linear_and_quadratic():
    torch.manual_seed(0)
    critic = Linear((5,))
    real = torch.randn(8, 5, dtype=torch.float64).requires_grad_(True)
    r1 = r1_penalty(critic(real), real, gamma=10.0)
    sq = sum(v * v for v in critic.w.detach().tolist())
    assert r1.item() == pytest.approx(5.0 * sq, rel=1e-10)
    r1.backward()  # d/dw γ/2 ||w||² = γ w
    assert torch.allclose(critic.w.grad, 10.0 * critic.w.detach(), rtol=1e-10)
    # D(x) = ½||x||² → ∇ = x, R1 = γ/2 · mean ||x_i||²
    x = torch.randn(4, 2, 3, 3, dtype=torch.float64).requires_grad_(True)
    scores = 0.5 * x.square().flatten(1).sum(dim=1)
    expected = 0.5 * 2.0 * mean(sum(v * v for v in row) for row in x.detach().flatten(1).tolist())
    assert r1_penalty(scores, x, gamma=2.0).item() == pytest.approx(expected, rel=1e-10)


def test_r1_requires_grad_on_inputs():
    x = torch.randn(3, 2)
    with pytest.raises(GanError, match="requires_grad"):
        r1_penalty(x.sum(dim=1), x)


# --- lookup -------------------------------------------------------------------------------------

def test_builtin_tables_and_get_loss():
    assert set(BUILTIN_LOSSES) == {"minimax", "non-saturating", "least-squares", "wasserstein", "hinge"}
    assert BUILTIN_REGULARIZERS == {"wgan-gp": gradient_penalty, "r1": r1_penalty}
    for name, cls in BUILTIN_LOSSES.items():
        loss = get_loss(name)
        assert isinstance(loss, cls) and loss.name == name
    ls = get_loss("least-squares", a=-1.0, b=1.0, c=0.0)
    assert (ls.a, ls.b, ls.c) == (-1.0, 1.0, 0.0)
    assert get_regularizer("wgan-gp") is gradient_penalty


def test_get_loss_errors_list_choices():
    with pytest.raises(GanError, match=r"unknown loss 'hing'; choose from: .*hinge.*non-saturating"):
        get_loss("hing")
    with pytest.raises(GanError) as info:
        get_loss("wgan-gp")  # a regularizer, not an objective
    assert "wgan-gp" not in str(info.value).split("choose from:")[1]
    with pytest.raises(GanError, match="options: a, b, c"):
        get_loss("least-squares", d=1)
    with pytest.raises(GanError, match="unknown regularizer"):
        get_regularizer("r2")
