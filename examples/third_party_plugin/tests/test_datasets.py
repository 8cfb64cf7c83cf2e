"""The datasets: shapes generated in code and points read from a CSV file."""

from pathlib import Path

import pytest
import torch

from gan import GanError
from gan.testing import fresh_manager, make_recipe
from gan_example_plugin.hinge_mlp import HingeMLP
from gan_example_plugin.shapes import Spiral, TwoMoons, csv_points, read_points_csv


@pytest.fixture
def pm():
    return fresh_manager(("example", "gan_example_plugin.plugin"))


def test_datasets_are_registered_as_points(pm):
    reg = pm.registry("dataset")
    for name in ("two-moons", "spiral", "csv-points"):
        entry = reg.entry(name)
        assert entry.plugin == "example" and entry.meta["kind"] == "points"


def test_two_moons_lies_on_two_half_circles():
    pts = TwoMoons(noise=0.0).sample(2000, torch.Generator().manual_seed(0))
    x, y = pts[:, 0] + 0.5, pts[:, 1] + 0.25  # undo the centring
    upper = (x.square() + y.square() - 1).abs() < 1e-5
    lower = ((x - 1).square() + (y - 0.5).square() - 1).abs() < 1e-5
    assert bool((upper | lower).all())
    assert 0.4 < upper.float().mean() < 0.6  # both moons, about equally


def test_spiral_arms_have_radius_up_to_one_and_are_symmetric():
    pts = Spiral(noise=0.0).sample(4000, torch.Generator().manual_seed(0))
    r = pts.norm(dim=1)
    assert r.min() >= 0.05 - 1e-6 and r.max() <= 1.0 + 1e-6
    assert pts.mean(0).abs().max() < 0.05  # two arms rotated by pi cancel out


def test_shapes_are_deterministic_given_a_generator():
    a = Spiral().sample(10, torch.Generator().manual_seed(3))
    b = Spiral().sample(10, torch.Generator().manual_seed(3))
    assert torch.equal(a, b)


def test_shapes_refuse_a_data_root(pm, tmp_path):
    with pytest.raises(GanError, match="generated in code"):
        pm.registry("dataset").resolve("two-moons")(tmp_path, None)


def test_csv_points_reads_header_comments_and_folders(tmp_path: Path):
    (tmp_path / "points.csv").write_text("x,y\n# a comment\n0,1\n\n2.5,-3\n1e-1,4\n")
    data = csv_points(tmp_path, None)
    assert data.dim == 2
    assert torch.equal(data.points, torch.tensor([[0, 1], [2.5, -3], [0.1, 4]], dtype=torch.float32))
    drawn = data.sample(50, torch.Generator().manual_seed(0))
    assert drawn.shape == (50, 2)
    assert all(any(torch.equal(p, q) for q in data.points) for p in drawn)


@pytest.mark.parametrize("text, message", [
    ("0,1\n2,3,4\n", "line 2: expected 2 numbers per row, got 3"),
    ("0,1\n2,abc\n", "line 2: expected comma-separated numbers"),
    ("0,1\n2,nan\n", "line 2: non-finite value"),
    ("x,y\n0,1\n", "expected at least 2 rows"),
])
def test_csv_points_bad_files_are_one_line_errors(tmp_path: Path, text: str, message: str):
    f = tmp_path / "bad.csv"
    f.write_text(text)
    with pytest.raises(GanError, match=message) as exc:
        read_points_csv(f)
    assert str(f) in str(exc.value) and "\n" not in str(exc.value)


def test_csv_points_needs_an_existing_data_root(tmp_path: Path):
    with pytest.raises(GanError, match="needs --data-root"):
        csv_points(None, None)
    with pytest.raises(GanError, match="no such file"):
        csv_points(tmp_path / "missing.csv", None)
    with pytest.raises(GanError, match="no such file"):
        csv_points(tmp_path, None)  # a folder without points.csv


def test_recipe_trains_on_csv_points_of_any_dimension(tmp_path: Path):
    f = tmp_path / "p3.csv"
    rows = torch.randn(64, 3, generator=torch.Generator().manual_seed(0))
    f.write_text("\n".join(",".join(f"{v:.5f}" for v in r) for r in rows.tolist()))
    recipe = make_recipe(HingeMLP, data=csv_points(f, None))
    assert recipe.sample(5, seed=0).shape == (5, 3)
    assert recipe.save_samples(tmp_path, 0) == []  # no scatter plot for 3-D points


def test_recipe_rejects_data_without_a_sampler():
    with pytest.raises(GanError, match="sample"):
        make_recipe(HingeMLP, data=torch.zeros(10, 2))
