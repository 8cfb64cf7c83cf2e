"""The plugin through ganforge's command line, in process (the core suite checks the installed
entry point in a subprocess)."""

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from gan import GanError
from gan.cli import build_cli
from gan.testing import fresh_manager


@pytest.fixture
def cli():
    # commands reach this manager as click's ctx.obj, which the root `gan` group sets
    return build_cli(fresh_manager(("example", "gan_example_plugin.plugin")))


def invoke(cli, args):
    result = CliRunner().invoke(cli, args, catch_exceptions=True)
    if result.exception and not isinstance(result.exception, (SystemExit, GanError)):
        raise result.exception
    return result


def test_preview_command_draws_a_png(cli, tmp_path: Path):
    out = tmp_path / "moons.png"
    result = invoke(cli, ["example-preview", "two-moons", "-n", "300", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == str(out)
    with Image.open(out) as img:
        assert img.size == (400, 400)
        assert len(img.getcolors(maxcolors=10_000)) > 1  # not a blank canvas


def test_preview_of_an_unknown_dataset_lists_the_choices(cli, tmp_path: Path):
    result = invoke(cli, ["example-preview", "two-moon", "--out", str(tmp_path / "x.png")])
    assert isinstance(result.exception, GanError)
    assert "two-moons" in str(result.exception) and "spiral" in str(result.exception)


def test_run_by_plugin_name_trains_the_default_model_on_a_csv_file(cli, tmp_path: Path):
    data = tmp_path / "points.csv"
    data.write_text("\n".join(f"{i % 7 / 7:.3f},{i % 5 / 5:.3f}" for i in range(100)))
    run_dir = tmp_path / "run"
    result = invoke(cli, ["run", "--plugin", "example", "--dataset", "csv-points",
                          "--data-root", str(data), "--preset", "tiny", "--device", "cpu",
                          "--run-dir", str(run_dir), "--set", "run.progress=false"])
    assert result.exit_code == 0, result.output
    assert "completed at step 4" in result.output
    assert '"model": "hinge-mlp"' in (run_dir / "config.json").read_text()
    evals = [json.loads(x) for x in (run_dir / "metrics.jsonl").read_text().splitlines() if "eval/mmd" in x]
    assert [e["step"] for e in evals] == [0, 4]  # the untrained baseline, then the end of training
