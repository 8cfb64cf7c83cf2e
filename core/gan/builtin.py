"""The built-in core plugin: adversarial losses, metrics, and the default trainer.

Losses and metrics are declared (``"module:attr"`` and a one-line summary) so listing them imports
no torch; :data:`gan.losses.BUILTIN_LOSSES` and :data:`gan.metrics.BUILTIN_METRICS` hold the
objects (a test keeps both tables equal).
"""

from __future__ import annotations

from typing import Any

from . import hookimpl

#: name, kind, "module:attr", summary
LOSSES = (
    ("minimax", "objective", "gan.losses:Minimax",
     'The original saturating GAN objective (Goodfellow et al., 2014, "Generative Adversarial Nets").'),
    ("non-saturating", "objective", "gan.losses:NonSaturating",
     "The non-saturating GAN objective (Goodfellow et al., 2014, section 3): binary cross-entropy."),
    ("least-squares", "objective", "gan.losses:LeastSquares",
     'Least-squares GAN (Mao et al., 2017, "Least Squares Generative Adversarial Networks").'),
    ("wasserstein", "objective", "gan.losses:Wasserstein",
     'Wasserstein GAN critic objective (Arjovsky, Chintala & Bottou, 2017, "Wasserstein GAN").'),
    ("hinge", "objective", "gan.losses:Hinge",
     'Hinge adversarial loss (Lim & Ye, 2017, "Geometric GAN"; Miyato et al., 2018, "Spectral '
     'Normalization for GANs"; used by SAGAN and BigGAN)'),
    ("wgan-gp", "regularizer", "gan.losses:gradient_penalty",
     'WGAN-GP gradient penalty (Gulrajani et al., 2017, "Improved Training of Wasserstein GANs").'),
    ("r1", "regularizer", "gan.losses:r1_penalty",
     'R1 regularizer (Mescheder, Geiger & Nowozin, 2018, "Which Training Methods for GANs do actually '
     'Converge?"): a zero-centred gradient penalty on real data only'),
)

#: name, "module:attr", summary
METRICS = (
    ("fid", "gan.metrics:fid_metric", "Fréchet distance of Gaussians fitted to the features (FID)."),
    ("kid", "gan.metrics:kid_metric",
     "Kernel Inception Distance: cubic-kernel unbiased MMD² over random subsets (mean, std)."),
    ("is", "gan.metrics:is_metric",
     "Inception Score of the generated samples' class probabilities (mean, std over splits)."),
    ("mode-score", "gan.metrics:mode_score_metric",
     "Mode Score: IS penalised by KL(p(y) || p_train(y)) (p_train from the real probabilities)."),
    ("1nn", "gan.metrics:one_nn_metric",
     "Leave-one-out 1-NN two-sample accuracy (0.5 ideal), overall and per class."),
    ("sliced-wasserstein", "gan.metrics:sliced_wasserstein_metric",
     "Sliced Wasserstein-p distance over seeded random projections."),
    ("wasserstein", "gan.metrics:wasserstein_metric",
     "Exact Wasserstein-p by optimal assignment on equal-size seeded subsamples (≤ max_n)."),
)


@hookimpl
def gan_register_losses(registry: Any) -> None:
    for name, kind, target, summary in LOSSES:
        registry.add(name, target, kind=kind, help=summary)


@hookimpl
def gan_register_metrics(registry: Any) -> None:
    for name, target, summary in METRICS:
        registry.add(name, target, help=summary)


@hookimpl(trylast=True)
def gan_make_trainer(recipe: Any, config: Any, run_dir: Any) -> Any:
    from .trainer import AdversarialTrainer
    return AdversarialTrainer(recipe, config, run_dir=run_dir)
