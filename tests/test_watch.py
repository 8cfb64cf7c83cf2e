"""Watching a run: snapshot cadence and index, the per-stage progress bars, TensorBoard images,
and ``gan report`` (contents, offline, while a run is in progress, --compare).

The browser check of the report is in ``test_report_browser.py``.
"""

import io
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
from torch import nn

from gan import LossOutput, Phase, Recipe, Stage
from gan.config import RunConfig
from gan.snapshots import SnapshotSchedule, read_index
from gan.testing import fresh_manager, run_recipe


@dataclass
class WatchedConfig:
    warmup: int = 20
    steps: int = 40
    lr: float = 0.05


class WatchedGAN(Recipe):
    """Two stages in different units, a grid PNG and a text file per snapshot (drawn from G's
    weights, so consecutive snapshots differ and none is blank)."""

    name = "watched-gan"
    Config = WatchedConfig
    data_kind = "points"
    presets = {"tiny": {}}

    def __init__(self, config, device="cpu", data=None, run=None):
        super().__init__(config, device, data, run)
        self.models["G"] = nn.Linear(2, 2)
        self.models["D"] = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 1))
        for k in ("G", "D"):
            self.optimizers[k] = torch.optim.SGD(self.models[k].parameters(), lr=config.lr)

    def stages(self):
        return [Stage("warmup", self.config.warmup, unit="batch"), Stage("adversarial", self.config.steps, unit="round")]

    def phases(self, stage):
        if stage.name == "warmup":
            return [Phase("W", "G", "G")]
        return [Phase("D", "D", "D"), Phase("G", "G", "G", fresh_batch=False)]

    def next_batch(self, stage, phase):
        return torch.randn(16, 2) + 3.0

    def loss(self, phase, batch, step, scratch):
        n = self.nets
        z = torch.randn(batch.shape[0], 2)
        if phase.name == "W":
            loss = (n.G(z) - batch).pow(2).mean()
            return LossOutput(loss, {"mse": loss.detach()})
        if phase.name == "D":
            real, fake = n.D(batch), n.D(n.G(z).detach())
            loss = nn.functional.softplus(-real).mean() + nn.functional.softplus(fake).mean()
            return LossOutput(loss, {"real": real.mean().detach(), "fake": fake.mean().detach()})
        return LossOutput(nn.functional.softplus(-n.D(n.G(z))).mean())

    def sample(self, n, seed=None):
        g = torch.Generator().manual_seed(0 if seed is None else seed)
        return self.eval_model("G")(torch.randn(n, 2, generator=g)).detach()

    def evaluate(self, full=False):
        pts = self.sample(64)
        return {"mean_dist": float((pts.mean(0) - 3.0).norm()), "protocol": {"samples": 64, "seed": 0}}

    def save_samples(self, directory, step):
        from gan.images import save_grid
        w = self.models["G"].weight.detach().flatten()
        yy, xx = torch.meshgrid(torch.linspace(-1, 1, 12), torch.linspace(-1, 1, 12), indexing="ij")
        imgs = torch.stack([torch.stack([torch.sin(3 * xx * (1 + i) + w[0] * 4), torch.cos(3 * yy + w[1] * 4 + i),
                                         torch.sin(xx * yy * 5 + w[2] * 4 - i)]) for i in range(8)])
        grid = save_grid(imgs, Path(directory) / f"grid-{step:08d}.png", nrow=4,
                         column_labels=("input", "output", "target", "rec"))
        text = Path(directory) / f"text-{step:08d}.txt"
        text.write_text("\n".join(" ".join(f"{v:.2f}" for v in p) for p in self.sample(4).tolist()) + "\n")
        return [grid, text]


def watched(tmp_path, steps=None, **run_overrides):
    run = RunConfig(progress=False, tensorboard=False)
    r = WatchedGAN(WatchedConfig(), run=run)
    return run_recipe(r, steps=steps, run_dir=tmp_path, log_every=5, **run_overrides)


