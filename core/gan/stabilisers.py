"""Stabilisers: the classic remedies for mode collapse and a discriminator that wins, as settings.

Every adversarial family carries a :class:`StabiliserConfig` as its ``stabilise`` field
(``--set stabilise.unrolled_steps=5``); everything is off by default, so a plain run is the paper's
model. The pieces here are family-agnostic tensor code; each family calls them from a few lines of
its ``loss``:

* :func:`d_loss` — the objective's discriminator loss with one-sided label smoothing, soft labels
  and label flips (Salimans et al. 2016 §3.4; the "ganhacks" noisy labels);
* :func:`instance_noise_std` / :func:`add_instance_noise` — Gaussian noise on D's inputs, annealed
  linearly to zero (Sønderby et al. 2017; Arjovsky & Bottou 2017);
* :class:`MinibatchDiscrimination` (Salimans et al. 2016 §3.2) and :class:`MinibatchStdDev`
  (Karras et al. 2018 §3): discriminator layers that see the whole batch;
* :func:`feature_matching_loss` (Salimans et al. 2016 §3.1): a generator objective;
* :func:`unrolled_parameters` (Metz et al. 2017): D's parameters ``k`` optimizer steps ahead, built
  with :func:`torch.func.functional_call`, for G's loss; D's own update is unchanged;
* :func:`zero_centred_penalty` — R1 (real) and R2 (fake) penalties (Mescheder et al. 2018);
* :func:`scale_lr` — two-timescale learning rates (Heusel et al. 2017).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .errors import GanError

Tensor = torch.Tensor


@dataclass
class StabiliserConfig:
    """Stabilisers shared by every adversarial family (``--set stabilise.<key>=...``); all off."""

    real_label: float = 1.0  # one-sided label smoothing: D's target for reals (Salimans et al. 2016: 0.9)
    soft_labels: bool = False  # noisy labels: real ~ U[0.7, 1.0] (1.2 clipped), fake ~ U[0, 0.3] (ganhacks)
    label_flip: float = 0.0  # label noise: fraction of D's targets swapped real <-> fake (e.g. 0.05)
    instance_noise: float = 0.0  # σ of Gaussian noise on D's inputs at step 0 (e.g. 0.1 for [-1, 1] images)
    instance_noise_steps: int = 0  # steps over which σ anneals linearly to 0; 0 = the whole run
    minibatch_discrimination: int = 0  # B kernels of a minibatch-discrimination layer (Salimans: 100)
    minibatch_kernel_dim: int = 5  # C, the dimension of each kernel (Salimans et al. 2016: 5)
    minibatch_stddev: bool = False  # minibatch standard deviation feature before D's head (Karras et al. 2018)
    minibatch_stddev_group: int = 0  # samples per stddev group; 0 = whole batch (paper text; their code: 4)
    feature_matching: bool = False  # G minimises ||E f(x) - E f(G(z))||² on D's last hidden layer
    unrolled_steps: int = 0  # k: G's loss against D unrolled k steps ahead (Metz et al. 2017: 5-10)
    unrolled_second_order: bool = True  # backpropagate through the unrolled D updates (paper); False = first order
    r1_gamma: float = 0.0  # R1: γ/2·E||∇D(x)||² on reals (Mescheder et al. 2018: 10 for images)
    r2_gamma: float = 0.0  # R2: the same penalty on fakes
    d_lr_scale: float = 1.0  # two-timescale update rule: D's learning rate × this (Heusel et al. 2017)
    pack: int = 1  # PacGAN (Lin et al. 2018): D judges m samples at once, concatenated; paper: 2-4

    def validate(self, label: str = "stabilise") -> None:
        """One clear line for nonsense values (called by :func:`gan.config.validate_ranges`)."""
        def bad(key: str, expected: str) -> GanError:
            return GanError(f"--set {label}.{key}={getattr(self, key)!r}: expected {expected}")
        if not 0.0 < self.real_label <= 1.0:
            raise bad("real_label", "a target in (0, 1]")
        if not 0.0 <= self.label_flip < 0.5:
            raise bad("label_flip", "a fraction in [0, 0.5)")
        for key in ("instance_noise", "r1_gamma", "r2_gamma"):
            if getattr(self, key) < 0:
                raise bad(key, "a value >= 0")
        for key in ("instance_noise_steps", "minibatch_discrimination", "minibatch_stddev_group",
                    "unrolled_steps"):
            if getattr(self, key) < 0:
                raise bad(key, "a count >= 0")
        if self.minibatch_kernel_dim < 1:
            raise bad("minibatch_kernel_dim", "a count >= 1")
        if self.d_lr_scale <= 0:
            raise bad("d_lr_scale", "a factor > 0")
        if self.pack < 1:
            raise bad("pack", "a count >= 1 (1 = no packing)")

    @property
    def relabels(self) -> bool:
        return self.real_label != 1.0 or self.soft_labels or self.label_flip > 0

    @property
    def batch_layer(self) -> bool:
        return self.minibatch_discrimination > 0 or self.minibatch_stddev


def require_applicable(cfg: StabiliserConfig, model: str, unsupported: dict[str, str]) -> None:
    """Fail with one line when a setting that does not apply to ``model`` is switched on.

    ``unsupported`` maps a setting to the reason it does not apply (e.g. tokens take no instance
    noise), so a user never believes a stabiliser ran when it silently did not."""
    defaults = StabiliserConfig()
    for key, why in unsupported.items():
        if getattr(cfg, key) != getattr(defaults, key):
            raise GanError(f"--set stabilise.{key}: not available for model {model!r} ({why})")


# --- labels ------------------------------------------------------------------------------------
def _per_sample(x: Tensor, values: Tensor) -> Tensor:
    return values.view(-1, *([1] * (x.dim() - 1))).to(x.dtype)


def targets(cfg: StabiliserConfig, real: Tensor, fake: Tensor) -> tuple[Tensor, Tensor]:
    """Per-sample probability targets ``(t_real, t_fake)`` shaped to broadcast against the scores.

    One-sided smoothing moves only the real target (Salimans et al. 2016 §3.4: smoothing fakes too
    rewards the generator for staying where it is). ``soft_labels`` draws both from the practitioners'
    ranges; the upper end 1.2 is clipped to 1 because a cross-entropy target above 1 is unbounded
    below (D could lower its loss forever by pushing real logits to +∞). Label flips swap a
    ``label_flip`` fraction of the targets. Randomness: torch's global RNG (checkpointed).
    """
    dev = real.device
    n_r, n_f = real.shape[0], fake.shape[0]
    if cfg.soft_labels:
        t_r = torch.empty(n_r, device=dev).uniform_(0.7, 1.2).clamp_(max=1.0)
        t_f = torch.empty(n_f, device=dev).uniform_(0.0, 0.3)
    else:
        t_r = torch.full((n_r,), cfg.real_label, device=dev)
        t_f = torch.zeros(n_f, device=dev)
    if cfg.label_flip > 0:
        flip_r = torch.rand(n_r, device=dev) < cfg.label_flip
        flip_f = torch.rand(n_f, device=dev) < cfg.label_flip
        t_r, t_f = torch.where(flip_r, 1.0 - t_r, t_r), torch.where(flip_f, 1.0 - t_f, t_f)
    return _per_sample(real, t_r), _per_sample(fake, t_f)


def d_loss(objective: Any, cfg: StabiliserConfig, real: Tensor, fake: Tensor) -> Tensor:
    """``objective.d_loss(real, fake)``, or its soft-target form when labels are smoothed or flipped.

    Probabilistic objectives (``minimax``, ``non-saturating``) become binary cross-entropy with the
    targets of :func:`targets`; ``least-squares`` regresses on the targets mapped onto its codes
    ``a + t·(b - a)``. Wasserstein and hinge critics have no labels to smooth: an error says so.
    """
    if not cfg.relabels:
        return objective.d_loss(real, fake)
    t_r, t_f = targets(cfg, real, fake)
    name = getattr(objective, "name", "")
    if name in ("minimax", "non-saturating"):
        return (F.binary_cross_entropy_with_logits(real, t_r.expand_as(real))
                + F.binary_cross_entropy_with_logits(fake, t_f.expand_as(fake)))
    if name == "least-squares":
        a, b = objective.a, objective.b
        return (0.5 * (real - (a + t_r * (b - a))).square().mean()
                + 0.5 * (fake - (a + t_f * (b - a))).square().mean())
    raise GanError(f"label smoothing / label flips need a probabilistic or least-squares loss; "
                   f"{name or type(objective).__name__!r} has no labels (--set loss=non-saturating, or "
                   f"stabilise.r1_gamma or instance_noise instead)")


# --- instance noise ----------------------------------------------------------------------------
def instance_noise_std(cfg: StabiliserConfig, step: int, total_steps: int) -> float:
    """σ at ``step``: ``instance_noise`` decaying linearly to 0 over ``instance_noise_steps``
    (or the whole run when 0)."""
    if cfg.instance_noise <= 0:
        return 0.0
    horizon = cfg.instance_noise_steps or max(total_steps, 1)
    return cfg.instance_noise * max(0.0, 1.0 - step / horizon)


def add_instance_noise(x: Tensor, std: float) -> Tensor:
    """``x + N(0, std²)``; the same σ goes on real and fake inputs so their supports overlap."""
    return x + std * torch.randn_like(x) if std > 0 else x


# --- batch-aware discriminator layers ------------------------------------------------------------
class MinibatchDiscrimination(nn.Module):
    """Minibatch discrimination (Salimans et al. 2016 §3.2).

    Features ``f(x_i) ∈ R^A`` are multiplied by a tensor ``T ∈ R^{A×B×C}`` into rows
    ``M_i ∈ R^{B×C}``; for each kernel ``b``, ``o(x_i)_b = Σ_j exp(-||M_{i,b} - M_{j,b}||₁)`` over the
    minibatch (``j = i`` included, as in the paper). The output ``[f(x_i), o(x_i)]`` lets D see how
    close a sample is to the rest of its batch, so a collapsed batch of fakes is easy to reject.
    """

    def __init__(self, in_features: int, kernels: int = 100, kernel_dim: int = 5) -> None:
        super().__init__()
        self.kernels, self.kernel_dim = kernels, kernel_dim
        self.T = nn.Parameter(torch.randn(in_features, kernels * kernel_dim) * 0.1)
        self.extra = kernels

    def forward(self, f: Tensor) -> Tensor:
        m = (f @ self.T.to(f.dtype)).view(-1, self.kernels, self.kernel_dim).transpose(0, 1)  # (B, N, C)
        # cdist never materialises the (N, N, B, C) differences: 128 MiB per pass at batch 256
        l1 = torch.cdist(m, m, p=1)  # (B, N, N)
        return torch.cat([f, torch.exp(-l1).sum(2).t()], 1)


class MinibatchStdDev(nn.Module):
    """Minibatch standard deviation (Karras et al. 2018 §3).

    The standard deviation of every feature (every channel at every location for maps) over the
    group, averaged into one number per group and appended as one extra feature (a constant map for
    4-D input). ``group_size`` 0 uses the whole minibatch, as the paper's text describes; their code
    uses groups of 4. Population variance plus 1e-8 under the root, as in their code.
    """

    def __init__(self, group_size: int = 0) -> None:
        super().__init__()
        self.group_size = group_size
        self.extra = 1

    def forward(self, x: Tensor) -> Tensor:
        n = x.shape[0]
        g = n if self.group_size <= 0 else min(self.group_size, n)
        if n % g:
            raise GanError(f"minibatch_stddev_group={self.group_size} does not divide the batch of {n}")
        y = x.float().reshape(-1, g, *x.shape[1:])  # (n/g, g, ...)
        std = (y.var(1, unbiased=False) + 1e-8).sqrt()  # (n/g, ...)
        s = std.flatten(1).mean(1)  # (n/g,)
        s = s.repeat_interleave(g).to(x.dtype)  # group m holds rows m*g ... m*g+g-1
        s = s.view(n, 1, *([1] * (x.dim() - 2))).expand(n, 1, *x.shape[2:])
        return torch.cat([x, s], 1)


def batch_layer(cfg: StabiliserConfig, in_features: int) -> nn.Module | None:
    """The batch-aware layer ``cfg`` asks for (``None`` when both are off); ``.extra`` is the number
    of features it appends."""
    if cfg.minibatch_discrimination and cfg.minibatch_stddev:
        raise GanError("stabilise.minibatch_discrimination and stabilise.minibatch_stddev: choose one")
    if cfg.minibatch_discrimination:
        return MinibatchDiscrimination(in_features, cfg.minibatch_discrimination, cfg.minibatch_kernel_dim)
    if cfg.minibatch_stddev:
        return MinibatchStdDev(cfg.minibatch_stddev_group)
    return None


class Pack(nn.Module):
    """PacGAN packing (Lin et al. 2018): ``m`` consecutive samples become one input to D.

    ``(B, F)`` becomes ``(B/m, m·F)`` and ``(B, C, H, W)`` becomes ``(B/m, m·C, H, W)``, so D's first
    layer takes ``m`` times the features and scores each pack of ``m`` samples (all real or all fake)
    with one output. A generator that covers few modes makes packs whose members look alike, which
    a packed D tells apart from real packs easily: the paper proves packing penalises mode collapse
    and measures it on the 2-D grid (5×5 modes covered: vanilla 17.3 of 25, m = 2: 23.8). Put it
    first in D so every D call (losses, penalties, unrolling) sees packs.
    """

    def __init__(self, m: int) -> None:
        super().__init__()
        self.m = m

    def forward(self, x: Tensor) -> Tensor:
        n = x.shape[0]
        if n % self.m:
            raise GanError(f"stabilise.pack={self.m} does not divide D's batch of {n} samples; "
                           f"choose a batch_size that is a multiple of {self.m}")
        return x.reshape(n // self.m, self.m * x.shape[1], *x.shape[2:])


def require_packable(cfg: StabiliserConfig, batch_size: int, label: str = "batch_size") -> None:
    """One line at build time when the batch cannot be cut into packs of ``stabilise.pack``."""
    if cfg.pack > 1 and batch_size % cfg.pack:
        raise GanError(f"--set stabilise.pack={cfg.pack}: {label}={batch_size} is not a multiple of it")


# --- generator objectives ------------------------------------------------------------------------
def feature_matching_loss(real_features: Tensor, fake_features: Tensor) -> Tensor:
    """Salimans et al. (2016) §3.1: ``||E_x f(x) - E_z f(G(z))||²₂`` on an intermediate layer ``f`` of
    D. G matches the statistics D finds informative instead of maximising D's output, which gives it
    no single point to collapse onto. The real side is a target (no gradient)."""
    mu_r = real_features.detach().flatten(1).float().mean(0)
    mu_f = fake_features.flatten(1).float().mean(0)
    return (mu_r - mu_f).square().sum()


def zero_centred_penalty(critic: Callable[[Tensor], Tensor], x: Tensor, gamma: float) -> Tensor:
    """``γ/2 · E ||∇_x D(x)||²`` (Mescheder et al. 2018): R1 on reals, R2 on fakes. Runs its own
    forward pass on a detached copy of ``x`` so any family can add it in one line."""
    from .losses import r1_penalty
    x = x.detach().requires_grad_(True)
    with torch.enable_grad():
        return r1_penalty(critic(x), x, gamma=gamma)


def penalties(cfg: StabiliserConfig, critic: Callable[[Tensor], Tensor], real: Tensor, fake: Tensor,
              critic_fake: Callable[[Tensor], Tensor] | None = None) -> dict[str, Tensor]:
    """The R1 / R2 penalties ``cfg`` switches on, by log name (``{}`` when both are off); add their
    sum to D's loss. ``critic_fake`` scores the fakes when they need other conditioning."""
    out = {}
    if cfg.r1_gamma > 0:
        out["r1"] = zero_centred_penalty(critic, real, cfg.r1_gamma)
    if cfg.r2_gamma > 0:
        out["r2"] = zero_centred_penalty(critic_fake or critic, fake, cfg.r2_gamma)
    return out


