"""Point-cloud datasets: two moons, a two-arm spiral, and 2-D points from a user's CSV file.

Every dataset is an object with ``name``, ``dim`` and ``sample(n, generator) -> Tensor (n, dim)``,
the same shape as the built-in toy plugin's mixtures, so recipes that consume ``points`` data can
draw a fixed training set and an independent reference set for evaluation. Unlike Gaussian
mixtures, moons and spirals are thin curved manifolds: a generator must bend a Gaussian around them,
which is what makes them a useful test of an MLP GAN beyond mode counting.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from gan import GanError


@dataclass
class TwoMoons:
    """Two interleaving half circles with Gaussian noise, centred on the origin."""

    noise: float = 0.05  # std of the isotropic Gaussian noise added to each point
    name: str = "two-moons"
    dim: int = 2

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        upper = torch.rand(n, generator=generator) < 0.5
        t = torch.rand(n, generator=generator) * math.pi
        x = torch.where(upper, t.cos(), 1 - t.cos())
        y = torch.where(upper, t.sin(), 0.5 - t.sin())
        pts = torch.stack([x - 0.5, y - 0.25], 1)
        return pts + self.noise * torch.randn(n, 2, generator=generator)


@dataclass
class Spiral:
    """Two interleaved spiral arms (1.5 turns each by default), radius growing to 1."""

    turns: float = 1.5  # turns of each arm around the origin
    noise: float = 0.02  # std of the isotropic Gaussian noise added to each point
    name: str = "spiral"
    dim: int = 2

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        arm = (torch.rand(n, generator=generator) < 0.5).float()
        # sqrt spreads points evenly along the arm's length (which grows with the radius)
        r = torch.rand(n, generator=generator).sqrt() * 0.95 + 0.05
        angle = r * self.turns * 2 * math.pi + arm * math.pi
        pts = torch.stack([r * angle.cos(), r * angle.sin()], 1)
        return pts + self.noise * torch.randn(n, 2, generator=generator)


@dataclass
class PointFile:
    """Points read from a CSV file; ``sample`` draws rows uniformly with replacement."""

    points: torch.Tensor  # (N, dim) float32
    name: str = "csv-points"

    @property
    def dim(self) -> int:
        return self.points.shape[1]

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        idx = torch.randint(len(self.points), (n,), generator=generator)
        return self.points[idx]


SHAPES = {"two-moons": TwoMoons, "spiral": Spiral}


def shape_factory(name: str) -> Any:
    """Dataset factory for a shape generated in code: ``factory(root, config) -> shape``."""
    cls = SHAPES[name]

    def factory(root: Path | None, config: Any) -> Any:
        if root is not None:
            raise GanError(f"--dataset {name} is generated in code; it takes no --data-root")
        return cls()

    factory.__doc__ = cls.__doc__
    return factory


def read_points_csv(path: Path) -> PointFile:
    """Parse ``path``: one point per line, comma-separated numbers, an optional header line.

    Blank lines and lines starting with ``#`` are skipped. Every row must have the same number of
    finite numbers; anything else is a one-line :class:`gan.GanError` naming the file and line.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise GanError(f"{path}: cannot read points file ({type(e).__name__}: {e})") from None
    rows: list[list[float]] = []
    width = None
    for lineno, line in enumerate(text.splitlines(), 1):
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        fields = [f.strip() for f in s.split(",")]
        try:
            values = [float(f) for f in fields]
        except ValueError:
            if not rows and width is None:  # a header line such as "x,y"
                width = len(fields)
                continue
            raise GanError(f"{path} line {lineno}: expected comma-separated numbers, "
                           f"got {s[:60]!r}") from None
        if width is None:
            width = len(values)
        if len(values) != width:
            raise GanError(f"{path} line {lineno}: expected {width} numbers per row, got {len(values)}")
        if not all(math.isfinite(v) for v in values):
            raise GanError(f"{path} line {lineno}: non-finite value in {s[:60]!r}")
        rows.append(values)
    if len(rows) < 2:
        raise GanError(f"{path}: expected at least 2 rows of comma-separated numbers, found {len(rows)}")
    return PointFile(torch.tensor(rows, dtype=torch.float32))


def csv_points(root: Path | None, config: Any) -> PointFile:
    """Points from a CSV file (--data-root FILE.csv, or a folder holding points.csv)."""
    if root is None:
        raise GanError("--dataset csv-points needs --data-root FILE.csv (or a folder holding points.csv)")
    path = root / "points.csv" if root.is_dir() else root
    if not path.is_file():
        raise GanError(f"--data-root {root}: no such file; expected a CSV file of points "
                       f"(or a folder holding points.csv)")
    return read_points_csv(path)
