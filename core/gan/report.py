"""``gan report``: one self-contained HTML page that shows a run at a glance.

The page holds everything inline — charts as SVG drawn here, sample grids as PNG ``data:`` URIs, no
script and no link to the network — so it opens offline, can be mailed or attached to an issue, and
shows the same thing in ten years. It reads only files a run writes (``config.json``,
``metrics.jsonl``, ``status.json``, ``samples/``), without locks, and tolerates what a run in
progress leaves: a torn last line, a missing file, a snapshot listed before its PNG is complete.

Sections: a summary (model, data, status, steps, wall time, latest evaluation), the evaluation
table with its protocol and library versions, health alarms, resume history, loss and metric curves
per stage, the snapshot timeline (``progress.png`` and the captioned grids / text samples), and the
resolved configuration. ``--compare`` overlays several runs' curves and lines up their final metrics
and their differing settings.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import GanError

COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf",
          "#bcbd22", "#7f7f7f")
MAX_TIMELINE = 16  # snapshots shown in the timeline (evenly spaced; first and last always)
MAX_POINTS = 400  # points per curve (longer series are averaged into this many buckets)
THUMB_WIDTH = 640  # px: wider snapshot grids are scaled down in the page (timeline: half)
RESERVED = {"step", "stage", "time", "protocol", "alarm"}


# --- reading a run --------------------------------------------------------------------------------
@dataclass
class RunData:
    """Everything ``gan report`` reads from one run directory."""

    path: Path
    config: dict[str, Any] = field(default_factory=dict)
    status: dict[str, Any] = field(default_factory=dict)
    records: list[dict[str, Any]] = field(default_factory=list)  # training logs and evaluations
    alarms: list[dict[str, Any]] = field(default_factory=list)
    snapshots: list[dict[str, Any]] = field(default_factory=list)
    resumes: list[dict[str, Any]] = field(default_factory=list)
    skipped_lines: int = 0

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def model(self) -> str:
        return str(self.config.get("model") or "?")

    def train_records(self) -> list[dict[str, Any]]:
        return [r for r in self.records if any(_is_train_key(k) for k in r)]

    def eval_records(self) -> list[dict[str, Any]]:
        return [r for r in self.records if any(k.startswith("eval/") for k in r)]

    def stages(self) -> list[dict[str, Any]]:
        """``[{name, first_step, last_step, unit}]``: from status.json when the run wrote one, else
        from the stage names of the records in order of appearance."""
        st = self.status.get("stages")
        if isinstance(st, list) and st and all(isinstance(s, dict) and "name" in s for s in st):
            return st
        seen: dict[str, list[int]] = {}
        for r in self.records:
            name = r.get("stage")
            if isinstance(name, str) and isinstance(r.get("step"), int):
                seen.setdefault(name, []).append(r["step"])
        return [{"name": n, "first_step": min(v), "last_step": max(v)} for n, v in seen.items()]


def _is_train_key(k: str) -> bool:
    return "/" in k and not k.startswith(("eval/", "time/")) and k not in RESERVED


def read_jsonl(path: Path) -> tuple[list[dict[str, Any]], int]:
    """JSON objects of ``path``, one a line; unreadable lines (a torn tail while the run writes)
    are skipped and counted. A missing file is an empty list."""
    try:
        text = path.read_bytes().decode("utf-8", "replace")
    except OSError:
        return [], 0
    out, bad = [], 0
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except ValueError:
            bad += 1
            continue
        if isinstance(rec, dict):
            out.append(rec)
        else:
            bad += 1
    return out, bad


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _resume_history(run_dir: Path) -> list[dict[str, Any]]:
    """The resume history another part of the trainer may keep (any ``resume*`` JSON / JSONL file
    in the run directory): a list of objects, rendered as they are."""
    rows: list[dict[str, Any]] = []
    for p in sorted(run_dir.glob("resume*")):
        if p.suffix == ".jsonl":
            rows += read_jsonl(p)[0]
        elif p.suffix == ".json":
            try:
                data = json.loads(p.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if isinstance(data, dict):
                data = next((v for v in data.values() if isinstance(v, list)), [data])
            rows += [d for d in data if isinstance(d, dict)] if isinstance(data, list) else []
    return rows


def _scan_snapshots(samples: Path) -> list[dict[str, Any]]:
    """Snapshots of a run written before ``snapshots.jsonl`` existed: the step from the file name."""
    by_step: dict[int, list[str]] = {}
    for p in sorted(samples.glob("*")) if samples.is_dir() else []:
        m = re.search(r"(\d+)$", p.stem)
        if p.suffix in (".png", ".txt") and m and p.name != "progress.png":
            by_step.setdefault(int(m.group(1)), []).append(p.name)
    return [{"step": s, "stage": None, "files": f} for s, f in sorted(by_step.items())]


def load(run_dir: str | Path) -> RunData:
    """Read a run directory (finished or in progress)."""
    from .snapshots import read_index
    p = Path(run_dir).expanduser()
    if not p.is_dir():
        raise GanError(f"--run-dir {p}: no such run directory")
    if not (p / "config.json").is_file() and not (p / "metrics.jsonl").is_file():
        raise GanError(f"--run-dir {p}: not a run directory (no config.json or metrics.jsonl)")
    data = RunData(p, config=_read_json(p / "config.json"), status=_read_json(p / "status.json"))
    records, data.skipped_lines = read_jsonl(p / "metrics.jsonl")
    for r in records:
        (data.alarms if "alarm" in r else data.records).append(r)
    data.records.sort(key=lambda r: (r.get("step") if isinstance(r.get("step"), int) else -1))
    data.snapshots = read_index(p / "samples") or _scan_snapshots(p / "samples")
    data.resumes = _resume_history(p)
    return data


# --- numbers and text -----------------------------------------------------------------------------
def _num(v: Any) -> float | None:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    v = float(v)
    return v if math.isfinite(v) else None


def fmt(v: Any) -> str:
    """A number as a reader wants it: 4 significant digits, no float noise."""
    if isinstance(v, bool) or v is None:
        return html.escape(str(v))
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        if not math.isfinite(v):
            return str(v)
        if v != 0 and (abs(v) >= 1e5 or abs(v) < 1e-3):
            return f"{v:.3e}"
        return f"{v:.4g}"
    return html.escape(str(v))


def _duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    d, rem = divmod(seconds, 86400)
    h, rem = divmod(rem, 3600)
    m, s = divmod(rem, 60)
    if d:
        return f"{d}d {h}h"
    return f"{h}h {m:02d}m" if h else (f"{m}m {s:02d}s" if m else f"{s}s")


def _flatten(d: Any, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    if isinstance(d, dict):
        for k, v in d.items():
            out.update(_flatten(v, f"{prefix}{k}."))
        return out
    out[prefix[:-1]] = d
    return out


def _table(rows: list[list[str]], head: list[str] | None = None, cls: str = "") -> str:
    h = "".join(f"<th>{c}</th>" for c in head) if head else ""
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    return f'<table class="{cls}">' + (f"<thead><tr>{h}</tr></thead>" if h else "") + f"<tbody>{body}</tbody></table>"


# --- SVG charts -----------------------------------------------------------------------------------
def _nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    if hi <= lo:
        hi = lo + (abs(lo) or 1.0)
    raw = (hi - lo) / max(1, n)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    start = math.ceil(lo / step - 1e-9) * step
    ticks, t = [], start
    while t <= hi + step * 1e-6:
        ticks.append(round(t, 12))
        t += step
    return ticks


def _tick_label(v: float, step: float) -> str:
    """Enough decimals to tell neighbouring ticks ``step`` apart, no more."""
    if v == 0:
        return "0"
    if abs(v) >= 1e5 or (abs(v) < 1e-3 and step < 1e-3):
        return f"{v:.2e}".replace("e+0", "e").replace("e-0", "e-")
    decimals = max(0, -math.floor(math.log10(step) + 1e-9)) if step > 0 else 2
    return f"{v:.{min(decimals, 6)}f}"


def _downsample(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    if len(points) <= MAX_POINTS:
        return points
    size = len(points) / MAX_POINTS
    out = []
    for i in range(MAX_POINTS):
        chunk = points[int(i * size):int((i + 1) * size)] or [points[int(i * size)]]
        out.append((sum(p[0] for p in chunk) / len(chunk), sum(p[1] for p in chunk) / len(chunk)))
    return out


@dataclass
class Series:
    label: str
    points: list[tuple[float, float]]
    color: str = COLORS[0]
    dashed: bool = False


def svg_chart(title: str, series: list[Series], *, width: int = 380, height: int = 220,
              xlabel: str = "step", bands: list[tuple[float, float, str]] = (),
              legend: bool = True) -> str:
    """A line chart as inline SVG: axes with round ticks, one polyline per series (markers when a
    series has few points), optional shaded stage bands ``(x0, x1, name)``."""
    ml, mr, mt, mb = 58, 14, 30, 36
    pw, ph = width - ml - mr, height - mt - mb
    pts = [(x, y) for s in series for x, y in s.points]
    xs = [p[0] for p in pts] + [b for band in bands for b in band[:2]]
    ys = [p[1] for p in pts]
    if not ys:
        return (f'<svg class="chart" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
                f'xmlns="http://www.w3.org/2000/svg"><text x="{ml}" y="20" class="ct">{html.escape(title)}'
                f'</text><text x="{width / 2}" y="{height / 2}" text-anchor="middle" class="na">no data yet'
                f'</text></svg>')
    x0, x1 = min(xs), max(xs)
    if x1 == x0:
        x0, x1 = x0 - 1, x1 + 1
    y0, y1 = min(ys), max(ys)
    pad = (y1 - y0) * 0.06 or abs(y0) * 0.1 or 1.0
    y0, y1 = y0 - pad, y1 + pad
    yt = _nice_ticks(y0, y1)
    y0, y1 = min(y0, yt[0]), max(y1, yt[-1])
    xt = [t for t in _nice_ticks(x0, x1, 5) if x0 <= t <= x1 and (x1 - x0 < 4 or float(t).is_integer())]
    ystep = yt[1] - yt[0] if len(yt) > 1 else abs(yt[0]) or 1.0
    xstep = xt[1] - xt[0] if len(xt) > 1 else 1.0

    def sx(x: float) -> float:
        return ml + (x - x0) / (x1 - x0) * pw

    def sy(y: float) -> float:
        return mt + ph - (y - y0) / (y1 - y0) * ph

    parts = [f'<svg class="chart" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
             f'xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{html.escape(title)}">',
             f'<rect x="{ml}" y="{mt}" width="{pw}" height="{ph}" fill="#fff" stroke="#c8ccd2"/>']
    for i, (b0, b1, name) in enumerate(bands):
        if i % 2:
            parts.append(f'<rect x="{sx(b0):.1f}" y="{mt}" width="{max(0.0, sx(b1) - sx(b0)):.1f}" '
                         f'height="{ph}" fill="#f1f4f8"/>')
        if len(bands) > 1 and sx(b1) - sx(b0) > 6 * len(name) + 6:  # a name only where it fits
            parts.append(f'<text x="{sx(b0) + 3:.1f}" y="{mt + 11}" class="band">{html.escape(name)}</text>')
            if i:
                parts.append(f'<line x1="{sx(b0):.1f}" x2="{sx(b0):.1f}" y1="{mt}" y2="{mt + ph}" '
                             f'stroke="#9aa3ad" stroke-dasharray="3 3"/>')
    for t in yt:
        y = sy(t)
        parts.append(f'<line x1="{ml}" x2="{ml + pw}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e6e9ee"/>'
                     f'<text x="{ml - 6}" y="{y + 4:.1f}" text-anchor="end" class="tk">{_tick_label(t, ystep)}</text>')
    for t in xt:
        x = sx(t)
        parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{mt + ph}" y2="{mt + ph + 4}" stroke="#888"/>'
                     f'<text x="{x:.1f}" y="{mt + ph + 16}" text-anchor="middle" class="tk">{_tick_label(t, xstep)}</text>')
    parts.append(f'<text x="{ml + pw / 2}" y="{height - 4}" text-anchor="middle" class="ax">{xlabel}</text>')
    parts.append(f'<text x="{ml}" y="19" class="ct">{html.escape(title)}</text>')
    for s in series:
        p = _downsample(sorted(s.points))
        if not p:
            continue
        coords = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in p)
        dash = ' stroke-dasharray="5 3"' if s.dashed else ""
        sw = 3.2 if s.label.endswith("loss") and len(series) > 1 else 1.8
        parts.append(f'<polyline fill="none" stroke="{s.color}" stroke-width="{sw}"{dash} '
                     f'stroke-linejoin="round" points="{coords}"><title>{html.escape(s.label)}</title></polyline>')
        if len(p) <= 40:
            parts += [f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="2.6" fill="{s.color}"/>' for x, y in p]
    parts.append("</svg>")
    svg = "".join(parts)
    if legend and len(series) > 1:
        items = "".join(f'<span><i style="background:{s.color}"></i>{html.escape(s.label)}</span>'
                        for s in series)
        svg += f'<div class="legend">{items}</div>'
    return f'<figure class="chartbox">{svg}</figure>'


# --- images ---------------------------------------------------------------------------------------
def data_uri(path: Path, max_width: int | None = None) -> str | None:
    """A PNG as a ``data:`` URI (scaled down to ``max_width`` with nearest neighbour sampling, which
    keeps small generated images crisp); ``None`` when it is missing or not yet complete."""
    try:
        raw = path.read_bytes()
        from PIL import Image
        import numpy as np
        with Image.open(io.BytesIO(raw)) as img:
            img.load()
            out = img
            if img.mode == "RGB":
                a = np.asarray(img)
                if (a[..., 0] == a[..., 1]).all() and (a[..., 1] == a[..., 2]).all():
                    out = img.convert("L")  # grey samples stored as RGB: a third of the bytes
            if max_width and img.width > max_width:
                h = max(1, round(img.height * max_width / img.width))
                out = out.resize((max_width, h), Image.LANCZOS)
            if out is not img:
                buf = io.BytesIO()
                out.save(buf, format="PNG", optimize=True)
                raw = buf.getvalue()
    except Exception:  # noqa: BLE001 - a half-written or odd file must not stop the report
        return None
    return "data:image/png;base64," + base64.b64encode(raw).decode("ascii")


def _pick(items: list[Any], k: int) -> list[Any]:
    """``k`` items evenly spread over ``items``, the first and last always among them."""
    if len(items) <= k:
        return items
    idx = sorted({round(i * (len(items) - 1) / (k - 1)) for i in range(k)})
    return [items[i] for i in idx]


# --- sections -------------------------------------------------------------------------------------
def _bands(run: RunData) -> list[tuple[float, float, str]]:
    out = []
    for s in run.stages():
        a, b = s.get("first_step"), s.get("last_step")
        if isinstance(a, int) and isinstance(b, int):
            out.append((a - 1 if a > 0 else a, b, str(s.get("name"))))
    return out


def _series(records: list[dict[str, Any]], key: str) -> list[tuple[float, float]]:
    out = []
    for r in records:
        v, s = _num(r.get(key)), r.get("step")
        if v is not None and isinstance(s, int):
            out.append((float(s), v))
    return out


def _status_line(run: RunData) -> tuple[str, str]:
    st = run.status
    status = str(st.get("status") or "unknown")
    last_time = max([r["time"] for r in run.records if _num(r.get("time")) is not None] or [0])
    if status == "running":
        age = max(0.0, time.time() - float(last_time or st.get("time") or time.time()))
        status = f"in progress (last record {_duration(age)} ago)"
        if age > 3600:  # a killed process cannot say it stopped
            status = f"stopped? (says running, but the last record is {_duration(age)} old)"
            return status, "warn"
    return status, ("ok" if status == "completed" else "live" if status.startswith("in progress") else "warn")


def _summary(run: RunData) -> str:
    cfg = run.config
    steps = [r["step"] for r in run.records if isinstance(r.get("step"), int)]
    step = max([int(run.status.get("step") or 0)] + steps)
    total = run.status.get("total_steps")
    limit = run.status.get("max_steps")
    goal = min(total, limit) if isinstance(total, int) and isinstance(limit, int) else total
    times = [r["time"] for r in run.records if _num(r.get("time")) is not None]
    wall = (max(times) - min(times)) if len(times) > 1 else 0.0
    status, cls = _status_line(run)
    data = cfg.get("data") or "built-in"
    if cfg.get("data_root"):
        data = f"{data} ({cfg['data_root']})"
    cards = [("model", html.escape(run.model)), ("data", html.escape(str(data))),
             ("status", f'<span class="pill {cls}">{html.escape(status)}</span>'),
             ("steps", f"{step:,}" + (f" / {goal:,}" if isinstance(goal, int) and goal else "")),
             ("wall time", _duration(wall)), ("snapshots", str(len(run.snapshots)))]
    if run.alarms:
        cards.append(("alarms", f'<span class="pill warn">{len(run.alarms)}</span>'))
    if isinstance(goal, int) and goal:
        pct = min(100.0, 100.0 * step / goal)
        bar = f'<div class="progress"><div style="width:{pct:.1f}%"></div></div>'
    else:
        bar = ""
    stages = run.stages()
    stage_txt = " → ".join(
        f"{html.escape(str(s['name']))} ({int(s.get('steps') or (s['last_step'] - s['first_step'] + 1)):,} "
        f"{html.escape(_plural(str(s.get('unit') or 'step')))})" for s in stages) if stages else ""
    html_cards = "".join(f'<div class="card"><div class="k">{k}</div><div class="v">{v}</div></div>'
                         for k, v in cards)
    return (f'<div class="cards">{html_cards}</div>{bar}'
            + (f'<p class="stages">stages: {stage_txt}</p>' if stage_txt else ""))


def _plural(unit: str) -> str:
    return unit + ("es" if unit.endswith(("s", "sh", "ch", "x")) else "s")


def _latest_eval(run: RunData) -> tuple[dict[str, Any] | None, dict[str, Any] | None, dict[str, Any] | None]:
    evals = run.eval_records()
    if not evals:
        return None, None, None
    protocol = next((r["protocol"] for r in reversed(evals) if isinstance(r.get("protocol"), dict)), None)
    return evals[0], evals[-1], protocol


def _versions(run: RunData, protocol: dict[str, Any] | None) -> dict[str, str]:
    out = {k: str(v) for k, v in (run.config.get("versions") or {}).items()}
    for k, v in _flatten(protocol or {}).items():
        if re.search(r"version|signature|torchmetrics|sacrebleu|torchvision|scipy|numpy", k, re.I):
            out[k] = str(v)
    return out


def _evaluation(run: RunData) -> str:
    first, last, protocol = _latest_eval(run)
    if last is None:
        return '<p class="muted">No evaluation yet (the first one runs at step 0 or at the end of a stage).</p>'
    keys = [k for k in last if k.startswith("eval/")]
    evals = run.eval_records()
    rows = []
    for k in keys:
        vals = [v for v in (_num(r.get(k)) for r in evals) if v is not None]
        base = first.get(k) if first is not last else None
        rows.append([f"<b>{html.escape(k[5:])}</b>", f'<span class="big">{fmt(last.get(k))}</span>',
                     fmt(base) if base is not None else "—",
                     f"{fmt(min(vals))} … {fmt(max(vals))}" if len(vals) > 1 else "—"])
    head = ["metric", f"latest (step {last.get('step')})",
            f"first (step {first.get('step')})" if first is not last else "first", "range over the run"]
    left = _table(rows, head, "eval")
    versions = _versions(run, protocol)
    if versions:
        left += ('<h3>Library versions</h3><p class="versions">'
                 + " · ".join(f"{html.escape(k)} <code>{html.escape(v)}</code>" for k, v in versions.items())
                 + "</p>")
    right = ""
    if protocol:
        items = "".join(f'<div><span class="pk">{html.escape(k)}</span> {fmt(v)}</div>'
                        for k, v in _flatten(protocol).items())
        right = f'<h3>Protocol: how the numbers were obtained</h3><div class="protocol">{items}</div>'
    return left + right


def _alarms(run: RunData) -> str:
    if not run.alarms:
        return ""
    keys = sorted({k for a in run.alarms for k in a} - {"alarm", "step", "stage", "time"})
    rows = [[f'<span class="pill warn">{html.escape(str(a.get("alarm")))}</span>', fmt(a.get("step")),
             html.escape(str(a.get("stage") or "")),
             "; ".join(f"{html.escape(k)}={fmt(a[k])}" for k in keys if k in a)] for a in run.alarms]
    return "<h2>Health alarms</h2>" + _table(rows, ["alarm", "step", "stage", "details"])


def _resumes(run: RunData) -> str:
    if not run.resumes:
        return ""
    keys: list[str] = []
    for r in run.resumes:
        keys += [k for k in r if k not in keys]
    rows = [[_cell(r.get(k)) for k in keys] for r in run.resumes]
    return "<h2>Resume history</h2>" + _table(rows, [html.escape(k) for k in keys])


def _cell(v: Any) -> str:
    """A resume-history value: ``{"lr": {"from": a, "to": b}}`` reads ``lr: a → b``."""
    if isinstance(v, dict) and v and all(isinstance(c, dict) and set(c) == {"from", "to"} for c in v.values()):
        return "<br>".join(f"<code>{html.escape(str(k))}</code>: {fmt(c['from'])} → {fmt(c['to'])}"
                           for k, c in v.items())
    if isinstance(v, (dict, list)):
        return "—" if not v else f"<code>{html.escape(json.dumps(v, sort_keys=True, default=str))}</code>"
    return fmt(v)


def _curves(run: RunData) -> str:
    train = run.train_records()
    bands = _bands(run)
    out = []
    evals = run.eval_records()
    eval_keys: list[str] = []
    for r in evals:
        eval_keys += [k for k in r if k.startswith("eval/") and k not in eval_keys]
    if eval_keys:
        charts = [svg_chart(k[5:], [Series(k[5:], _series(evals, k), COLORS[i % len(COLORS)])], bands=bands)
                  for i, k in enumerate(eval_keys)]
        out.append('<h3>Evaluation over the run</h3><div class="charts">' + "".join(charts) + "</div>")
    stage_names = [s["name"] for s in run.stages()] or [None]
    for sname in stage_names:
        recs = [r for r in train if sname is None or r.get("stage") == sname]
        if not recs:
            continue
        groups: dict[str, list[str]] = {}
        for r in recs:
            for k in r:
                if _is_train_key(k):
                    g = k.split("/", 1)[0]
                    groups.setdefault(g, [])
                    if k not in groups[g]:
                        groups[g].append(k)
        charts = []
        norms = [k for keys in groups.values() for k in keys if k.endswith("grad_norm")]
        for g, keys in groups.items():
            # gradient norms live on another scale than the losses: their own chart, below
            keys = sorted((k for k in keys if k not in norms), key=lambda k: (k.split("/")[-1] != "loss", k))
            series = [Series(k.split("/", 1)[1], _series(recs, k), COLORS[i % len(COLORS)])
                      for i, k in enumerate(keys[:8])]
            if series:
                title = f"{g}/{series[0].label}" if len(series) == 1 else g
                charts.append(svg_chart(title, series))
        if norms:
            charts.append(svg_chart("gradient norms", [Series(k, _series(recs, k), COLORS[(i + 4) % len(COLORS)])
                                                       for i, k in enumerate(norms[:8])]))
        speed = _series(recs, "time/steps_per_s")
        if speed:
            charts.append(svg_chart("speed (steps/s)", [Series("steps/s", speed, "#17becf")], legend=False))
        title = f"Stage <code>{html.escape(sname)}</code>" if sname else "Training"
        out.append(f'<h3>{title}</h3><div class="charts">' + "".join(charts) + "</div>")
    if not out:
        return '<p class="muted">No training records yet (the first is written after run.log_every steps).</p>'
    return "".join(out)


def _snapshot_html(run: RunData, snap: dict[str, Any], width: int, t0: float | None,
                   first_only: bool = False) -> str:
    """One snapshot as a figure; ``first_only`` keeps its first image (the timeline shows the main
    grid of each snapshot; the latest snapshot shows all of them)."""
    samples = run.path / "samples"
    items = []
    files = [f for f in snap.get("files") or [] if Path(f).name != "progress.png"]  # shown on its own
    if first_only:
        pngs = [f for f in files if f.lower().endswith(".png")]
        files = pngs[:1] + [f for f in files if not f.lower().endswith(".png")]
    for f in files:
        p = samples / f
        if p.suffix.lower() == ".png":
            uri = data_uri(p, width)
            if uri:
                items.append(f'<img src="{uri}" alt="{html.escape(f)}" loading="eager">')
        elif p.suffix.lower() in (".txt", ".csv"):
            try:
                lines = p.read_text(encoding="utf-8", errors="replace").splitlines()[:8]
            except OSError:
                continue
            items.append("<pre>" + html.escape("\n".join(lines)) + "</pre>")
    if not items:
        return ""
    when = ""
    if t0 is not None and _num(snap.get("time")) is not None:
        when = f" · +{_duration(snap['time'] - t0)}"
    stage = f" · {html.escape(str(snap['stage']))}" if snap.get("stage") else ""
    return (f'<figure class="snap"><div class="imgs">{"".join(items)}</div><figcaption>step {snap.get("step")}{stage}{when}'
            f"</figcaption></figure>")


def _timeline(run: RunData) -> str:
    snaps = [s for s in run.snapshots if any(Path(f).name != "progress.png" for f in s.get("files") or [])]
    out = []
    times = [r["time"] for r in run.records if _num(r.get("time")) is not None]
    t0 = min(times) if times else None
    side = []
    if snaps:
        latest = _snapshot_html(run, snaps[-1], 480, t0)
        if latest:
            side.append(f'<div><h3>Latest snapshot</h3><div class="latest">{latest}</div></div>')
    progress = run.path / "samples" / "progress.png"
    if progress.is_file():
        uri = data_uri(progress, 480)
        if uri:
            side.append('<div><h3>progress.png</h3><p class="muted">The same fixed latents or inputs at every '
                        'snapshot, one row each, oldest at the top.</p>'
                        f'<img class="progresspng" src="{uri}" alt="progress.png"></div>')
    if side:
        out.append(f'<div class="side">{"".join(side)}</div>')
    if len(snaps) > 1:
        shown = _pick(snaps, MAX_TIMELINE)
        figs = "".join(_snapshot_html(run, s, THUMB_WIDTH // 2, t0, first_only=True) for s in shown)
        note = (f"{len(shown)} of {len(snaps)} snapshots, evenly spaced" if len(shown) < len(snaps)
                else f"all {len(snaps)} snapshots")
        out.append(f'<h3>Timeline</h3><p class="muted">{note}; fixed latents / held-out inputs, so '
                   f'they compare.</p><div class="timeline">{figs}</div>')
    if not out:
        return '<p class="muted">No sample snapshots yet.</p>'
    return "".join(out)


def _config(run: RunData) -> str:
    out = []
    for part in ("config", "run"):
        flat = _flatten(run.config.get(part) or {})
        if flat:
            rows = [[f"<code>{html.escape(k)}</code>", fmt(v)] for k, v in flat.items()]
            label = "model config (--set KEY=VALUE)" if part == "config" else "run settings (--set run.KEY=VALUE)"
            out.append(f"<div><h3>{label}</h3>{_table(rows, None, 'kv')}</div>")
    if not out:
        return '<p class="muted">config.json is missing.</p>'
    return f'<div class="two">{"".join(out)}</div>'


CSS = """
:root{--fg:#1d2430;--muted:#687384;--line:#dde2e8;--bg:#f6f8fa;--accent:#1f77b4}
*{box-sizing:border-box}body{margin:0;font:14px/1.45 -apple-system,"Segoe UI",Roboto,"DejaVu Sans",
Helvetica,Arial,sans-serif;color:var(--fg);background:var(--bg)}
header{background:#1d2430;color:#fff;padding:18px 28px}header h1{margin:0;font-size:22px}
header .sub{color:#b8c2d0;font-size:13px;margin-top:4px}main{padding:8px 28px 40px;max-width:1500px}
h2{font-size:18px;margin:28px 0 10px;padding-bottom:4px;border-bottom:2px solid var(--line)}
h3{font-size:14px;margin:18px 0 8px;color:#33404f}
.cards{display:flex;flex-wrap:wrap;gap:10px;margin-top:16px}
.card{background:#fff;border:1px solid var(--line);border-radius:8px;padding:8px 14px;min-width:110px}
.card .k{color:var(--muted);font-size:11px;text-transform:uppercase;letter-spacing:.04em}
.card .v{font-size:16px;font-weight:600}
.progress{height:8px;background:#e3e7ec;border-radius:4px;margin:12px 0 4px;max-width:900px}
.progress div{height:100%;background:var(--accent);border-radius:4px}
.pill{display:inline-block;padding:1px 9px;border-radius:10px;font-size:13px;font-weight:600}
.pill.ok{background:#dff3e4;color:#17692e}.pill.live{background:#e0ecfb;color:#1a4f8f}
.pill.warn{background:#fde9d9;color:#9a3d00}
.stages,.muted{color:var(--muted)}
table{border-collapse:collapse;background:#fff;border:1px solid var(--line);margin:4px 0 8px}
td,th{padding:5px 10px;border-bottom:1px solid #edf0f3;text-align:left;vertical-align:top}
th{background:#f0f3f6;font-weight:600;font-size:13px}table.eval .big{font-size:16px;font-weight:700}
table.kv td:first-child{color:#44505f}table.kv{font-size:13px}
code{font-family:"DejaVu Sans Mono",Menlo,Consolas,monospace;font-size:12px;background:#eef1f4;
padding:0 3px;border-radius:3px}
.versions{font-size:13px}
.protocol{column-width:340px;column-gap:28px;background:#fff;border:1px solid var(--line);border-radius:8px;
padding:8px 12px;font-size:12.5px}.protocol div{break-inside:avoid;padding:1px 0;overflow-wrap:anywhere}
.protocol .pk{color:var(--muted)}.protocol .pk:after{content:":"}
.charts{display:flex;flex-wrap:wrap;gap:12px}
figure{margin:0}.chartbox{background:#fff;border:1px solid var(--line);border-radius:8px;padding:4px}
svg .ct{font-weight:600;font-size:13px;fill:#1d2430}svg .tk{font-size:10px;fill:#5b6675}
svg .ax{font-size:11px;fill:#5b6675}svg .band{font-size:10px;fill:#7a8594}svg .na{fill:#999}
.legend{font-size:12px;padding:0 8px 6px 58px;display:flex;flex-wrap:wrap;gap:4px 12px}
.legend i{display:inline-block;width:14px;height:3px;margin-right:5px;vertical-align:middle}
.timeline{display:flex;flex-wrap:wrap;gap:12px}
.snap{background:#fff;border:1px solid var(--line);border-radius:8px;padding:6px;max-width:100%}
.snap .imgs{display:flex;flex-wrap:wrap;gap:8px;align-items:flex-start}
.snap img{display:block;image-rendering:pixelated;max-width:100%}
.timeline .snap img{max-width:260px}
.snap figcaption{font-size:12px;color:var(--muted);margin-top:4px}
.snap pre{font-size:11px;margin:0;max-width:420px;white-space:pre-wrap}
.latest .snap img{max-width:min(480px,100%)}
.side{display:flex;flex-wrap:wrap;gap:24px;align-items:flex-start}
.progresspng{display:block;image-rendering:pixelated;max-width:min(480px,100%);border:1px solid var(--line)}
.two{display:flex;flex-wrap:wrap;gap:24px}
footer{color:var(--muted);font-size:12px;margin-top:30px}
"""


def _page(title: str, subtitle: str, body: str) -> str:
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{html.escape(title)}"
            f"</title><style>{CSS}</style></head><body><header><h1>{html.escape(title)}</h1>"
            f"<div class=\"sub\">{subtitle}</div></header><main>{body}"
            f"<footer>Generated by <code>gan report</code> at {time.strftime('%Y-%m-%d %H:%M:%S')}; "
            f"self-contained (no scripts, no network).</footer></main></body></html>\n")


def render(run_dir: str | Path) -> str:
    """The HTML report of one run."""
    run = load(run_dir)
    body = ["<h2>Summary</h2>", _summary(run)]
    if run.skipped_lines:
        body.append(f'<p class="muted">{run.skipped_lines} unreadable line(s) in metrics.jsonl skipped '
                    "(a run still writing leaves a partial last line).</p>")
    body += ["<h2>Evaluation</h2>", _evaluation(run), _alarms(run), _resumes(run),
             "<h2>Curves</h2>", _curves(run), "<h2>Samples</h2>", _timeline(run),
             "<h2>Configuration</h2>", _config(run)]
    sub = f"{html.escape(str(run.path))}"
    return _page(f"{run.model} — {run.name}", sub, "".join(body))


def render_compare(run_dirs: list[str | Path]) -> str:
    """One page overlaying several runs: curves per logged key, final metrics side by side, and
    the settings that differ."""
    runs = [load(d) for d in run_dirs]
    names = _unique_names(runs)
    color = {n: COLORS[i % len(COLORS)] for i, n in enumerate(names)}
    legend = "".join(f'<span><i style="background:{color[n]}"></i>{html.escape(n)} '
                     f'<span class="muted">({html.escape(r.model)})</span></span>' for n, r in zip(names, runs))
    body = [f'<div class="legend" style="padding-left:0;font-size:14px;margin-top:16px">{legend}</div>']
    # final metrics
    finals = [_latest_eval(r)[1] or {} for r in runs]
    keys: list[str] = []
    for f in finals:
        keys += [k for k in f if k.startswith("eval/") and k not in keys]
    if keys:
        rows = [[f"<b>{html.escape(k[5:])}</b>"] + [fmt(f.get(k)) if k in f else "—" for f in finals] for k in keys]
        rows.append(["<i>at step</i>"] + [fmt(f.get("step")) for f in finals])
        body += ["<h2>Final evaluation</h2>", _table(rows, ["metric"] + [html.escape(n) for n in names], "eval")]
        protos = [_latest_eval(r)[2] for r in runs]
        if any(protos):
            pkeys: list[str] = []
            flat = [_flatten(p or {}) for p in protos]
            for f in flat:
                pkeys += [k for k in f if k not in pkeys]
            prow = [[html.escape(k)] + [fmt(f.get(k, "—")) for f in flat] for k in pkeys]
            body += ["<h3>Protocol</h3>", _table(prow, [""] + [html.escape(n) for n in names], "kv")]
    # differing settings
    flat_cfgs = [{**_flatten(r.config.get("config") or {}, "config."), **_flatten(r.config.get("run") or {}, "run."),
                  "model": r.model, "data": r.config.get("data")} for r in runs]
    all_keys = sorted({k for f in flat_cfgs for k in f})
    diff = [k for k in all_keys if len({json.dumps(f.get(k), sort_keys=True, default=str) for f in flat_cfgs}) > 1]
    if diff:
        rows = [[f"<code>{html.escape(k)}</code>"] + [fmt(f.get(k, "—")) for f in flat_cfgs] for k in diff]
        body += ["<h2>Settings that differ</h2>", _table(rows, ["setting"] + [html.escape(n) for n in names], "kv")]
    # curves
    body.append("<h2>Curves</h2>")
    charts = []
    eval_keys = keys
    for k in eval_keys:
        series = [Series(n, _series(r.eval_records(), k), color[n]) for n, r in zip(names, runs)]
        charts.append(svg_chart(k[5:], series, legend=False))
    if charts:
        body.append('<h3>Evaluation</h3><div class="charts">' + "".join(charts) + "</div>")
    train_keys: list[str] = []
    for r in runs:
        for rec in r.train_records():
            train_keys += [k for k in rec if _is_train_key(k) and k not in train_keys]
    train_keys.sort(key=lambda k: (k.split("/")[-1] != "loss", k))
    charts = [svg_chart(k, [Series(n, _series(r.train_records(), k), color[n]) for n, r in zip(names, runs)],
                        legend=False) for k in train_keys[:24]]
    if charts:
        body.append('<h3>Training</h3><div class="charts">' + "".join(charts) + "</div>")
    # latest samples side by side
    figs = []
    for n, r in zip(names, runs):
        snaps = [s for s in r.snapshots if s.get("files")]
        if snaps:
            f = _snapshot_html(r, snaps[-1], THUMB_WIDTH, None)
            figs.append(f.replace("<figcaption>", f"<figcaption><b>{html.escape(n)}</b> · ", 1))
    if figs:
        body += ["<h2>Latest samples</h2>", f'<div class="timeline">{"".join(figs)}</div>']
    return _page(f"Comparing {len(runs)} runs", " · ".join(html.escape(str(r.path)) for r in runs), "".join(body))


def _unique_names(runs: list[RunData]) -> list[str]:
    names = [r.name for r in runs]
    if len(set(names)) < len(names):
        names = [f"{r.path.parent.name}/{r.name}" for r in runs]
    if len(set(names)) < len(names):
        names = [f"{i + 1}: {n}" for i, n in enumerate(names)]
    return names


def write_report(out: str | Path, html_text: str) -> Path:
    from .checkpoint import atomic_write_text
    p = Path(out).expanduser()
    if p.is_dir():
        raise GanError(f"--out {p}: is a directory (expected an .html file name)")
    p.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(p, html_text)
    return p