# --- unrolled GAN --------------------------------------------------------------------------------
def _optimizer_rule(optimizer: torch.optim.Optimizer | None, params: dict[str, Tensor],
                    module_params: dict[str, nn.Parameter]) -> Callable[[dict, dict, int], dict]:
    """A pure function ``(params, grads, i) -> params`` replaying ``optimizer``'s update rule from
    its current state: Adam (with its moments and step count; weight decay as coupled L2) or SGD
    (plain and with momentum). Other optimizers are an error."""
    if optimizer is None or isinstance(optimizer, torch.optim.SGD):
        group = optimizer.param_groups[0] if optimizer is not None else {"lr": 1e-3, "momentum": 0.0}
        lr, mom = group["lr"], group.get("momentum", 0.0)
        bufs = {}
        if optimizer is not None and mom:
            for n, p in module_params.items():
                b = optimizer.state.get(p, {}).get("momentum_buffer")
                bufs[n] = b.clone() if b is not None else None

        def sgd(ps: dict, gs: dict, i: int) -> dict:
            out = {}
            for n, p in ps.items():
                g = gs[n]
                if mom:
                    b = bufs.get(n)
                    g = g if b is None else mom * b + g
                    bufs[n] = g
                out[n] = p - lr * g
            return out
        return sgd
    if isinstance(optimizer, torch.optim.Adam) and not isinstance(optimizer, torch.optim.AdamW):
        group = optimizer.param_groups[0]
        if group.get("amsgrad"):
            raise GanError("unrolled GAN: AMSGrad is not supported for the unrolled updates")
        lr, (b1, b2), eps, wd = group["lr"], group["betas"], group["eps"], group["weight_decay"]
        st = {}
        for n, p in module_params.items():
            s = optimizer.state.get(p, {})
            step = float(s["step"]) if "step" in s else 0.0
            m = s["exp_avg"].clone() if "exp_avg" in s else torch.zeros_like(p)
            v = s["exp_avg_sq"].clone() if "exp_avg_sq" in s else torch.zeros_like(p)
            st[n] = [step, m, v]

        def adam(ps: dict, gs: dict, i: int) -> dict:
            out = {}
            for n, p in ps.items():
                g = gs[n] + wd * p if wd else gs[n]
                s = st[n]
                s[0] += 1
                s[1] = b1 * s[1] + (1 - b1) * g
                s[2] = b2 * s[2] + (1 - b2) * g * g
                m_hat = s[1] / (1 - b1 ** s[0])
                v_hat = s[2] / (1 - b2 ** s[0])
                out[n] = p - lr * m_hat / (_sqrt_zero_safe(v_hat) + eps)
            return out
        return adam
    raise GanError(f"unrolled GAN: D's optimizer {type(optimizer).__name__} is not supported "
                   f"(Adam or SGD)")