# --- cadence --------------------------------------------------------------------------------------
def test_schedule_steps_fraction_and_wall_time():
    now = [0.0]
    s = SnapshotSchedule(RunConfig(sample_fraction=0.05, sample_minutes=1.0), clock=lambda: now[0])
    assert s.interval(1000) == 50 and s.interval(8) == 1 and s.interval(0) == 0
    assert s.due(50, 1000) and not s.due(51, 1000)
    assert not s.due(1000, 1000, final=True)  # the stage end snapshots anyway: never twice
    now[0] = 59.0
    assert not s.due(51, 1000)
    now[0] = 61.0
    assert s.due(51, 1000)  # a slow stage still shows something every minute
    s.taken()
    assert not s.due(52, 1000)
    fixed = SnapshotSchedule(RunConfig(sample_every=7, sample_minutes=0))
    assert fixed.interval(1000) == 7 and fixed.due(14, 1000) and not fixed.due(15, 1000)
    off = SnapshotSchedule(RunConfig(sample_fraction=0, sample_minutes=0))
    assert off.interval(1000) == 0 and not off.due(500, 1000)


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    """One complete two-stage run with the default snapshot cadence (shared by the tests below)."""
    path = tmp_path_factory.mktemp("finished")
    watched(path)
    return path


def test_snapshots_by_default_at_5_percent_of_each_stage_and_at_stage_ends(finished_run):
    tmp_path = finished_run
    snaps = read_index(tmp_path / "samples")
    # warmup: 20 steps → every step (ceil 1); adversarial: 40 steps → every 2nd step
    want = list(range(1, 21)) + list(range(22, 61, 2))
    assert [s["step"] for s in snaps] == want
    assert {s["stage"] for s in snaps if s["step"] <= 20} == {"warmup"}
    assert snaps[-1]["stage"] == "adversarial" and snaps[-1]["stage_step"] == 40
    for s in snaps:
        assert [Path(f).suffix for f in s["files"]] == [".png", ".txt"]
        assert all((tmp_path / "samples" / f).is_file() for f in s["files"])
    status = json.loads((tmp_path / "status.json").read_text())
    assert status["status"] == "completed" and status["step"] == 60
    assert [(s["name"], s["first_step"], s["last_step"], s["unit"]) for s in status["stages"]] == [
        ("warmup", 1, 20, "batch"), ("adversarial", 21, 60, "round")]


def test_sample_every_and_cut_runs_snapshot_once_per_step(tmp_path):
    watched(tmp_path, steps=25, sample_every=10, sample_minutes=0)
    steps = [s["step"] for s in read_index(tmp_path / "samples")]
    # stage warmup: step 10, stage end 20; adversarial: stage step 10 = step 30 > cut at 25 (snapshot)
    assert steps == [10, 20, 25]


def test_snapshots_draw_from_fixed_latents(tmp_path):
    """Two snapshots of unchanged weights are identical (the text of sample(seed) included)."""
    run = RunConfig(progress=False, tensorboard=False)
    r = WatchedGAN(WatchedConfig(warmup=2, steps=2, lr=0.0), run=run)
    run_recipe(r, run_dir=tmp_path, log_every=1)
    texts = sorted((tmp_path / "samples").glob("text-*.txt"))
    assert len(texts) == 4 and len({t.read_text() for t in texts}) == 1


# --- progress bars --------------------------------------------------------------------------------
class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_one_progress_bar_per_stage_in_its_units_with_its_own_metrics(tmp_path, monkeypatch):
    err = _Terminal()
    monkeypatch.setattr(sys, "stderr", err)
    run = RunConfig(progress=True, tensorboard=False)
    r = WatchedGAN(WatchedConfig(warmup=10, steps=10), run=run)
    run_recipe(r, run_dir=tmp_path, log_every=5, progress=True)
    out = err.getvalue()
    finals = {}
    for frame in re.split(r"[\r\n]", out):
        m = re.match(r"\[(\d)/2\] (\w+):", frame.strip())
        if m:
            finals[m.group(2)] = frame.strip()
    assert set(finals) == {"warmup", "adversarial"}, out[-2000:]
    assert "10/10" in finals["warmup"] and ("batch/s" in finals["warmup"] or "s/batch" in finals["warmup"])
    assert "round/s" in finals["adversarial"] or "s/round" in finals["adversarial"]
    assert "W/mse" in finals["warmup"] and "D/loss" not in finals["warmup"]
    assert "D/loss" in finals["adversarial"] and "W/mse" not in finals["adversarial"]


