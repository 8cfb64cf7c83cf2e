"""Built-in adversarial objectives and regularizers.

Every objective works on *raw* discriminator outputs (logits for the probabilistic losses, critic
values for the Wasserstein and hinge losses) of any shape — one score per sample ``(N,)``/``(N, 1)``
or a PatchGAN map ``(N, 1, H, W)`` — and reduces by the mean. The discriminator minimises
``d_loss(real, fake)``, the generator minimises ``g_loss(fake)``.

Notation: ``D(x)`` is the raw output, ``σ`` the logistic sigmoid, ``softplus(t) = log(1 + e^t)``.
The identities ``-log σ(t) = softplus(-t)`` and ``-log(1 - σ(t)) = softplus(t)`` let every
log-probability below be computed without ever forming ``σ(t)``, so saturated logits (|t| ≈ 100)
give exact finite values instead of ``log(0)``.

=================  ===========================================  ================================
name               discriminator / critic minimises              generator minimises
=================  ===========================================  ================================
minimax            softplus(-D(x)) + softplus(D(G(z)))           -softplus(D(G(z)))
non-saturating     softplus(-D(x)) + softplus(D(G(z)))           softplus(-D(G(z)))
least-squares      ½(D(x) - b)² + ½(D(G(z)) - a)²                ½(D(G(z)) - c)²
wasserstein        D(G(z)) - D(x)                                -D(G(z))
hinge              relu(1 - D(x)) + relu(1 + D(G(z)))            -D(G(z))
=================  ===========================================  ================================

(each term is a mean over its batch). Regularizers are plain functions returning a scalar to add
to the discriminator loss: :func:`gradient_penalty` (``"wgan-gp"``) and :func:`r1_penalty`
(``"r1"``). :func:`get_loss` looks names up in the plugin registry (so plugins can add or replace
objectives) and falls back to the built-in tables.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .errors import GanError, choices_error

Tensor = torch.Tensor


class _Objective:
    """Shared plumbing: a name, keyword-only options and a readable ``repr``."""

    name: str = ""

    def _options(self) -> dict[str, Any]:
        return {}

    def __repr__(self) -> str:
        opts = ", ".join(f"{k}={v!r}" for k, v in self._options().items())
        return f"{type(self).__name__}({opts})"

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other._options() == self._options()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((type(self), tuple(sorted(self._options().items()))))


class Minimax(_Objective):
    """The original saturating GAN objective (Goodfellow et al., 2014, "Generative Adversarial Nets").

    The value function is ``V(D, G) = E_x[log σ(D(x))] + E_z[log(1 - σ(D(G(z))))]``; D maximises it
    and G minimises it, so::

        d_loss = -V = mean softplus(-D(x)) + mean softplus(D(G(z)))
        g_loss = E_z[log(1 - σ(D(G(z))))] = -mean softplus(D(G(z)))

    Early in training D rejects fakes confidently (``D(G(z)) ≪ 0``) and ``log(1 - σ(t))`` is flat
    there, so the generator's gradient vanishes ("saturates"); the paper itself recommends the
    non-saturating variant in practice. Kept for faithful reproductions and comparisons.
    """

    name = "minimax"

    def d_loss(self, real: Tensor, fake: Tensor) -> Tensor:
        return F.softplus(-real).mean() + F.softplus(fake).mean()

    def g_loss(self, fake: Tensor, real: Tensor | None = None) -> Tensor:
        return -F.softplus(fake).mean()


class NonSaturating(_Objective):
    """The non-saturating GAN objective (Goodfellow et al., 2014, section 3): binary cross-entropy.

    The discriminator loss is the minimax one (BCE with real → 1, fake → 0); the generator instead
    *maximises* ``log σ(D(G(z)))`` (BCE of fakes against the real label)::

        d_loss = mean softplus(-D(x)) + mean softplus(D(G(z)))
        g_loss = -mean log σ(D(G(z))) = mean softplus(-D(G(z)))

    Same fixed point as minimax, but strong gradients exactly when the generator is losing. This is
    what DCGAN and most later work call "the GAN loss".
    """

    name = "non-saturating"

    def d_loss(self, real: Tensor, fake: Tensor) -> Tensor:
        return F.softplus(-real).mean() + F.softplus(fake).mean()

    def g_loss(self, fake: Tensor, real: Tensor | None = None) -> Tensor:
        return F.softplus(-fake).mean()


class LeastSquares(_Objective):
    """Least-squares GAN (Mao et al., 2017, "Least Squares Generative Adversarial Networks").

    With target codes ``a`` (fake label), ``b`` (real label) and ``c`` (the value G wants D to
    believe for fakes), equation (2) of the paper::

        d_loss = ½ mean (D(x) - b)² + ½ mean (D(G(z)) - a)²
        g_loss = ½ mean (D(G(z)) - c)²

    The defaults ``a=0, b=1, c=1`` are the 0-1 coding the paper uses in its experiments; ``a=-1,
    b=1, c=0`` is the coding for which minimising the objective minimises the Pearson χ²
    divergence (section 3.2). ``D`` outputs are raw (no sigmoid).
    """

    name = "least-squares"

    def __init__(self, a: float = 0.0, b: float = 1.0, c: float = 1.0) -> None:
        self.a, self.b, self.c = float(a), float(b), float(c)

    def _options(self) -> dict[str, Any]:
        return {"a": self.a, "b": self.b, "c": self.c}

    def d_loss(self, real: Tensor, fake: Tensor) -> Tensor:
        return 0.5 * (real - self.b).square().mean() + 0.5 * (fake - self.a).square().mean()

    def g_loss(self, fake: Tensor, real: Tensor | None = None) -> Tensor:
        return 0.5 * (fake - self.c).square().mean()


class Wasserstein(_Objective):
    """Wasserstein GAN critic objective (Arjovsky, Chintala & Bottou, 2017, "Wasserstein GAN").

    The critic ``f`` estimates ``W1(P_r, P_g) = sup_{||f||_L ≤ 1} E_x f(x) - E_z f(G(z))`` (the
    Kantorovich–Rubinstein dual), so it minimises the negative estimate and the generator minimises
    the critic's estimate through its only dependent term::

        d_loss = mean f(G(z)) - mean f(x)
        g_loss = -mean f(G(z))

    The Lipschitz constraint is *not* part of the loss: enforce it with :func:`clip_weights` after
    every critic step (the original paper, c = 0.01) or with :func:`gradient_penalty` (WGAN-GP).
    ``-d_loss`` is the critic's Wasserstein estimate, the quantity worth logging.
    """

    name = "wasserstein"

    def d_loss(self, real: Tensor, fake: Tensor) -> Tensor:
        return fake.mean() - real.mean()

    def g_loss(self, fake: Tensor, real: Tensor | None = None) -> Tensor:
        return -fake.mean()

    @staticmethod
    def clip_weights(module: nn.Module, c: float = 0.01) -> None:
        """Clamp every parameter of ``module`` to ``[-c, c]`` (see :func:`clip_weights`)."""
        clip_weights(module, c)


class Hinge(_Objective):
    """Hinge adversarial loss (Lim & Ye, 2017, "Geometric GAN"; Miyato et al., 2018, "Spectral
    Normalization for GANs"; used by SAGAN and BigGAN)::

        d_loss = mean relu(1 - D(x)) + mean relu(1 + D(G(z)))
        g_loss = -mean D(G(z))

    The discriminator is a soft-margin SVM separating real (≥ +1) from fake (≤ -1) scores; samples
    beyond the margin contribute no gradient.
    """

    name = "hinge"

    def d_loss(self, real: Tensor, fake: Tensor) -> Tensor:
        return F.relu(1.0 - real).mean() + F.relu(1.0 + fake).mean()

    def g_loss(self, fake: Tensor, real: Tensor | None = None) -> Tensor:
        return -fake.mean()


@torch.no_grad()
def clip_weights(module: nn.Module, c: float = 0.01) -> None:
    """Clamp every parameter of ``module`` in place to ``[-c, c]`` (WGAN weight clipping).

    Arjovsky et al. (2017), Algorithm 1: after each critic update, ``w ← clip(w, -c, c)`` with
    ``c = 0.01`` keeps the critic in a compact set of functions that are K-Lipschitz for some K.
    Call it in the recipe's ``after_step`` (the trainer owns the optimizer step).
    """
    if c <= 0:
        raise GanError(f"weight clipping bound must be > 0, got {c!r}")
    for p in module.parameters():
        p.clamp_(-c, c)


def gradient_penalty(critic: Callable[..., Tensor], real: Tensor, fake: Tensor,
                     weight: float = 10.0, center: float = 1.0, cond: Any = None) -> Tensor:
    """WGAN-GP gradient penalty (Gulrajani et al., 2017, "Improved Training of Wasserstein GANs").

    For each sample ``i`` draws ``ε_i ~ U[0, 1]`` and the interpolate
    ``x̂_i = ε_i x_i + (1 - ε_i) x̃_i`` on the segment between a real and a fake sample, then::

        penalty = weight · mean_i (||∇_x̂ D(x̂_i)||₂ - center)²

    (paper: ``weight = λ = 10``, ``center = 1``; ``center = 0`` gives a zero-centred penalty).
    The gradient is taken with ``create_graph=True`` so the penalty is differentiable with respect
    to the critic's parameters and can simply be added to the critic loss.

    Args:
        critic: the critic/discriminator, called as ``critic(x̂)`` or ``critic(x̂, cond)``.
        real, fake: batches of equal shape ``(N, ...)`` (images, vectors, anything); they are
            detached, so pass fakes made under ``no_grad`` freely.
        weight: λ, the penalty coefficient.
        center: the target gradient norm.
        cond: optional conditioning (labels, a source image) passed through unchanged.

    Randomness comes from torch's global RNG (seeded and checkpointed by the trainer). For critics
    with several outputs per sample (PatchGAN) the gradient of the *sum* of a sample's outputs is
    penalised.
    """
    if real.shape != fake.shape:
        raise GanError(f"gradient_penalty: real and fake batches differ in shape "
                       f"({tuple(real.shape)} vs {tuple(fake.shape)})")
    real = real.detach()
    fake = fake.detach()
    eps = torch.rand((real.shape[0],) + (1,) * (real.dim() - 1), device=real.device,
                     dtype=real.dtype if real.is_floating_point() else torch.float32)
    x_hat = (eps * real + (1.0 - eps) * fake).requires_grad_(True)
    with torch.enable_grad():
        scores = critic(x_hat) if cond is None else critic(x_hat, cond)
        (grad,) = torch.autograd.grad(scores.sum(), x_hat, create_graph=True)
    norms = torch.linalg.vector_norm(grad.reshape(grad.shape[0], -1), dim=1)
    return weight * (norms - center).square().mean()


def r1_penalty(real_scores: Tensor, real_inputs: Tensor, gamma: float = 10.0) -> Tensor:
    """R1 regularizer (Mescheder, Geiger & Nowozin, 2018, "Which Training Methods for GANs do
    actually Converge?"): a zero-centred gradient penalty on real data only::

        R1 = γ/2 · E_x ||∇_x D(x)||²

    The caller computes the scores from inputs that require grad, so the forward pass is shared
    with the ordinary discriminator loss::

        real = real.detach().requires_grad_(True)
        d_real = n.D(real)
        loss = objective.d_loss(d_real, d_fake) + r1_penalty(d_real, real, gamma=10.0)

    The gradient is built with ``create_graph=True`` (differentiable in D's parameters). With lazy
    regularization (StyleGAN2) run it in a phase with ``every=k`` and scale ``gamma`` by ``k``.
    """
    if not real_inputs.requires_grad:
        raise GanError("r1_penalty: real_inputs does not require grad; call "
                       "real.requires_grad_(True) before computing real_scores = D(real)")
    with torch.enable_grad():
        (grad,) = torch.autograd.grad(real_scores.sum(), real_inputs, create_graph=True)
    return 0.5 * gamma * grad.reshape(grad.shape[0], -1).square().sum(dim=1).mean()


BUILTIN_LOSSES: dict[str, type] = {
    "minimax": Minimax,
    "non-saturating": NonSaturating,
    "least-squares": LeastSquares,
    "wasserstein": Wasserstein,
    "hinge": Hinge,
}
"""Built-in objectives by their kebab-case name (registered by the built-in plugin)."""

BUILTIN_REGULARIZERS: dict[str, Callable[..., Tensor]] = {
    "wgan-gp": gradient_penalty,
    "r1": r1_penalty,
}
"""Built-in discriminator regularizers by name (registered with ``kind="regularizer"``)."""


def _registered(kind: str, registry: Any = None) -> dict[str, Any]:
    """Built-in table merged with ``registry`` (a ``loss`` :class:`gan.registry.Registry`, handed to
    the recipe as ``self.registries["loss"]``); its entries win, as plugins may replace built-ins.

    Objectives and regularizers share the ``loss`` registry; regularizers carry
    ``kind="regularizer"`` in their entry metadata. Without a registry only the built-ins exist:
    no plugin manager is looked up behind the caller's back.
    """
    table: dict[str, Any] = dict(BUILTIN_LOSSES if kind == "loss" else BUILTIN_REGULARIZERS)
    for entry in (registry.entries() if registry is not None else ()):
        is_regularizer = entry.meta.get("kind") == "regularizer"
        if is_regularizer == (kind == "regularizer"):
            table[entry.name] = entry.obj
    return table


def loss_names(registry: Any = None) -> list[str]:
    """Names :func:`get_loss` accepts (built-in and those in ``registry``), sorted."""
    return sorted(_registered("loss", registry))


def get_loss(name: str, *, registry: Any = None, **kwargs: Any) -> Any:
    """The adversarial objective registered as ``name``, instantiated with ``kwargs``.

    ``get_loss("least-squares", a=-1, b=1, c=0)``. ``registry`` is the ``loss`` registry a recipe
    was handed (``self.registries.get("loss")``): its entries (``gan_register_losses``) take
    precedence over the built-in table; without one only the built-ins are known. Unknown names and
    options raise :class:`gan.GanError` listing the valid choices.
    """
    table = _registered("loss", registry)
    if name not in table:
        raise choices_error("loss", name, table)
    obj = table[name]
    if not isinstance(obj, type):  # a plugin may register a ready-made instance
        if kwargs:
            raise GanError(f"loss {name!r} takes no options (got {', '.join(sorted(kwargs))})")
        return obj
    try:
        inspect.signature(obj).bind(**kwargs)
    except TypeError:
        params = [p for p in inspect.signature(obj).parameters.values()
                  if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
        allowed = ", ".join(p.name for p in params) or "none"
        raise GanError(f"loss {name!r} got unknown option(s) {', '.join(sorted(kwargs))}; "
                       f"options: {allowed}") from None
    return obj(**kwargs)


def get_regularizer(name: str, *, registry: Any = None) -> Callable[..., Tensor]:
    """The discriminator regularizer registered as ``name`` (``"wgan-gp"``, ``"r1"``, ...)."""
    table = _registered("regularizer", registry)
    if name not in table:
        raise choices_error("regularizer", name, table)
    return table[name]


__all__ = [
    "Minimax", "NonSaturating", "LeastSquares", "Wasserstein", "Hinge",
    "clip_weights", "gradient_penalty", "r1_penalty",
    "BUILTIN_LOSSES", "BUILTIN_REGULARIZERS", "get_loss", "get_regularizer", "loss_names",
]
