"""The example third-party plugin, found through its *installed* entry point.

examples/third_party_plugin is a separate distribution (``ganforge-example-plugin``) that declares
an entry point ``example = gan_example_plugin.plugin`` in the group ``ganforge.plugins``. CI installs
it before running the tests::

    pip install -e examples/third_party_plugin

These tests run ``gan`` in a subprocess, exactly as a user would, so the plugin can only be there if
ganforge discovered it through ``importlib.metadata`` — nothing here registers it by hand.

Not installed: the tests are skipped on a developer machine, but fail when the environment variable
``CI`` is set (to anything but ``0``/``false``/``no``), so a missing install step cannot hide them.
"""

from __future__ import annotations

import functools
import importlib.metadata as md
import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from gan.plugins import DISABLE_ENV, ENTRY_POINT_GROUP, NO_AUTOLOAD_ENV

DISTRIBUTION = "ganforge-example-plugin"
PLUGIN = "example"  # the entry-point name = the user-visible plugin name
MODULE = "gan_example_plugin.plugin"
MODEL = "hinge-mlp"
DATASETS = {"two-moons", "spiral", "csv-points"}
METRIC = "knn-precision-recall"
INSTALL = "pip install -e examples/third_party_plugin"


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()  # PEP 503 name normalization


def _under_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


@functools.cache
def _find_installed() -> tuple[md.EntryPoint | None, str]:
    found = [ep for ep in md.entry_points(group=ENTRY_POINT_GROUP) if ep.name == PLUGIN]
    ours = [ep for ep in found if ep.dist is not None and _normalize(ep.dist.name) == DISTRIBUTION]
    if ours:
        return ours[0], ""
    others = ", ".join(f"{ep.value} from {ep.dist.name if ep.dist else '?'}" for ep in found)
    return None, (f"the example plugin ({DISTRIBUTION}) is not installed: no entry point "
                  f"{PLUGIN!r} in group {ENTRY_POINT_GROUP!r}"
                  + (f" (found {others} instead)" if others else "") + f"; run `{INSTALL}`")


def installed_entry_point() -> md.EntryPoint:
    """The example's installed entry point. Without it: skip, or fail when CI is set.

    Called in each test body (not in a fixture), so that under CI the missing install is reported
    as a test failure rather than a setup error.
    """
    ep, reason = _find_installed()
    if ep is None:
        if _under_ci():
            pytest.fail(f"{reason}. CI is set, so this fails: a missing install step must not "
                        f"silently skip the third-party plugin tests", pytrace=False)
        pytest.skip(reason)
    assert ep.value == MODULE, f"entry point {PLUGIN!r} points at {ep.value!r}, expected {MODULE!r}"
    return ep


def gan(*args: str, cwd: Path, env: dict[str, str] | None = None,
        timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run ``python -m gan ARGS`` in a fresh interpreter, as a user would."""
    full_env = {k: v for k, v in os.environ.items() if k not in (DISABLE_ENV, NO_AUTOLOAD_ENV)}
    # Tiny CPU models: several OpenMP threads on a busy CI machine only slow them down.
    full_env.setdefault("OMP_NUM_THREADS", "1")
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "gan", *args], cwd=cwd, env=full_env,
                          capture_output=True, text=True, timeout=timeout)


def plugins_json(tmp_path: Path, *flags: str, env: dict[str, str] | None = None) -> list[dict[str, Any]]:
    proc = gan(*flags, "plugins", "--json", cwd=tmp_path, env=env)
    assert proc.returncode == 0, f"`gan plugins --json` failed ({proc.returncode}):\n{proc.stderr}"
    try:
        return json.loads(proc.stdout)
    except json.JSONDecodeError as e:
        raise AssertionError(f"`gan plugins --json` printed no JSON ({e}):\n{proc.stdout[:2000]}") from None


def test_gan_plugins_lists_the_installed_example(tmp_path: Path) -> None:
    installed = installed_entry_point()
    rows = plugins_json(tmp_path)
    mine = [r for r in rows if r["name"] == PLUGIN]
    assert len(mine) == 1, f"plugin {PLUGIN!r} listed {len(mine)} times: {[r['name'] for r in rows]}"
    row = mine[0]
    assert row["status"] == "loaded", f"plugin {PLUGIN!r} did not load: {row['error']}"
    assert row["builtin"] is False
    assert row["module"] == MODULE
    assert _normalize(row["distribution"]) == DISTRIBUTION
    assert row["version"] == md.version(DISTRIBUTION) == installed.dist.version
    assert {"gan_register_models", "gan_register_datasets", "gan_register_metrics",
            "gan_register_commands"} <= set(row["hooks"])
    assert MODEL in row["provides"]["model"]
    assert DATASETS <= set(row["provides"]["dataset"])
    assert METRIC in row["provides"]["metric"]
    # Provenance: no other plugin claims the example's model.
    claimed = [r["name"] for r in rows if MODEL in r["provides"]["model"]]
    assert claimed == [PLUGIN]


@pytest.mark.parametrize("how", ["-p no:example", f"{NO_AUTOLOAD_ENV}=1"])
def test_the_example_comes_only_from_its_entry_point(tmp_path: Path, how: str) -> None:
    installed_entry_point()
    if how.startswith("-p"):
        rows = plugins_json(tmp_path, "-p", f"no:{PLUGIN}")
        row = next(r for r in rows if r["name"] == PLUGIN)
        assert row["status"] == "blocked"
    else:
        # Without entry-point loading the plugin is gone: nothing else in ganforge provides it.
        rows = plugins_json(tmp_path, env={NO_AUTOLOAD_ENV: "1"})
        assert PLUGIN not in [r["name"] for r in rows]
    assert all(MODEL not in r["provides"]["model"] for r in rows)


def test_gan_run_trains_the_example(tmp_path: Path) -> None:
    installed_entry_point()
    run_dir = tmp_path / "run"
    proc = gan("run", "--plugin", MODEL, "--preset", "tiny", "--run-dir", str(run_dir),
               "--device", "cpu", cwd=tmp_path)
    assert proc.returncode == 0, f"`gan run` exited with {proc.returncode}:\n{proc.stderr[-3000:]}"
    assert "completed at step 4" in proc.stdout, proc.stdout

    config = json.loads((run_dir / "config.json").read_text(encoding="utf-8"))
    assert config["model"] == MODEL and config["data"] == "two-moons"

    records = [json.loads(line) for line in
               (run_dir / "metrics.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    train = [r for r in records if "D/loss" in r]
    evals = [r for r in records if "eval/mmd" in r]
    assert train and train[-1]["step"] == 4, records
    assert all(math.isfinite(r[k]) for r in train for k in ("D/loss", "G/loss"))
    assert evals and math.isfinite(evals[-1]["eval/mmd"]), records

    checkpoints = sorted((run_dir / "checkpoints").glob("ckpt-*.pt"))
    assert checkpoints, (f"`gan run` wrote no checkpoint under {run_dir / 'checkpoints'}; "
                         f"run directory holds: {sorted(p.name for p in run_dir.iterdir())}")

    # The checkpoint is usable: `gan sample` rebuilds the model from it.
    sample = gan("sample", "--run-dir", str(run_dir), "-n", "3", "--device", "cpu", cwd=tmp_path)
    assert sample.returncode == 0, sample.stderr[-3000:]
    points = [line.split(",") for line in sample.stdout.split()]
    assert len(points) == 3 and all(len(p) == 2 for p in points), sample.stdout
    assert all(math.isfinite(float(v)) for p in points for v in p)