def test_progress_is_quiet_off_a_terminal_or_when_disabled(tmp_path, monkeypatch):
    for stream, progress in ((io.StringIO(), True), (_Terminal(), False)):
        monkeypatch.setattr(sys, "stderr", stream)
        r = WatchedGAN(WatchedConfig(warmup=3, steps=3), run=RunConfig(progress=progress, tensorboard=False))
        run_recipe(r, run_dir=None, log_every=1, progress=progress)
        assert stream.getvalue() == ""


# --- TensorBoard ----------------------------------------------------------------------------------
def test_tensorboard_shows_sample_grids_beside_the_scalars(tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    pm = fresh_manager(("tensorboard", "gan.tensorboard_logger"))
    r = WatchedGAN(WatchedConfig(warmup=2, steps=2), run=RunConfig(progress=False))
    run_recipe(r, run_dir=tmp_path, pm=pm, log_every=1, tensorboard=True)
    acc = EventAccumulator(str(tmp_path / "tensorboard"), size_guidance={"images": 0})
    acc.Reload()
    assert "samples/grid" in acc.Tags()["images"]
    assert [e.step for e in acc.Images("samples/grid")] == [1, 2, 3, 4]
    assert acc.Images("samples/grid")[0].width > 100
    assert "W/loss" in acc.Tags()["scalars"]


# --- gan report -----------------------------------------------------------------------------------
def test_report_of_a_finished_run(finished_run):
    from gan.report import render
    page = render(finished_run)
    assert 'class="pill ok">completed' in page
    assert "Stage <code>warmup</code>" in page and "Stage <code>adversarial</code>" in page
    assert page.count('<svg class="chart"') >= 5  # eval + W + D + G + speed charts
    assert page.count("data:image/png;base64,") >= 17  # latest + 16 timeline grids
    assert "16 of 40 snapshots" in page and "mean_dist" in page
    assert "ganforge <code>" in page and "torch <code>" in page  # library versions
    _assert_offline(page)


def _assert_offline(page):
    assert "<script" not in page.lower()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page, re.I)
    assert not re.search(r"url\(\s*['\"]?(https?:)?//|@import", page, re.I)