def _sqrt_zero_safe(v: Tensor) -> Tensor:
    """``v.sqrt()`` whose gradient is 0 where ``v == 0`` instead of ∞.

    An Adam second moment is exactly 0 for a parameter whose gradient has always been 0 (a dead
    ReLU unit); there the first moment is 0 too, so the second-order graph would multiply ∞ by 0
    and hand G NaN gradients. The update's true derivative at that point has no term through ``v``."""
    pos = v > 0
    return torch.where(pos, torch.where(pos, v, torch.ones_like(v)).sqrt(), torch.zeros_like(v))


def unrolled_parameters(d: nn.Module, d_loss_of: Callable[[dict[str, Tensor]], Tensor], steps: int,
                        optimizer: torch.optim.Optimizer | None, second_order: bool = True,
                        ) -> dict[str, Tensor]:
    """D's parameters after ``steps`` updates of its own loss, for G's unrolled objective.

    Metz et al. (2017), eq. 5–7: ``θ_D^{k+1} = θ_D^k - η·update(∇ f(θ_G, θ_D^k))`` with D's optimizer
    replayed from its current state (their code unrolls Adam), then G minimises ``f(θ_G, θ_D^K)``.
    With ``second_order`` the updates stay in the autograd graph, so G's gradient includes how D
    would react to G (the term that fights collapse); without it G sees only D's future parameters.
    The module ``d`` and the optimizer are not touched: D's real update is the ordinary one.

    Args:
        d: the discriminator module (parameters read, never modified).
        d_loss_of: ``params -> D's loss`` (call ``torch.func.functional_call(d, params, x)``; fakes
            must keep their graph to G for the second-order term).
        steps: ``k``.
        optimizer: D's optimizer (Adam or SGD) whose rule and state are replayed.
    Returns:
        name → tensor for ``functional_call``; buffers are cloned so batch-norm statistics of the
        real module are left unchanged.
    """
    module_params = dict(d.named_parameters())
    params = {n: p.detach().clone().requires_grad_(True) for n, p in module_params.items()}
    rule = _optimizer_rule(optimizer, params, module_params)
    with torch.enable_grad():
        for i in range(steps):
            names = list(params)
            loss = d_loss_of({**params, **_buffers(d)})
            # retain: the fakes' graph back to G is shared with G's final loss
            grads = torch.autograd.grad(loss, [params[n] for n in names], create_graph=second_order,
                                        retain_graph=True)
            params = rule(params, dict(zip(names, grads)), i)
            if not second_order:
                params = {n: p.detach().requires_grad_(True) for n, p in params.items()}
    return {**params, **_buffers(d)}


def _buffers(d: nn.Module) -> dict[str, Tensor]:
    return {n: b.clone() for n, b in d.named_buffers()}


def functional(d: nn.Module, params: dict[str, Tensor], *args: Any) -> Any:
    """``d(*args)`` with ``params`` in place of its parameters and buffers."""
    return torch.func.functional_call(d, params, args)


def scale_lr(optimizer: torch.optim.Optimizer, factor: float) -> None:
    """Multiply every learning rate of ``optimizer`` (call before any scheduler is built)."""
    if factor != 1.0:
        for group in optimizer.param_groups:
            group["lr"] *= factor
            if "initial_lr" in group:
                group["initial_lr"] *= factor


__all__ = [
    "StabiliserConfig", "require_applicable", "targets", "d_loss", "instance_noise_std",
    "add_instance_noise", "MinibatchDiscrimination", "MinibatchStdDev", "batch_layer",
    "feature_matching_loss", "zero_centred_penalty", "penalties", "unrolled_parameters", "functional", "scale_lr",
]
