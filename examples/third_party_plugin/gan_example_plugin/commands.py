"""``gan example-preview``: draw a scatter plot of any registered ``points`` dataset."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("example-preview")
@click.argument("dataset")
@click.option("-n", "num", default=2000, type=click.IntRange(min=1), help="Points to draw.")
@click.option("--data-root", default=None, type=click.Path(path_type=Path),
              help="Where the dataset's files are (csv-points).")
@click.option("--out", default=Path("preview.png"), type=click.Path(path_type=Path),
              help="PNG file to write.")
@click.option("--seed", default=0, type=int)
def preview(dataset: str, num: int, data_root: Path | None, out: Path, seed: int) -> None:
    """Plot NUM points of a points DATASET (two-moons, spiral, csv-points, ring-8, ...)."""
    from gan import GanError
    import torch  # here, not at module level: `gan --help` builds this command without torch

    from .plot import REAL, scatter
    pm = click.get_current_context().obj  # the plugin manager `gan` built (with -p no: applied)
    entry = pm.registry("dataset").entry(dataset)  # unknown name: lists the choices
    if entry.meta.get("kind") != "points":
        raise GanError(f"dataset {dataset!r} holds {entry.meta.get('kind')} data, not points")
    data = entry.obj(data_root.expanduser() if data_root else None, None)
    pts = data.sample(num, torch.Generator().manual_seed(seed))
    if pts.shape[1] != 2:
        raise GanError(f"dataset {dataset!r} has {pts.shape[1]}-D points; only 2-D can be plotted")
    click.echo(str(scatter([(pts, REAL)], out)))
