"""``gan export`` and ``gan import``: take a trained generator out, bring an anchor's weights in.

The logic lives in :mod:`gan.export` and :mod:`gan.importers`; these are the click front ends.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from .errors import GanError


@click.command("export")
@click.option("--run-dir", default=None, type=click.Path(path_type=Path), help="A trained run.")
@click.option("--checkpoint", default=None, type=click.Path(path_type=Path), help="A checkpoint file.")
@click.option("--format", "fmt", default="onnx", type=click.Choice(["onnx", "torchscript"]),
              help="onnx (default; needs the 'export' extra) or torchscript.")
@click.option("--out", default=None, type=click.Path(path_type=Path),
              help="Output file (default <run-dir>/export/<model>.onnx|.pt); models with several "
                   "generators (cyclegan) get -<name> before the suffix.")
@click.option("--direction", default=None, type=click.Choice(["AtoB", "BtoA"]),
              help="CycleGAN: export only this generator (default both).")
@click.option("--test-dropout", is_flag=True,
              help="pix2pix: keep dropout on in the file (stochastic; TorchScript only).")
@click.option("--data-root", default=None, type=click.Path(path_type=Path),
              help="Where the run's training data is now, if it moved since training.")
def export_command(run_dir: Path | None, checkpoint: Path | None, fmt: str, out: Path | None,
                   direction: str | None, test_dropout: bool, data_root: Path | None) -> None:
    """Export a run's generator (ONNX or TorchScript), checked against PyTorch before writing.

    The file is written only if it reproduces the PyTorch module within 1e-4 (max absolute
    difference, fp32) on inputs of several batch sizes (and spatial sizes for image translators).
    """
    from .export import TOLERANCE, export_run
    from .runs import load_run
    if (run_dir is None) == (checkpoint is None):
        raise GanError("give exactly one of --run-dir or --checkpoint")
    recipe = load_run(checkpoint if checkpoint is not None else run_dir, device="cpu", data_root=data_root,
                      pm=click.get_current_context().obj)  # the manager `gan` built
    options: dict[str, Any] = {}
    if direction is not None:
        options["direction"] = direction
    if test_dropout:
        options["test_dropout"] = True
    for r in export_run(recipe, fmt, out, options):
        click.echo(f"{r.path}  ({r.format}, {r.spec}, {r.bytes / 1e6:.2f} MB, {r.seconds:.1f} s; parity: "
                   f"max |diff| {r.max_diff:.2g} <= {TOLERANCE:g} on {r.cases} inputs)")


def import_command(pm: Any) -> click.Command:
    @click.command("import")
    @click.option("--from", "source", required=True,
                  type=click.Choice(["cyclegan-and-pix2pix", "stargan", "pytorch-gan"]),
                  help="The project the weights come from.")
    @click.argument("weights", type=click.Path(path_type=Path))
    @click.option("--plugin", "model", required=True, help="Our model to load them into (pix2pix, "
                  "cyclegan, stargan, dcgan, ...).")
    @click.option("--set", "sets", multiple=True, metavar="KEY=VALUE",
                  help="Config values of our model (sizes are inferred from the weights when not set).")
    @click.option("--preset", default=None, help="Named partial config of our model.")
    @click.option("--dataset", default=None, help="Dataset the run refers to (default: the model's built-in).")
    @click.option("--data-root", default=None, type=click.Path(path_type=Path),
                  help="Where --dataset's files are (the run refers to them like a trained one).")
    @click.option("--direction", default=None, type=click.Choice(["AtoB", "BtoA"]),
                  help="CycleGAN: which of our generators a single G file becomes (default AtoB); "
                       "pass the G_A file of a CycleGAN checkpoint pair as WEIGHTS and its G_B file "
                       "with --weights-b.")
    @click.option("--weights-b", default=None, type=click.Path(path_type=Path),
                  help="CycleGAN: the second generator file (latest_net_G_B.pth).")
    @click.option("--run-dir", required=True, type=click.Path(path_type=Path), help="Run directory to write.")
    def import_cmd(source: str, weights: Path, model: str, sets: tuple[str, ...], preset: str | None,
                   dataset: str | None, data_root: Path | None, direction: str | None,
                   weights_b: Path | None, run_dir: Path) -> None:
        """Load a generator checkpoint of another project into a new run directory.

        The run then works with gan sample / translate / eval / export like a trained one (its
        discriminator is freshly initialised: it was not imported).
        """
        from .config import parse_assignments
        from .importers import import_weights
        path = import_weights(source, weights, model, assignments=parse_assignments(sets), preset=preset,
                              dataset=dataset, data_root=data_root, run_dir=run_dir, pm=pm,
                              direction=direction, weights_b=weights_b)
        click.echo(f"imported {weights} ({source}) into {model}: {path}")
        click.echo(f"run directory: {run_dir}")

    return import_cmd
