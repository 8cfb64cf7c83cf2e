"""Recipe-level behaviour on tiny presets: losses, schedules, augmentation, samples, evaluation."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from PIL import Image
from torch import nn

from gan.protocols import Nets
from gan.testing import make_recipe, run_recipe
from gan.trainer import AdversarialTrainer
from gan_translation.common import linear_decay
from gan_translation.cyclegan import CycleGAN
from gan_translation.pix2pix import Pix2Pix
from gan_translation.stargan import StarGAN


class Identity(nn.Module):
    def forward(self, x, *label):
        return x


def _step_batch(recipe, phase_name):
    stage = recipe.stages()[0]
    phase = next(p for p in recipe.phases(stage) if p.name == phase_name)
    return phase, recipe.prepare_batch(recipe.next_batch(stage, phase))


def test_cycle_and_identity_losses_are_zero_for_identity_generators():
    r = make_recipe(CycleGAN)
    r.nets = Nets({**r.models, "G_AB": Identity(), "G_BA": Identity()})
    phase, (a, b) = _step_batch(r, "G")
    terms = r.generator_terms(a, b)
    for key in ("cycle_a", "cycle_b", "idt_a", "idt_b"):
        assert terms[key].item() == 0.0, key
    # while the real generators give positive terms (the check is not vacuous)
    r.nets = Nets(r.models)
    assert all(r.generator_terms(a, b)[k].item() > 0 for k in ("cycle_a", "idt_b"))


def test_cyclegan_loss_weights_follow_the_paper():
    r = make_recipe(CycleGAN, preset=None, data__image_size=16, data__load_size=16, ngf=4, ndf=4, n_blocks=1,
                    n_layers_d=2, data__embedded_size=16, batch_size=2)
    assert r.config.lambda_cycle == 10.0 and r.identity_weight == 5.0  # 0.5 λ
    assert r.config.pool_size == 50 and r.config.gan_loss == "least-squares"
    r.nets = Nets(r.models)
    phase, batch = _step_batch(r, "G")
    out = r.loss(phase, batch, 0, {})
    logs = out.logs
    expected = logs["adv_a"] + logs["adv_b"] + 10.0 * logs["cycle"] + 5.0 * logs["identity"]
    assert torch.allclose(out.loss.detach(), expected)


def test_stargan_reconstruction_loss_is_zero_for_an_identity_generator():
    r = make_recipe(StarGAN)
    r.nets = Nets({**r.models, "G": Identity()})
    phase, batch = _step_batch(r, "G")
    out = r.loss(phase, batch, 0, {})
    assert out.logs["rec"].item() == 0.0


def test_cyclegan_learning_rate_is_constant_then_decays_linearly_to_zero():
    f = linear_decay(total_steps=100, decay_steps=50)
    assert [f(s) for s in (0, 25, 49)] == [1.0, 1.0, 1.0]
    assert f(50) > f(75) > f(99) > 0.0 and f(100) == 0.0
    assert f(51) - f(50) == pytest.approx(f(99) - f(98))  # linear
    r = make_recipe(CycleGAN, steps=8)  # decay_steps=-1: the second half (paper)
    assert set(r.schedulers) == {"G", "D"}
    trainer = AdversarialTrainer(r, r.run)
    stage = r.stages()[0]
    used = []
    for _ in range(8):
        used.append(r.optimizers["G"].param_groups[0]["lr"])
        trainer.train_step(stage, r.phases(stage))  # steps every scheduler once
    assert used[:4] == [pytest.approx(2e-4)] * 4
    assert used[4:] == [pytest.approx(2e-4 * k / 5) for k in (4, 3, 2, 1)]
    assert r.optimizers["D"].param_groups[0]["lr"] == pytest.approx(0.0)


def test_stargan_phases_give_n_critic_discriminator_updates_per_generator_update():
    r = make_recipe(StarGAN, n_critic=5)
    d, g = r.phases(r.stages()[0])
    runs = {"D": 0, "G": 0}
    for step in range(20):
        for ph in (d, g):
            if step % ph.every == 0:
                runs[ph.name] += ph.repeats
    assert runs == {"D": 20, "G": 4}


def test_pix2pix_augmentation_crops_and_flips_input_and_target_together():
    r = make_recipe(Pix2Pix, data__image_size=16, data__load_size=24)
    a = torch.arange(2 * 3 * 24 * 24, dtype=torch.float32).reshape(2, 3, 24, 24)
    torch.manual_seed(3)
    x, y = r.augment(a, a.clone())
    assert x.shape == (2, 3, 16, 16) and torch.equal(x, y)
    torch.manual_seed(3)
    x2, _ = r.augment(a, a.clone())
    assert torch.equal(x, x2)  # from the seeded global RNG
    crops = {tuple(r.augment(a[:1], a[:1])[0][0, 0, 0, :2].tolist()) for _ in range(20)}
    assert len(crops) > 1  # crops and flips actually vary


def test_pix2pix_objective_is_gan_plus_100_l1_and_halved_d():
    r = make_recipe(Pix2Pix)
    assert r.config.lambda_l1 == 100.0 and r.config.lr == 2e-4 and (r.config.beta1, r.config.beta2) == (0.5, 0.999)
    r.nets = Nets(r.models)
    phase, batch = _step_batch(r, "G")
    out = r.loss(phase, batch, 0, {})
    assert torch.allclose(out.loss.detach(), out.logs["adv"] + 100.0 * out.logs["l1"])
    x, y = batch
    d_phase, _ = _step_batch(r, "D")
    with torch.no_grad():
        fake = r.models["G"](x)
    out_d = r.loss(d_phase, batch, 0, {})
    # D sees (input, output) pairs: 6 channels
    assert r.models["D"].model[0].in_channels == x.shape[1] + fake.shape[1]
    assert out_d.loss.item() > 0


def _png_size(path: Path) -> tuple[int, int]:
    with Image.open(path) as img:
        return img.size


@pytest.mark.parametrize("cls,columns,rows,progress", [(Pix2Pix, 3, 8, 8), (CycleGAN, 6, 6, 12), (StarGAN, 8, 9, 8)])
def test_sample_grids_have_the_documented_layout(tmp_path, cls, columns, rows, progress):
    """The grid (captioned: column headers, StarGAN row labels; small images enlarged by a whole
    factor so captions fit) and one more row of progress.png per snapshot."""
    from gan.grid_labels import MIN_CELL
    r = make_recipe(cls)
    path, prog = r.save_samples(tmp_path, 7)
    assert path.exists() and "0000007" in path.name and prog.name == "progress.png"
    s, pad = r.config.data.image_size, 2
    k = -(-MIN_CELL // s)
    w, h = _png_size(path)
    if cls is StarGAN:  # row labels on the left
        assert h == k * (rows * (s + pad) + pad) and 0 < w - k * (columns * (s + pad) + pad) <= 160
    else:  # a caption row on top
        assert w == k * (columns * (s + pad) + pad) and 0 < h - k * (rows * (s + pad) + pad) <= 30
    assert _png_size(prog) == (progress * (s + pad) + pad, s + 2 * pad)
    r.save_samples(tmp_path, 8)
    assert _png_size(prog) == (progress * (s + pad) + pad, 2 * (s + 2 * pad))


@pytest.mark.parametrize("cls", [Pix2Pix, CycleGAN, StarGAN])
def test_evaluate_and_sample_do_not_disturb_training_state(cls):
    r = make_recipe(cls)
    torch.manual_seed(5)
    rng = torch.get_rng_state()
    params = {(n, k): v.clone() for n, m in r.models.items() for k, v in m.state_dict().items()}
    modes = [m.training for mod in r.models.values() for m in mod.modules()]
    first = r.evaluate()
    r.sample(3, seed=1)
    assert torch.equal(rng, torch.get_rng_state())
    assert modes == [m.training for mod in r.models.values() for m in mod.modules()]
    assert all(torch.equal(params[n, k], v) for n, m in r.models.items() for k, v in m.state_dict().items())
    second = r.evaluate()
    assert {k: v for k, v in first.items() if k != "protocol"} == \
           {k: v for k, v in second.items() if k != "protocol"}
    assert "protocol" in first


def test_pix2pix_evaluate_reports_l1_psnr_ssim_on_held_out_pairs():
    r = make_recipe(Pix2Pix)
    out = r.evaluate(full=True)
    assert {"l1", "psnr", "ssim", "l1_input"} <= set(out)
    assert out["protocol"]["pairs"] == 16  # data.embedded_size 32 → 16 held-out pairs (minimum)
    assert 0 <= out["l1"] <= 2 and -1 <= out["ssim"] <= 1


def test_pix2pix_perfect_generator_scores_perfectly():
    r = make_recipe(Pix2Pix)

    class Oracle(nn.Module):
        """Returns the matching held-out target for each held-out input."""

        def __init__(self, pairs):
            super().__init__()
            self.lookup = {a.numpy().tobytes(): b for a, b in zip(*pairs)}

        def forward(self, x):
            return torch.stack([self.lookup[xi.numpy().tobytes()] for xi in x])

    from gan_translation.datasets import as_float
    a, b = r.pairs.test
    r.models["G"] = Oracle((as_float(a), as_float(b)))
    out = r.evaluate(full=True)
    assert out["l1"] == 0.0 and out["ssim"] == pytest.approx(1.0) and out["psnr"] > 60


def test_cyclegan_state_holds_pool_contents_and_rng(tmp_path):
    r = make_recipe(CycleGAN)
    run_recipe(r, steps=3)
    state = r.extra_state()
    assert state["pool_a"]["images"].shape[0] == min(3, 3 * r.config.batch_size)
    assert state["pool_b"]["rng"].dtype == torch.uint8
    fresh = make_recipe(CycleGAN)
    fresh.load_extra_state(state)
    assert torch.equal(fresh.pool_a.state_dict()["images"], state["pool_a"]["images"])
    assert fresh.stream_a.state_dict() == state["streams"]["stream_a"]


@pytest.mark.parametrize("cls", [Pix2Pix, CycleGAN, StarGAN])
def test_export_samples_writes_images_and_a_grid(tmp_path, cls):
    r = make_recipe(cls)
    lines = r.export_samples(3, tmp_path / "out", seed=2, nice=True)
    files = [Path(p) for p in lines]
    assert len(files) == 4 and all(f.exists() for f in files)
    assert _png_size(files[0]) == (r.config.data.image_size, r.config.data.image_size)


def test_bad_config_values_are_one_line_errors():
    from gan.errors import GanError
    with pytest.raises(GanError, match="n_layers_d"):
        make_recipe(Pix2Pix, data__image_size=16, data__load_size=16, n_layers_d=3)
    with pytest.raises(GanError, match="data.load_size"):
        make_recipe(CycleGAN, data__image_size=16, data__load_size=12)
    with pytest.raises(GanError, match="batch_size"):
        make_recipe(StarGAN, batch_size=64)
    with pytest.raises(GanError, match="paired"):
        make_recipe(Pix2Pix, data=make_recipe(CycleGAN).domains)


@pytest.mark.parametrize("cls, key, value, fragment", [
    (Pix2Pix, "ngf", 0, "ngf=0: expected a positive integer"),
    (Pix2Pix, "lambda_l1", -1.0, "lambda_l1=-1.0: a loss weight must be 0 or more"),
    (CycleGAN, "ndf", 0, "ndf=0: expected a positive integer"),
    (CycleGAN, "pool_size", -1, "pool_size=-1: expected 0 or more"),
    (StarGAN, "g_conv_dim", 0, "g_conv_dim=0: expected a positive integer"),
    (StarGAN, "n_critic", 0, "n_critic=0: expected a positive integer"),
    (StarGAN, "lambda_rec", -2.0, "lambda_rec=-2.0: a loss weight must be 0 or more"),
])
def test_values_no_network_can_use_are_one_line_errors(cls, key, value, fragment):
    from gan.errors import GanError
    with pytest.raises(GanError) as e:
        make_recipe(cls, **{key: value})
    assert fragment in str(e.value) and "\n" not in str(e.value)