def fake_run(root: Path, *, torn: bool = True, alarms: bool = True, resumes: bool = True, t0: float | None = None) -> Path:
    """A run directory as a run in progress leaves it, written by hand (no training); its records
    end 100 s before now unless ``t0`` (the time of step 0) says otherwise."""
    import time
    t0 = time.time() - 400 if t0 is None else t0
    from gan.images import append_progress_row, save_grid
    root.mkdir(parents=True)
    (root / "config.json").write_text(json.dumps({
        "model": "dcgan", "data": "mnist", "data_root": "/data/mnist", "config": {"lr": 2e-4, "eval": {"samples": 500}},
        "run": {"seed": 0}, "versions": {"ganforge": "0.1.0", "torch": "2.x"}}))
    (root / "status.json").write_text(json.dumps({"status": "running", "step": 300, "total_steps": 1000,
                                                  "stages": [{"name": "train", "steps": 1000, "unit": "step",
                                                              "first_step": 1, "last_step": 1000}]}))
    lines = []
    for s in range(10, 310, 10):
        lines.append({"step": s, "stage": "train", "time": t0 + s, "D/loss": 1.3 - s / 1000,
                      "G/loss": 0.7 + s / 500, "D/acc_real": 0.5 + s / 1000, "time/steps_per_s": 4.0})
    lines.append({"step": 0, "stage": "train", "time": t0, "eval/fid": 300.0,
                  "protocol": {"n_fake": 2000, "extractor": "mnist-classifier", "torchmetrics": "1.9.0"}})
    lines.append({"step": 300, "stage": "train", "time": t0 + 300, "eval/fid": 120.5,
                  "protocol": {"n_fake": 2000, "extractor": "mnist-classifier", "torchmetrics": "1.9.0"}})
    if alarms:
        lines.append({"alarm": "d_wins", "step": 250, "stage": "train", "acc_real": 0.995, "message": "D wins"})
    text = "".join(json.dumps(x) + "\n" for x in lines)
    if torn:
        text += '{"step": 310, "stage": "tr'  # the run is writing this line right now
    (root / "metrics.jsonl").write_text(text)
    samples = root / "samples"
    for s in (100, 200, 300):
        t = torch.linspace(-1, 1, 16)
        img = torch.stack([t.view(1, -1).expand(16, 16) * (s / 300), t.view(-1, 1).expand(16, 16), -t.view(1, -1).expand(16, 16)])
        save_grid(img.unsqueeze(0).repeat(4, 1, 1, 1), samples / f"samples-{s:08d}.png", nrow=2)
        append_progress_row(samples / "progress.png", img.unsqueeze(0).repeat(4, 1, 1, 1))
    (samples / "snapshots.jsonl").write_text(
        "".join(json.dumps({"step": s, "stage": "train", "time": t0 + s, "files": [f"samples-{s:08d}.png", "progress.png"]}) + "\n"
                for s in (100, 200, 300)) + '{"step": 400, "fi')
    if resumes:
        (root / "resume_history.jsonl").write_text(json.dumps(  # as gan.resume records it
            {"time": "2026-12-03T10:00:00", "step": 200, "checkpoint": "ckpt-00000200.pt",
             "changes": {"lr": {"from": 2e-4, "to": 1e-4}}}) + "\n")
    return root


def test_report_of_a_run_in_progress_with_alarms_and_resumes(tmp_path):
    from gan.report import render
    page = render(fake_run(tmp_path / "live"))
    assert "in progress" in page and "300 / 1,000" in page
    assert "1 unreadable line(s)" in page  # the torn tail, skipped and said so
    assert "Health alarms" in page and "d_wins" in page and "acc_real=0.995" in page
    assert "Resume history" in page and "<code>lr</code>: 2.000e-04 → 1.000e-04" in page
    assert "120.5" in page and "300" in page and "mnist-classifier" in page
    # latest + timeline of 3 + progress.png once (image runs list it among each snapshot's files)
    assert page.count("data:image/png;base64,") == 1 + 3 + 1
    _assert_offline(page)
    quiet = render(fake_run(tmp_path / "quiet", torn=False, alarms=False, resumes=False, t0=1000.0))
    assert "stopped?" in quiet  # status.json says running, but nothing was written for hours
    assert "Health alarms" not in quiet and "Resume history" not in quiet and "unreadable" not in quiet


def test_report_of_an_empty_new_run_and_bad_dirs(tmp_path):
    from gan.errors import GanError
    from gan.report import render
    (tmp_path / "new").mkdir()
    (tmp_path / "new" / "config.json").write_text("{}")
    page = render(tmp_path / "new")
    assert "No evaluation yet" in page and "No sample snapshots yet" in page
    with pytest.raises(GanError, match="no such run directory"):
        render(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(GanError, match="not a run directory"):
        render(tmp_path / "empty")


def test_gan_report_cli_single_and_compare(tmp_path, capsys):
    from gan.cli import main
    a, b = fake_run(tmp_path / "a"), fake_run(tmp_path / "b", alarms=False)
    cfg = json.loads((b / "config.json").read_text())
    cfg["config"]["lr"] = 1e-4
    (b / "config.json").write_text(json.dumps(cfg))
    assert main(["report", "--run-dir", str(a)]) == 0
    assert (a / "report.html").is_file() and capsys.readouterr().out.strip() == str(a / "report.html")
    out = tmp_path / "cmp.html"
    assert main(["report", "--compare", str(a), str(b), "--out", str(out)]) == 0
    page = out.read_text()
    assert "Comparing 2 runs" in page and "Settings that differ" in page and "config.lr" in page
    assert page.count('<svg class="chart"') >= 4  # fid + D/loss + G/loss + D/acc_real (+ speed)
    _assert_offline(page)
    assert main(["report", "--compare", str(a)]) == 2
    assert "at least two" in capsys.readouterr().err
    assert main(["report", "--run-dir", str(tmp_path / "nope")]) == 2
    assert "no such run directory" in capsys.readouterr().err


# --- the report in a real browser -----------------------------------------------------------------
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
CHROME_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
                "--disable-extensions", "--mute-audio")
