"""Per-model behaviour on tiny presets: shapes, finite losses, phase isolation, WGAN clipping, the
gradient penalty, auxiliary heads, EBGAN/LAPGAN pieces, loss swaps, samples and evaluation."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from gan import GanError, Phase, Stage
from gan.config import RunConfig
from gan.losses import Hinge, LeastSquares
from gan.testing import run_recipe
from gan.trainer import AdversarialTrainer
from gan_image.datasets import ImageData
from gan_image.ebgan import pull_away_term
from gan_image.lapgan import laplacian
from gan_image.networks import DCGANDiscriminator, DCGANGenerator, size_plan, upsample

STAGE = Stage("train", 1)


def trainer_of(recipe) -> AdversarialTrainer:
    """One trainer per recipe: a trainer records which parameters are trainable when it is built,
    and it leaves them all frozen between phases."""
    if not hasattr(recipe, "_test_trainer"):
        recipe._test_trainer = AdversarialTrainer(recipe, RunConfig(progress=False, tensorboard=False))
    return recipe._test_trainer


def run_phase(recipe, name: str):
    """One optimizer step of phase ``name`` through the real trainer machinery."""
    trainer = trainer_of(recipe)
    phase = next(p for p in recipe.phases(STAGE) if p.name == name)
    trainer._activate(phase)
    out = trainer.run_phase(phase, recipe.prepare_batch(recipe.next_batch(STAGE, phase)), {})
    trainer._activate(None)
    return out


def test_sample_shapes_range_and_losses(tiny, image_model):
    r = tiny(image_model)
    x = r.sample(5, seed=0)
    assert x.shape == (5, 1, 16, 16) and x.dtype == torch.float32
    assert x.min() >= -1 and x.max() <= 1
    assert torch.equal(x, r.sample(5, seed=0)) and not torch.equal(x, r.sample(5, seed=1))
    for phase in ("D", "G"):
        out = run_phase(r, phase)
        assert out.loss.dim() == 0 and torch.isfinite(out.loss)
        assert all(torch.isfinite(torch.as_tensor(v)).all() for v in out.logs.values()), out.logs


@pytest.mark.parametrize("size", [28, 32, 64])
def test_dcgan_depth_follows_the_image_size(size):
    base, k = size_plan(size)
    assert base * 2 ** k == size and 4 <= base <= 8
    g, d = DCGANGenerator(100, (3, size, size)), DCGANDiscriminator((3, size, size))
    x = g(torch.randn(2, 100))
    assert x.shape == (2, 3, size, size)
    assert d(x)["adv"].shape == (2,)
    convs = [m for m in d.modules() if isinstance(m, nn.Conv2d)]
    assert all(c.stride == (2, 2) for c in convs)  # strided convolutions, no pooling
    assert not any(isinstance(m, (nn.MaxPool2d, nn.AvgPool2d)) for m in d.modules())
    assert not any(isinstance(m, nn.Linear) for m in g.modules())  # no fully connected layers in G


def test_unsupported_image_size_is_a_clear_error(tiny):
    with pytest.raises(GanError, match="image size 36"):
        tiny("dcgan", data__image_size=36)


@pytest.mark.parametrize("key, value, fragment", [
    ("g_width", 0, "g_width=0: expected a positive integer"),
    ("z_dim", 0, "z_dim=0: expected a positive integer"),
    ("d_hidden", (32, 0), "d_hidden=32,0: expected positive layer sizes"),
    ("n_critic", 0, "n_critic must be positive"),
])
def test_nonsense_sizes_are_clear_errors(tiny, key, value, fragment):
    with pytest.raises(GanError, match=re.escape(fragment)):
        tiny("gan" if key == "d_hidden" else "dcgan", **{key: value})


def test_small_mnist_preset_builds_the_compact_architecture(tiny):
    r = tiny("dcgan", preset="small-mnist", data__embedded_size=32, batch_size=8)
    fc = [m for m in r.models["G"].modules() if isinstance(m, nn.Linear)]
    assert [m.out_features for m in fc] == [1024, 7 * 7 * 128]
    assert r.sample(2, seed=0).shape == (2, 1, 28, 28)


def test_mlp_gan_has_its_measured_sizes_r1_and_ema_and_the_classic_preset_restores_the_old_ones(tiny):
    r = tiny("gan", preset=None, data__embedded_size=32, batch_size=8)
    g = [m.out_features for m in r.models["G"].modules() if isinstance(m, nn.Linear)]
    d = [m.out_features for m in r.models["D"].modules() if isinstance(m, nn.Linear)]
    assert g == [1024, 1024, 784] and sorted(d) == [1, 512, 512]
    assert r.optimizers["G"].defaults["lr"] == 2e-3 and r.optimizers["G"].defaults["betas"] == (0.5, 0.999)
    assert any(isinstance(m, nn.LeakyReLU) and m.negative_slope == 0.2 for m in r.models["D"].modules())
    assert not any(isinstance(m, nn.Dropout) for m in r.models["D"].modules())
    assert "r1" in run_phase(r, "D").logs  # R1 is part of D's loss
    trainer_of(r)
    assert set(r.ema) == {"G"} and r.eval_model("G") is r.ema["G"].module  # samples come from the EMA

    old = tiny("gan", preset="classic", data__embedded_size=32, batch_size=8)
    d = [m.out_features for m in old.models["D"].modules() if isinstance(m, nn.Linear)]
    assert sorted(d) == [1, 256, 256] and old.optimizers["D"].defaults["lr"] == 3e-4
    assert [m.p for m in old.models["D"].modules() if isinstance(m, nn.Dropout)] == [0.5, 0.5]
    assert "r1" not in run_phase(old, "D").logs


def test_each_phase_changes_only_its_network(tiny, image_model):
    r = tiny(image_model)
    for phase, own, other in (("D", "D", "G"), ("G", "G", "D")):
        before = {k: [p.detach().clone() for p in m.parameters()] for k, m in r.models.items()}
        run_phase(r, phase)
        changed = {k: any(not torch.equal(a, b) for a, b in zip(before[k], r.models[k].parameters()))
                   for k in r.models}
        assert changed[own] and not changed[other], (phase, changed)


# --- WGAN ----------------------------------------------------------------------------------------
def test_wgan_clips_after_every_critic_update(tiny):
    r = tiny("wgan", lr=0.05)  # a large step would leave [-c, c] at once without the clip
    c = r.config.clip
    for _ in range(3):
        run_phase(r, "D")  # no after_step in between: the clip rides on the optimizer step
        params = torch.cat([p.detach().flatten() for p in r.models["D"].parameters()])
        assert params.abs().max() <= c + 1e-9
        assert (params.abs() > c * 0.999).float().mean() > 0.5  # most weights sit on the bound
    assert [p for p in r.phases(STAGE) if p.name == "D"][0].repeats == 5
    assert isinstance(r.optimizers["D"], torch.optim.RMSprop) and r.optimizers["D"].defaults["lr"] == 0.05


def test_wgan_defaults_to_the_compact_nets_at_2e_4_and_the_paper_preset_restores_its_nets_and_5e_5(tiny):
    r = tiny("wgan", preset=None, data__embedded_size=32, batch_size=8)
    fc = [m.out_features for m in r.models["G"].modules() if isinstance(m, nn.Linear)]
    assert fc == [1024, 7 * 7 * 128] and r.config.z_dim == 96 and r.config.noise == "uniform"
    assert any(isinstance(m, nn.BatchNorm2d) for m in r.models["D"].modules())  # kept with clipping
    opt = r.optimizers["D"]
    assert isinstance(opt, torch.optim.RMSprop) and opt.defaults["lr"] == 2e-4
    assert r.phases(STAGE)[0].repeats == 5 and r.config.clip == 0.01
    paper = tiny("wgan", preset="paper", data__embedded_size=32, batch_size=8)
    assert not any(isinstance(m, nn.Linear) and m.out_features == 1024 for m in paper.models["G"].modules())
    assert paper.optimizers["D"].defaults["lr"] == 5e-5 and paper.config.noise == "normal"
    assert paper.config.init == "dcgan" and paper.config.z_dim == 100


def test_wgan_trains_the_critic_in_bursts_on_the_reference_codes_schedule(tiny):
    """The authors' code: ``critic_burst`` critic updates for the first ``critic_burst_first``
    generator steps and every ``critic_burst_every``-th, else n_critic; counted on the optimizer."""
    assert tiny("wgan", preset=None).config.critic_burst == 100  # the default (tiny turns it off)
    r = tiny("wgan", steps=9, critic_burst=7, critic_burst_first=2, critic_burst_every=4)
    counted: list[int] = []
    r.optimizers["D"].register_step_post_hook(lambda *a: counted.append(1))
    trainer = AdversarialTrainer(r, r.run)
    stage = r.stages()[0]
    phases = r.phases(stage)
    per_step = []
    for _ in range(9):
        before = len(counted)
        trainer.train_step(stage, phases)
        per_step.append(len(counted) - before)
    assert per_step == [7, 7, 5, 5, 7, 5, 5, 5, 7]
    off = tiny("wgan", critic_burst=0)
    assert [off.critic_iterations(s) for s in (0, 24, 500)] == [5, 5, 5]  # Algorithm 1


def test_wgan_critic_has_no_sigmoid_and_uses_the_wasserstein_loss(tiny):
    r = tiny("wgan")
    assert not any(isinstance(m, nn.Sigmoid) for m in r.models["D"].modules())
    real, fake = torch.tensor([2.0, 4.0]), torch.tensor([1.0, -1.0])
    assert r.adversarial.d_loss(real, fake).item() == pytest.approx(0.0 - 3.0)


class LinearCritic(nn.Module):
    def __init__(self, w: torch.Tensor, b: float = 0.3):
        super().__init__()
        self.w = nn.Parameter(w.clone())
        self.b = nn.Parameter(torch.tensor(b))

    def forward(self, x):
        return {"adv": x.flatten(1) @ self.w + self.b}


@pytest.mark.parametrize("scale", [0.0, 1.0, 3.0])
def test_gradient_penalty_matches_a_hand_computation(tiny, scale):
    """For f(x) = w·x + b, ∇f = w everywhere, so the penalty is λ(||w|| - 1)² whatever the interpolate."""
    r = tiny("wgan-gp")
    w = torch.randn(16 * 16, generator=torch.Generator().manual_seed(0))
    w = w / w.norm() * scale
    critic = LinearCritic(w)
    r.models["D"] = critic
    r.nets = type(r.nets)(r.models)
    real, labels = r.prepare_batch(next(r.stream))
    torch.manual_seed(5)
    out = r.d_loss(real, labels)
    torch.manual_seed(5)
    fake = r.generate(r.latent(real.shape[0], labels), r.models["G"]).detach()
    f = lambda x: x.flatten(1) @ w + 0.3  # noqa: E731
    expected_gp = 10.0 * (scale - 1.0) ** 2
    assert out.logs["gp"].item() == pytest.approx(expected_gp, rel=1e-5, abs=1e-5)
    expected = (f(fake).mean() - f(real).mean()).item() + expected_gp
    assert out.loss.item() == pytest.approx(expected, rel=1e-5, abs=1e-5)


def test_wgan_gp_critic_has_no_norm_on_the_compact_nets_at_3e_4_and_layer_norm_on_the_paper_nets_at_1e_4(tiny):
    r = tiny("wgan-gp", preset=None, data__embedded_size=32, batch_size=8)
    fc = [m.out_features for m in r.models["G"].modules() if isinstance(m, nn.Linear)]
    assert fc == [1024, 7 * 7 * 128] and r.config.z_dim == 96 and r.config.noise == "uniform"
    norms = (nn.BatchNorm1d, nn.BatchNorm2d, nn.GroupNorm, nn.LayerNorm)
    assert not any(isinstance(m, norms) for m in r.models["D"].modules())  # as the paper's MNIST critic
    opt = r.optimizers["D"]
    # 3× Algorithm 1's α at the short budget (14.7 / 13.3 FID at seeds 0 / 1 against 67.3 / 55.5)
    assert isinstance(opt, torch.optim.Adam) and opt.defaults["betas"] == (0.0, 0.9) and opt.defaults["lr"] == 3e-4
    assert r.phases(STAGE)[0].repeats == 5 and r.config.gp_weight == 10.0
    paper = tiny("wgan-gp", preset="paper-nets", data__embedded_size=32, batch_size=8)
    assert paper.optimizers["D"].defaults["lr"] == 1e-4 and paper.optimizers["G"].defaults["lr"] == 1e-4
    assert not any(isinstance(m, nn.BatchNorm2d) for m in paper.models["D"].modules())
    assert any(isinstance(m, nn.GroupNorm) and m.num_groups == 1 for m in paper.models["D"].modules())
    assert not any(isinstance(m, nn.Linear) and m.out_features == 1024 for m in paper.models["G"].modules())


# --- auxiliary heads -----------------------------------------------------------------------------
def test_acgan_class_head_learns_separable_classes(tiny, halves):
    train, test = halves(256, seed=0), halves(128, seed=1)
    r = tiny("acgan", data=train, batch_size=32, d_width=8, lr=2e-3)
    for _ in range(40):
        run_phase(r, "D")
    d = r.models["D"].eval()
    with torch.no_grad():
        x = test.images.float() / 127.5 - 1
        acc = (d(x)["cls"].argmax(1) == test.labels).float().mean().item()
    assert acc > 0.95


def test_infogan_q_head_recovers_the_categorical_code(tiny):
    r = tiny("infogan", steps=60, batch_size=32, categorical=3, lr=2e-3, g_lr=2e-3, q_hidden=16, cont_weight=1.0)
    run_recipe(r, log_every=10**9, ckpt_every=0, eval_every=0)
    g, d = r.models["G"].eval(), r.models["D"].eval()
    with torch.no_grad():
        lat = r.latent(512, generator=torch.Generator().manual_seed(9))
        q = d(g(r.generator_input(lat)))["q"]
    acc = (q[:, :3].argmax(1) == lat["c"]).float().mean().item()
    assert acc > 0.8  # chance is 1/3 (observed 0.88 after 60 steps)
    for i in range(2):  # the predicted means of the continuous codes follow the codes
        assert torch.corrcoef(torch.stack([q[:, 3 + i], lat["u"][:, i]]))[0, 1] > 0.5


def test_infogan_mutual_information_terms(tiny):
    r = tiny("infogan")
    out = run_phase(r, "G")
    assert {"info_cat", "info_cont", "code_accuracy"} <= set(out.logs)
    assert r.generator_input_dim() == r.config.z_dim + 3 + 2
    with pytest.raises(GanError, match="categorical=1"):
        tiny("infogan", categorical=1)


# --- EBGAN and LAPGAN pieces ---------------------------------------------------------------------
def test_pull_away_term():
    same = torch.ones(4, 6)
    orthogonal = torch.eye(4)
    assert pull_away_term(same).item() == pytest.approx(1.0)
    assert pull_away_term(orthogonal).item() == pytest.approx(0.0)
    mixed = torch.tensor([[1.0, 0.0], [1.0, 1.0]])
    assert pull_away_term(mixed).item() == pytest.approx(0.5)  # cos² 45° = 1/2


def test_ebgan_margin_loss(tiny):
    r = tiny("ebgan", margin=0.5)
    real, labels = r.prepare_batch(next(r.stream))
    torch.manual_seed(1)
    out = r.d_loss(real, labels)
    torch.manual_seed(1)
    fake = r.generate(r.latent(real.shape[0]), r.models["G"]).detach()
    d = r.models["D"]
    e_real, e_fake = d(real)["energy"], d(fake)["energy"]
    expected = e_real.mean() + torch.relu(0.5 - e_fake).mean()
    assert out.loss.item() == pytest.approx(expected.item(), rel=1e-4)
    assert ((d(real)["energy"] >= 0).all())
    with pytest.raises(GanError, match="only loss=energy"):
        tiny("ebgan", loss="hinge")


def test_laplacian_pyramid_reconstructs_the_image():
    x = torch.rand(2, 3, 28, 28) * 2 - 1
    xs, conds = laplacian(x, 3)
    assert [t.shape[-1] for t in xs] == [7, 14, 28] and [c.shape[-1] for c in conds] == [14, 28]
    image = xs[0]
    for h in xs[1:]:
        image = upsample(image) + h
    assert torch.allclose(image, x, atol=1e-5)


def test_lapgan_samples_chain_through_the_levels(tiny):
    r = tiny("lapgan", levels=3)
    g = r.models["G"]
    assert [s[0] for s in g.sizes] == [4, 8, 16] and len(g.refiners) == 2
    for ref in g.refiners:  # zero residuals: the sample is the upsampled coarsest image
        nn.init.zeros_(ref.net[-1].weight)
        nn.init.zeros_(ref.net[-1].bias)
    lat = r.latent(3, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        g.eval()
        coarse = g.coarsest(lat["z0"])
    assert torch.allclose(r.generate_eval(lat), upsample(upsample(coarse)).clamp(-1, 1), atol=1e-5)
    real = torch.rand(3, 1, 8, 8) * 2 - 1  # refine() starts from any image one or more levels down
    with torch.no_grad():
        assert torch.allclose(g.refine(real, [lat["z2"]])[-1], upsample(real).clamp(-1, 1), atol=1e-5)
        assert [x.shape[-1] for x in g.refine(coarse, [lat["z1"], lat["z2"]])] == [4, 8, 16]
    out = run_phase(r, "D")
    assert {"level0", "level1", "level2"} <= set(out.logs)
    with pytest.raises(GanError, match="levels=4"):
        tiny("lapgan", levels=4)


def test_lapgan_defaults_to_two_levels_with_r1_and_the_paper_preset_restores_three_without_it(tiny):
    r = tiny("lapgan", preset=None, data__image_size=16, data__embedded_size=32, batch_size=8)
    assert r.config.levels == 2 and [s[0] for s in r.models["G"].sizes] == [8, 16]
    assert r.optimizers["G"].defaults["lr"] == 1e-3 and r.config.d_dropout == 0.0
    assert not any(isinstance(m, nn.Dropout) and m.p > 0 for m in r.models["D"].modules())
    assert {"r1/level0", "r1/level1"} <= set(run_phase(r, "D").logs)  # R1 on every level's D
    trainer_of(r)
    assert set(r.ema) == {"G"} and r.eval_model("G") is r.ema["G"].module  # samples come from the EMA
    paper = tiny("lapgan", preset="paper", data__image_size=16, data__embedded_size=32, batch_size=8)
    assert paper.config.levels == 3 and [s[0] for s in paper.models["G"].sizes] == [4, 8, 16]
    assert paper.optimizers["G"].defaults["lr"] == 2e-4
    assert [m.p for m in paper.models["D"].modules() if isinstance(m, nn.Dropout)] == [0.5, 0.5]
    assert not any(k.startswith(("r1", "r2")) for k in run_phase(paper, "D").logs)  # no penalty in the paper


def test_lapgan_penalises_each_level_with_r1_and_r2_and_refuses_the_single_d_stabilisers(tiny):
    r = tiny("lapgan", d_dropout=0.0, stabilise__r1_gamma=10.0, stabilise__r2_gamma=1.0)
    real = torch.rand(8, *r.image_shape) * 2 - 1
    logs = r.d_loss(real, torch.zeros(8, dtype=torch.long)).logs
    targets, conds = laplacian(real, r.config.levels)
    d = r.models["D"]
    for k, x in enumerate(targets):
        assert logs[f"r2/level{k}"] > 0
        # R1 is γ/2·E||∇ D_k||² on level k's own real input (I_0 or h_k), its condition held fixed
        x = x.clone().requires_grad_(True)
        (grad,) = torch.autograd.grad(d.level(k, x, conds[k - 1] if k else None).sum(), x)
        expected = 5.0 * grad.flatten(1).square().sum(1).mean()
        assert torch.allclose(logs[f"r1/level{k}"], expected, rtol=1e-4), (k, logs[f"r1/level{k}"], expected)
    for key, value in (("label_flip", 0.1), ("minibatch_stddev", True)):
        with pytest.raises(GanError, match=f"stabilise.{key}"):
            tiny("lapgan", **{f"stabilise__{key}": value})


# --- configuration -------------------------------------------------------------------------------
def test_any_adversarial_loss_can_be_swapped_in(tiny):
    assert isinstance(tiny("dcgan", loss="hinge").adversarial, Hinge)
    assert isinstance(tiny("cgan", loss="least-squares").adversarial, LeastSquares)
    ls = tiny("lsgan", ls_a=-1.0, ls_b=1.0, ls_c=0.0).adversarial
    assert (ls.a, ls.b, ls.c) == (-1.0, 1.0, 0.0)
    assert tiny("lsgan").adversarial == LeastSquares(0.0, 1.0, 1.0)
    from gan_image.lsgan import LSGAN  # the paper's Pearson χ² coding as a preset
    assert tiny("lsgan", **LSGAN.presets["pearson"]).adversarial == LeastSquares(-1.0, 1.0, 0.0)
    with pytest.raises(GanError, match="unknown loss"):
        tiny("dcgan", loss="nope")


def test_label_conditioned_models_need_labels(tiny):
    unlabelled = ImageData(torch.zeros(16, 1, 16, 16, dtype=torch.uint8), None, [], "blank")
    for name in ("cgan", "acgan"):
        with pytest.raises(GanError, match="needs labelled data"):
            tiny(name, data=unlabelled)
    assert tiny("dcgan", data=unlabelled).num_classes == 0


def test_cgan_generator_follows_the_label(tiny):
    r = tiny("cgan")
    a = r.sample(4, seed=3, labels=torch.tensor([0, 0, 0, 0]))
    b = r.sample(4, seed=3, labels=torch.tensor([1, 1, 1, 1]))
    assert not torch.equal(a, b)


# --- artefacts -----------------------------------------------------------------------------------
def test_sample_grids_and_progress_strip(tiny, tmp_path, image_model):
    r = tiny(image_model)
    first = r.save_samples(tmp_path, 1)
    h1 = Image.open(tmp_path / "progress.png").size[1]
    r.save_samples(tmp_path, 2)
    w, h2 = Image.open(tmp_path / "progress.png").size
    assert h2 == 2 * h1 and w > h1
    names = {p.name for p in first}
    assert "samples-00000001.png" in names
    expected = {"cgan": "classes", "acgan": "classes", "infogan": "traversal-u1", "lapgan": "levels"}
    if image_model in expected:
        assert f"{expected[image_model]}-00000001.png" in names
    if image_model == "infogan":
        assert {"categories-00000001.png", "traversal-u2-00000001.png"} <= names


def test_nice_samples_keep_the_best_scored(tiny, tmp_path, monkeypatch):
    r = tiny("dcgan")
    from gan.sampling import NICE_FACTOR as factor
    brightness = lambda images, latent: images.mean((1, 2, 3))  # noqa: E731
    monkeypatch.setattr(r, "score", brightness)
    paths = r.export_samples(4, tmp_path, seed=7, nice=True)
    assert len(paths) == 5 and paths[-1].endswith("grid.png")
    candidates = r.generate_eval(r.latent(4 * factor, generator=torch.Generator().manual_seed(7)))
    best = candidates.mean((1, 2, 3)).topk(4).values
    kept = torch.tensor([np.asarray(Image.open(p), dtype=np.float32).mean() / 127.5 - 1 for p in paths[:-1]])
    assert torch.allclose(kept.sort().values, best.sort().values, atol=2 / 255)


def test_conditional_exports_name_the_class(tiny, tmp_path):
    r = tiny("cgan")
    paths = r.export_samples(3, tmp_path, seed=0)
    assert all(any(p.endswith(f"-{c}.png") for c in r.dataset.classes) for p in paths[:-1])


def test_ebgan_and_lapgan_rank_with_their_own_scores(tiny):
    for name in ("ebgan", "lapgan", "acgan"):
        r = tiny(name)
        lat = r.latent(6, generator=torch.Generator().manual_seed(0))
        s = r.score(r.generate_eval(lat), lat)
        assert s.shape == (6,) and torch.isfinite(s).all()
    r = tiny("ebgan")
    x = r.sample(3, seed=0)
    assert torch.allclose(r.score(x, {}), -r.models["D"].eval()(x)["energy"])


def test_evaluation_does_not_touch_the_training_rng(tiny):
    r = tiny("dcgan")
    torch.manual_seed(0)
    r.evaluate()
    after_eval = torch.rand(3)
    torch.manual_seed(0)
    assert torch.equal(after_eval, torch.rand(3))


def test_bad_inception_path_is_a_clear_error(tiny, tmp_path):
    r = tiny("dcgan", eval__inception=str(tmp_path / "missing.pth"))
    with pytest.raises(GanError, match="missing.pth"):
        r.evaluate()


def test_phases(tiny):
    assert tiny("wgan-gp").phases(STAGE) == [Phase("D", "D", "D", repeats=5), Phase("G", "G", "G", fresh_batch=False)]
    assert tiny("dcgan").phases(STAGE)[0].repeats == 1


def test_joint_discriminator_batch_equals_two_passes_without_batch_norm(tiny):
    r = tiny("cgan", d_norm="none", d_joint=True)
    real, labels = r.prepare_batch(next(r.stream))
    lat = r.latent(real.shape[0], labels)
    fake = r.generate(lat, r.models["G"]).detach()
    joint = r.discriminate_pair(real, labels, fake, lat["y"], r.models["D"])
    r.config.d_joint = False
    apart = r.discriminate_pair(real, labels, fake, lat["y"], r.models["D"])
    for a, b in zip(joint, apart):
        assert torch.allclose(a["adv"], b["adv"], atol=1e-6)


def test_batch_norm_on_separate_batches_hides_a_whole_batch_contrast(tiny):
    """What batch norm in D does on separate batches: with per-batch statistics (and zero biases) D scores a
    batch at half contrast exactly as the original (up to batch norm's eps, removed here), so an
    all-grey fake batch is invisible to it; scored beside the reals (``d_joint``) or without batch
    norm, the difference shows."""
    def change(**overrides):
        r = tiny("dcgan", arch="dcgan", init="dcgan", **overrides)  # the paper's nets (zero biases)
        real, _ = r.prepare_batch(next(r.stream))
        d = r.models["D"]
        for m in d.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.eps = 1e-12
        out_r, out_f = r.discriminate_pair(real, None, real * 0.5, None, d)
        return ((out_r["adv"] - out_f["adv"]).abs().mean() / out_r["adv"].std()).item()

    assert change(d_norm="batch") < 1e-5
    assert change(d_norm="batch", d_joint=True) > 0.1
    assert change(d_norm="none") > 0.1


@pytest.mark.parametrize("name", ["dcgan", "acgan", "infogan"])
def test_spectral_norm_bounds_every_layer_of_d_heads_included(tiny, name):
    """``d_norm=spectral``: every conv/linear weight of D (auxiliary heads too) has spectral norm ≈ 1
    after a few training forwards, D has no batch norm, and training steps stay finite."""
    from torch.nn.utils.parametrize import is_parametrized
    r = tiny(name, d_norm="spectral")
    d = r.models["D"]
    layers = [m for m in d.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    assert layers and all(is_parametrized(m, "weight") for m in layers)
    assert not any(isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)) for m in d.modules())
    for _ in range(3):
        assert torch.isfinite(run_phase(r, "D").loss) and torch.isfinite(run_phase(r, "G").loss)
    for _ in range(20):  # power iterations converge during training forwards
        d(r.prepare_batch(next(r.stream))[0])
    for m in layers:
        w = m.weight.detach().flatten(1)
        assert torch.linalg.matrix_norm(w, ord=2).item() == pytest.approx(1.0, abs=0.05)


def test_dcgan_defaults_pick_the_nets_by_image_size(tiny):
    """arch=auto: the compact MNIST nets up to 32 px, the paper's all-convolutional nets above."""
    from gan_image.networks import SmallMNISTGenerator
    assert isinstance(tiny("dcgan").models["G"], SmallMNISTGenerator)
    assert isinstance(tiny("dcgan", **{"data.image_size": 64}).models["G"], DCGANGenerator)
    assert isinstance(tiny("cgan").models["G"], SmallMNISTGenerator)  # cGAN measured with DCGAN's defaults
    from gan_image.conditional import CGAN
    assert isinstance(tiny("cgan", **CGAN.presets["paper-nets"]).models["G"], DCGANGenerator)


def test_dcgan_trains_with_hinge_r1_and_an_ema_and_its_paper_presets_restore_the_paper(tiny):
    """DCGAN's measured training defaults (hinge, R1 γ = 1, generator EMA 0.99: FID 0.38× the
    tutorial's over three seeds) stay DCGAN's: the families built on its config keep the objective
    and raw generator they were measured with, and ``--preset paper`` brings back the paper's."""
    from gan.losses import NonSaturating
    from gan_image.conditional import CGAN
    from gan_image.dcgan import DCGAN
    r = tiny("dcgan")
    assert isinstance(r.adversarial, Hinge) and r.config.stabilise.r1_gamma == 1.0
    out = run_phase(r, "D")
    assert out.logs["r1"] > 0  # the penalty is in D's loss, not just in the config
    on = AdversarialTrainer(tiny("dcgan"), RunConfig(progress=False, tensorboard=False))
    assert set(on.recipe.ema) == {"G"} and on.recipe.eval_model("G") is on.recipe.ema["G"].module
    off = AdversarialTrainer(tiny("dcgan"), RunConfig(progress=False, tensorboard=False, ema_decay=0.0))
    assert not off.recipe.ema  # --set run.ema_decay=0 samples from the raw generator
    paper = tiny("dcgan", **{k: v for k, v in DCGAN.presets["paper"].items()
                             if not k.startswith(("data.", "g_width", "d_width"))})  # tiny sizes
    assert isinstance(paper.adversarial, NonSaturating) and paper.config.stabilise.r1_gamma == 0.0
    assert "r1" not in run_phase(paper, "D").logs
    for name in ("cgan", "acgan", "lsgan"):
        other = tiny(name)
        assert not isinstance(other.adversarial, Hinge), name
        assert other.config.stabilise.r1_gamma == (10.0 if name == "lsgan" else 0.0), name
        assert not AdversarialTrainer(other, RunConfig(progress=False, tensorboard=False)).recipe.ema, name
    from gan_image.lsgan import LSGAN  # measured on the compact nets with R1 γ = 10; preset: the paper's nets
    ls = tiny("lsgan")
    assert isinstance(ls.adversarial, LeastSquares) and run_phase(ls, "D").logs["r1"] > 0
    paper_ls = tiny("lsgan", **LSGAN.presets["paper-nets"])
    assert isinstance(paper_ls.models["G"], DCGANGenerator) and isinstance(paper_ls.adversarial, LeastSquares)
    assert any(isinstance(m, nn.BatchNorm2d) for m in paper_ls.models["D"].modules())
    assert "r1" not in run_phase(paper_ls, "D").logs
    assert isinstance(tiny("cgan", **CGAN.presets["paper-nets"]).adversarial, NonSaturating)


def test_noise_and_init_options(tiny):
    z = tiny("dcgan", noise="uniform").latent(2000)["z"]
    assert z.min() >= -1 and z.max() <= 1 and abs(z.std().item() - 1 / math.sqrt(3)) < 0.02
    assert abs(tiny("dcgan", noise="normal").latent(2000)["z"].std().item() - 1) < 0.02
    w_dcgan = tiny("dcgan", arch="dcgan", init="dcgan").models["D"].body[0].weight.std().item()
    w_default = tiny("dcgan", arch="dcgan", init="default").models["D"].body[0].weight.std().item()
    assert abs(w_dcgan - 0.02) < 0.005 and w_default > 0.05  # kaiming-uniform on a 16-input conv ≈ 0.14


def _kernels(recipe) -> list[torch.Tensor]:
    """Every weight matrix or kernel of a recipe's nets but one-row heads and WGAN's critic (clipped
    to ±0.01 from the start, whatever the init)."""
    return [p for k, m in recipe.models.items() if not (k == "D" and hasattr(recipe.config, "clip"))
            for p in m.parameters() if p.dim() > 1 and p.shape[0] > 1]


def test_every_family_honours_init_and_noise(image_model, tiny):
    """``init`` and ``noise`` reach every family, also those that build their own nets (EBGAN's
    auto-encoder, LAPGAN's pyramid), which once ignored them without a word. ``init=default`` is
    PyTorch's U(±1/√fan_in) (std 1/√(3·fan_in)), ``init=dcgan`` is N(0, 0.02) where the family
    initialises that way; every noise tensor of ``noise=uniform`` lies in [-1, 1]."""
    torch.manual_seed(0)
    for w in _kernels(tiny(image_model, init="default")):
        fan_in = w[0].numel()  # as PyTorch counts it (a transposed conv's weight is (in, out, k, k))
        assert w.std().item() == pytest.approx(1 / math.sqrt(3 * fan_in), rel=0.35), (w.shape, w.std())
    torch.manual_seed(0)
    stds = [w.std().item() for w in _kernels(tiny(image_model, init="dcgan"))]
    assert sum(abs(s - 0.02) < 0.004 for s in stds) >= len(stds) // 2, stds
    lat = tiny(image_model, noise="uniform").latent(500)
    zs = [v for k, v in lat.items() if k.startswith("z")]
    assert zs and all(z.min() >= -1 and z.max() <= 1 and z.std() < 0.7 for z in zs), list(lat)


@pytest.mark.gpu
@pytest.mark.parametrize("name", ["dcgan", "wgan-gp", "lsgan", "infogan"])
def test_cuda_bf16_channels_last_compile(tiny, name):
    """The execution switches of RunConfig on a GPU: losses stay finite, samples keep their shape."""
    if not torch.cuda.is_available():
        pytest.skip("needs CUDA")
    r = tiny(name, device="cuda", steps=3)
    run_recipe(r, log_every=1, ckpt_every=0, amp="bf16", channels_last=True, compile=True)
    x = r.sample(4, seed=0)
    assert x.shape == (4, 1, 16, 16) and torch.isfinite(x).all()


def test_inception_weights_replace_the_classifier(tiny, tmp_path, monkeypatch):
    """With eval.inception set, features and class probabilities come from that network."""
    from gan.metrics import extractors

    class FakeInception:
        name = "inception-v3"
        calls: list = []

        def features_and_logits(self, x):
            self.calls.append(x.shape[0])
            f = torch.as_tensor(x).float().flatten(1)[:, :16]
            return f, f[:, :5] * 3

        def describe(self):
            return {"name": self.name}

    fake = FakeInception()
    weights = tmp_path / "inception.pth"
    monkeypatch.setattr(extractors.InceptionFeatures, "from_file",
                        classmethod(lambda cls, path, device="cpu": fake if str(path) == str(weights) else None))
    r = tiny("dcgan", eval__inception=str(weights))
    out = r.evaluate(full=True)
    assert out["protocol"]["extractor"] == "inception-v3" and out["protocol"]["task"] == "inception"
    assert out["protocol"]["feature_dim"] == 16 and "inception_score" in out
    assert not any(k.startswith("classifier_") for k in out) and fake.calls
