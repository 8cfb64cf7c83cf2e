import time

import pytest
import torch

from gan.errors import GanError
from gan.testing import PluginContract, make_recipe, run_recipe
from gan_toy.toy import ToyGAN, gaussian_1d, grid, make_distribution, ring


class TestContract(PluginContract):
    plugin = "gan_toy.plugin"


def test_distributions_have_the_papers_layout():
    r = ring()
    assert r.modes.shape == (8, 2) and torch.allclose(r.modes.norm(dim=1), torch.full((8,), 2.0))
    g = grid()
    assert g.modes.shape == (25, 2) and g.modes.min() == -4 and g.modes.max() == 4
    x = gaussian_1d().sample(20000, torch.Generator().manual_seed(0))
    assert abs(x.mean() - 4.0) < 0.02 and abs(x.std() - 0.5) < 0.02
    with pytest.raises(GanError, match="takes no --data-root"):
        make_distribution("ring-8")("/tmp", None)


def test_evaluation_counts_modes_exactly():
    r = make_recipe(ToyGAN, eval__samples=800)
    # a "generator" that outputs exact samples of 3 of the 8 modes
    modes = r.target.modes[:3]

    class Fake(torch.nn.Module):
        def forward(self, z):
            k = torch.arange(len(z)) % 3
            return modes[k] + 0.01 * torch.randn(len(z), 2)

    r.models["G"] = Fake()
    res = r.evaluate()
    assert res["modes_covered"] == 3 and res["high_quality"] > 0.95


def test_scatter_plot_is_written(tmp_path):
    r = make_recipe(ToyGAN, plot=True)
    paths = r.save_samples(tmp_path, 7)
    assert paths and paths[0].name == "scatter-00000007.png" and paths[0].stat().st_size > 1000


@pytest.fixture
def one_thread():
    # One thread makes CPU float reductions, hence the GAN's trajectory, identical on every machine.
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def test_non_saturating_gan_covers_ring_modes(one_thread, capsys):
    """The default config (3,000 steps, ~20 s on an idle 2-core CPU) covers >= 6 of the 8 modes."""
    r = make_recipe(ToyGAN, preset=None)
    assert r.config.loss == "non-saturating"
    before = r.evaluate()
    start = time.perf_counter()
    trainer = run_recipe(r, steps=r.config.steps)
    res = trainer.evaluate()
    with capsys.disabled():
        print(f"\nring-8: {res['eval/modes_covered']:.0f}/8 modes, high-quality "
              f"{res['eval/high_quality']:.2f}, W1 {before['wasserstein']:.2f} -> "
              f"{res['eval/wasserstein']:.2f} in {time.perf_counter() - start:.1f}s")
    assert res["eval/modes_covered"] >= 6, res
    assert res["eval/high_quality"] > 0.5, res
    assert res["eval/wasserstein"] < before["wasserstein"] / 3, (before, res)


def test_one_d_gaussian_is_learned(one_thread):
    r = make_recipe(ToyGAN, preset=None, data=gaussian_1d(), steps=600)
    before = r.evaluate()["wasserstein"]
    run_recipe(r)
    after = r.evaluate()["wasserstein"]
    assert after < before / 5, (before, after)
    x = r.sample(4000, seed=0)
    assert abs(x.mean() - 4.0) < 0.25 and abs(x.std() - 0.5) < 0.25


@pytest.mark.parametrize("key, value, fragment", [
    ("hidden", 0, "hidden=0: expected a positive integer"),
    ("z_dim", 0, "z_dim=0: expected a positive integer"),
    ("eval__samples", 0, "eval.samples=0: expected a value >= 1"),
    ("eval_samples", 0, "eval.samples=0: expected a value >= 1"),  # the old name maps to the new
    ("layers", -1, "layers=-1"),
])
def test_sizes_no_network_can_use_are_one_line_errors(key, value, fragment):
    with pytest.raises(GanError) as e:
        make_recipe(ToyGAN, **{key: value})
    assert fragment in str(e.value) and "\n" not in str(e.value)


def test_metz2017_preset_builds_the_papers_networks():
    """Metz et al. 2017 appendix A: D scales its input by 1/4, then one ReLU layer of 128; G two ReLU
    layers of 128 from z of 256; orthogonal weights with gain 0.8; Adam 1e-4; minimax loss."""
    from torch import nn
    r = make_recipe(ToyGAN, preset="metz2017")
    D, G = r.models["D"], r.models["G"]
    assert [type(m).__name__ for m in D] == ["Scale", "Linear", "ReLU", "Linear"] and D[0].factor == 0.25
    assert D[1].out_features == 128 and G[0].in_features == 256
    assert [type(m) for m in G] == [nn.Linear, nn.ReLU, nn.Linear, nn.ReLU, nn.Linear]
    w = G[2].weight  # square 128×128: orthogonal × 0.8 means W Wᵀ = 0.64 I
    assert torch.allclose(w @ w.T, 0.64 * torch.eye(128), atol=1e-5) and not G[2].bias.any()
    assert r.config.loss == "minimax" and r.optimizers["D"].param_groups[0]["lr"] == 1e-4
    x = torch.randn(4, 2)
    # feature matching's f is D's last hidden layer, after the input scaling
    assert torch.equal(r.d_features(x, D), torch.relu(D[1](x * 0.25)))


def test_bad_activation_is_one_clear_line():
    with pytest.raises(GanError, match="--set d_act='gelu': expected one of relu, leaky-relu, tanh"):
        make_recipe(ToyGAN, d_act="gelu")