WIDTH = 1280
# Appended to a copy of the page (the report itself has no script): after load, the page box of
# every image and chart, and whether each image decoded.
PROBE = """<script>window.addEventListener('load', () => {
  const els = [...document.querySelectorAll('img, svg.chart')];
  const rects = els.map(e => { const b = e.getBoundingClientRect();
    return {tag: e.tagName.toLowerCase(), label: e.getAttribute('alt') || e.getAttribute('aria-label') || '',
            x: b.left + scrollX, y: b.top + scrollY, w: b.width, h: b.height,
            decoded: e.tagName !== 'IMG' || (e.complete && e.naturalWidth > 0)}; });
  const pre = document.createElement('pre'); pre.id = 'probe';
  pre.textContent = JSON.stringify({rects, height: document.documentElement.scrollHeight});
  document.body.appendChild(pre); });</script>"""


def _browser():
    import shutil
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    pytest.skip("no Chromium/Chrome on this machine and none could be installed here "
                "(Debian: apt-get install chromium; .ci/run installs it)")


def _chrome(browser, tmp_path, *args, timeout=120):
    import subprocess
    profile = tmp_path / f"chrome-profile-{len(list(tmp_path.glob('chrome-profile-*')))}"
    cmd = [browser, *CHROME_FLAGS, f"--user-data-dir={profile}", *args]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    assert res.returncode == 0, res.stderr[-2000:]
    return res.stdout


def screenshot(html_path: Path, tmp_path: Path):
    """Load the page in headless Chromium: the box of every image and chart (from a probe copy of
    the page) and a full-page screenshot of the page itself, as an RGB array."""
    import numpy as np
    from PIL import Image
    browser = _browser()
    probe = tmp_path / (html_path.stem + "-probe.html")
    probe.write_text(html_path.read_text(encoding="utf-8").replace("</body>", PROBE + "</body>"), encoding="utf-8")
    dom = _chrome(browser, tmp_path, f"--window-size={WIDTH},900", "--virtual-time-budget=5000", "--dump-dom",
                  probe.as_uri())
    found = re.search(r'<pre id="probe">(.*?)</pre>', dom, re.S)
    assert found, dom[-1000:]
    import html
    layout = json.loads(html.unescape(found.group(1)))
    height = min(int(layout["height"]) + 200, 16000)  # headless Chromium keeps ~80 px of the window for itself
    shot = tmp_path / (html_path.stem + ".png")
    _chrome(browser, tmp_path, f"--window-size={WIDTH},{height}", f"--screenshot={shot}", html_path.as_uri())
    pixels = np.asarray(Image.open(shot).convert("RGB")).astype(np.int16)
    keep = __import__("os").environ.get("GAN_REPORT_SHOTS")
    if keep:
        import shutil
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(keep) / shot.name)
    return layout["rects"], pixels


def _crop(pixels, r):
    x0, y0 = int(r["x"]) + 1, int(r["y"]) + 1
    return pixels[y0:y0 + int(r["h"]) - 2, x0:x0 + int(r["w"]) - 2]


def _saturated(region, min_chroma=80):
    """Pixels in colour (a plotted line, a coloured sample) rather than grey/white/black."""
    chroma = region.max(axis=2) - region.min(axis=2)
    return int((chroma >= min_chroma).sum())


