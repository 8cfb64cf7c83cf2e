"""``gan translate``: apply a trained pix2pix / CycleGAN / StarGAN model to image files.

Each input file is written under ``--output`` with the same relative path, name, format (by
extension) and pixel size. By default (``--scale train``) an image is scaled so that its shorter
side matches the model's training size, translated (the generators are fully convolutional and pad
internally to their stride), and the result resized back to the original size; ``--scale native``
runs the model at the file's own resolution.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click


def _files(input_path: Path) -> tuple[Path, list[Path]]:
    from gan.errors import GanError
    from gan.images import IMAGE_EXTENSIONS, list_images
    if input_path.is_file():
        if input_path.suffix.lower() not in IMAGE_EXTENSIONS:
            raise GanError(f"--input {input_path}: not an image file ({', '.join(IMAGE_EXTENSIONS[:4])}, ...)")
        return input_path.parent, [input_path]
    if not input_path.exists():
        raise GanError(f"--input {input_path}: no such file or folder")
    return input_path, list_images(input_path, what="images to translate")


def _write(image: Any, path: Path) -> Path:
    """Save a ``(C, H, W)`` [-1, 1] tensor in the format its extension names (atomically)."""
    from PIL import Image

    from gan.errors import GanError
    from gan.images import to_uint8
    a = to_uint8(image.cpu()).permute(1, 2, 0).numpy()
    img = Image.fromarray(a[:, :, 0] if a.shape[2] == 1 else a)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    fmt = Image.registered_extensions().get(path.suffix.lower())
    if fmt is None:
        raise GanError(f"{path}: cannot write images with extension {path.suffix!r}")
    try:
        options = {"quality": 95} if fmt in ("JPEG", "WEBP") else {}
        img.save(tmp, format=fmt, **options)
        tmp.replace(path)
    except (OSError, ValueError, KeyError) as e:
        tmp.unlink(missing_ok=True)
        raise GanError(f"{path}: cannot write ({type(e).__name__}: {e})") from None
    return path


def translate_files(recipe: Any, files: list[Path], base: Path, output: Path, options: dict[str, Any],
                    scale: str = "train", seed: int = 0) -> list[Path]:
    """Translate ``files`` (relative to ``base``) into ``output``; returns the written paths."""
    import torch.nn.functional as F

    from gan.images import read_image
    channels = recipe.input_channels(**options)
    size = recipe.config.data.image_size
    factor = getattr(recipe, "scale_factor", 1)  # super-resolution: output is factor× the input
    written = []
    for f in files:
        x = read_image(f, channels)[None]
        h, w = x.shape[-2:]
        if scale == "train" and factor == 1 and min(h, w) != size:
            k = size / min(h, w)
            shape = (max(1, round(h * k)), max(1, round(w * k)))
            x = F.interpolate(x, size=shape, mode="bilinear", align_corners=False, antialias=k < 1)
        y = recipe.translate(x, seed=seed, **options).float().cpu()
        h, w = h * factor, w * factor
        if tuple(y.shape[-2:]) != (h, w):
            y = F.interpolate(y, size=(h, w), mode="bilinear", align_corners=False,
                              antialias=y.shape[-2] > h).clamp(-1, 1)
        written.append(_write(y[0], output / f.relative_to(base)))
    return written


@click.command("translate")
@click.option("--run-dir", default=None, type=click.Path(path_type=Path), help="A trained run.")
@click.option("--checkpoint", default=None, type=click.Path(path_type=Path), help="A checkpoint file.")
@click.option("--input", "input_path", required=True, type=click.Path(path_type=Path),
              help="An image file or a folder of images (searched recursively).")
@click.option("--output", "output_path", required=True, type=click.Path(path_type=Path),
              help="Folder for the translated images (same relative names, sizes and formats).")
@click.option("--direction", default=None, type=click.Choice(["AtoB", "BtoA"]),
              help="CycleGAN: which generator to apply (default AtoB); pix2pix: must match training.")
@click.option("--target-attrs", "target_attrs", multiple=True, metavar="NAME[=0|1],...",
              help="StarGAN target, e.g. Blond_Hair or Blond_Hair,Male=0 (unlisted attributes keep the "
                   "values the discriminator estimates for each input).")
@click.option("--scale", default="train", type=click.Choice(["train", "native"]),
              help="train: shorter side scaled to the training size and back (default); native: as is.")
@click.option("--seed", default=0, type=int, help="Seed of test-time dropout (pix2pix).")
@click.option("--device", default="auto", help="auto, cpu, cuda or cuda:N.")
@click.option("--data-root", default=None, type=click.Path(path_type=Path),
              help="Where the run's training data is now, if it moved since training.")
def translate_command(run_dir: Path | None, checkpoint: Path | None, input_path: Path, output_path: Path,
                      direction: str | None, target_attrs: tuple[str, ...], scale: str, seed: int,
                      device: str, data_root: Path | None) -> None:
    """Translate images with a trained pix2pix, CycleGAN or StarGAN model (SRResNet/SRGAN: upscale ×4)."""
    from gan.errors import GanError
    from gan.runs import load_run
    if (run_dir is None) == (checkpoint is None):
        raise GanError("give exactly one of --run-dir or --checkpoint")
    base, files = _files(input_path)
    output_path = output_path.expanduser()
    if output_path.exists() and not output_path.is_dir():
        raise GanError(f"--output {output_path}: exists and is not a folder")
    if output_path.resolve() == base.resolve():
        raise GanError(f"--output {output_path}: is the input folder; choose another folder")
    recipe = load_run(checkpoint if checkpoint is not None else run_dir, device=device, data_root=data_root,
                      pm=click.get_current_context().obj)  # the manager `gan` built
    if not all(hasattr(recipe, a) for a in ("translate", "resolve_translate_options", "input_channels")):
        raise GanError(f"model {recipe.name!r} is not a translation model (pix2pix, cyclegan, stargan, "
                       f"srresnet, srgan)")
    options = recipe.resolve_translate_options(direction, target_attrs)
    written = translate_files(recipe, files, base, output_path, options, scale=scale, seed=seed)
    click.echo(f"translated {len(written)} image(s) with {recipe.name} -> {output_path}")