def test_report_renders_in_a_real_browser(finished_run, tmp_path):
    """Every image decodes and shows content, every chart shows its coloured lines, at their
    place in the rendered page."""
    import numpy as np

    import shutil

    from gan.report import render, write_report
    run = Path(shutil.copytree(finished_run, tmp_path / "run"))
    with open(run / "metrics.jsonl", "a") as f:  # what the health monitor and a resume add
        f.write(json.dumps({"alarm": "g_loss_rising", "step": 50, "stage": "adversarial", "intervals": 4}) + "\n")
    (run / "resume_history.jsonl").write_text(json.dumps(
        {"time": "2026-12-03T10:00:00", "step": 30, "checkpoint": "ckpt-00000030.pt",
         "changes": {"steps": {"from": 30, "to": 40}}}) + "\n")
    page = write_report(tmp_path / "report.html", render(run))
    assert "Health alarms" in page.read_text() and "Resume history" in page.read_text()
    rects, pixels = screenshot(page, tmp_path)
    assert pixels.shape[1] == WIDTH and pixels.shape[0] > 1500
    imgs = [r for r in rects if r["tag"] == "img"]
    charts = [r for r in rects if r["tag"] == "svg"]
    assert len(imgs) >= 17 and len(charts) >= 5, rects
    for r in imgs:
        assert r["decoded"] and r["w"] >= 40 and r["h"] >= 20, r
        region = _crop(pixels, r)
        assert region.size and region.std() > 20, (r, region.std())  # not a blank or flat image
        assert _saturated(region) > 0.05 * region.shape[0] * region.shape[1], r  # the colour samples
    for r in charts:
        assert r["w"] >= 300 and r["h"] >= 150, r
        region = _crop(pixels, r)
        ink = (region.sum(axis=2) < 600).sum()  # title, tick labels, axes, lines
        assert ink > 500, (r["label"], ink)
        assert _saturated(region) > 150, (r["label"], _saturated(region))  # the plotted lines
    top = pixels[:60]
    assert (top.sum(axis=2) < 150).mean() > 0.5  # the dark title bar
    packed = (pixels[..., 0].astype(np.int32) << 16) | (pixels[..., 1].astype(np.int32) << 8) | pixels[..., 2]
    assert np.unique(packed).size > 1000  # a page of charts and samples, not a blank or one-colour one


def test_compare_report_renders_in_a_real_browser(finished_run, tmp_path):
    import numpy as np

    from gan.report import COLORS, render_compare, write_report
    other = fake_run(tmp_path / "other")
    page = write_report(tmp_path / "compare.html", render_compare([finished_run, other]))
    rects, pixels = screenshot(page, tmp_path)
    charts = [r for r in rects if r["tag"] == "svg"]
    assert len(charts) >= 4
    for r in charts:
        region = _crop(pixels, r).reshape(-1, 3)
        # both runs' colours are drawn on charts of keys both runs log
        for c in COLORS[:2]:
            rgb = np.array([int(c[i:i + 2], 16) for i in (1, 3, 5)])
            if r["label"] in ("G/loss", "D/loss"):
                assert (np.abs(region - rgb).sum(axis=1) < 40).sum() > 20, (r["label"], c)


def test_report_renders_mid_run_from_the_files_the_run_is_writing(tmp_path):
    """``gan report`` on a run that is training: rendered from inside the run (at a snapshot hook),
    so the metrics file is open for appending and status.json says running."""
    from gan.report import render
    pages = {}

    class Spy:  # the trainer's plugin manager, reduced to the one call it makes
        def call(self, name, **kw):
            if name == "gan_on_samples" and kw["step"] in (1, 8):
                pages[kw["step"]] = render(kw["trainer"].run_dir)

    r = WatchedGAN(WatchedConfig(warmup=5, steps=10), run=RunConfig(progress=False, tensorboard=False))
    run_recipe(r, run_dir=tmp_path, pm=Spy(), log_every=2)
    assert "in progress" in pages[1] and "No training records yet" in pages[1]
    assert "8 / 15" in pages[8] and "Stage <code>adversarial</code>" in pages[8]
    assert "completed" in render(tmp_path)
