"""What ``gan export`` deploys for pix2pix, CycleGAN and StarGAN: the generators, image → image.

All three generators are fully convolutional: the files take any batch size and any height and
width (inputs are padded internally to the generator's stride and the output cropped back, as
``gan translate --scale native`` does). Images are ``NCHW`` float32 in ``[-1, 1]``.

pix2pix: the paper keeps dropout on at test time as the generator's noise source; ``gan translate``
does the same (``test_dropout=True``). An exported file by default has dropout *off*: it is then a
deterministic function, and its output is the mean-field approximation of the stochastic generator
(each activation scaled by its keep rate in expectation) — smoother than any single
``gan translate`` draw and equal to none. ``--test-dropout`` keeps dropout on: every call draws
fresh masks from the runtime's RNG. Only TorchScript shares torch's RNG, so only it can be checked
for parity (with the same ``torch.manual_seed`` on both sides); ONNX is refused with test dropout.
With ``norm=batch`` (the paper's) normalisation uses the statistics of the batch being translated,
as the paper does at test time: one image's output depends on the others in its batch.
"""

from __future__ import annotations

from typing import Any

import torch

from gan.errors import GanError
from gan.export import ExportSpec, check_options, inference_copy, parity_sizes

PIXELS = {"layout": "NCHW", "dtype": "float32", "range": [-1.0, 1.0],
          "from_uint8": "pixel / 127.5 - 1", "to_uint8": "round((clamp(y, -1, 1) + 1) * 127.5)"}


def _image_inputs(channels: int) -> Any:
    def make(n: int, size: tuple[int, int], gen: torch.Generator) -> tuple[torch.Tensor, ...]:
        return (torch.rand(n, channels, *size, generator=gen) * 2 - 1,)
    return make


def _image_spec(name: str, module: torch.nn.Module, in_ch: int, out_ch: int, image_size: int,
                meta: dict[str, Any], **kw: Any) -> ExportSpec:
    meta = {"inputs": [{"name": "image", "shape": ["batch", in_ch, "height", "width"], **PIXELS}],
            "outputs": [{"name": "translated", "shape": ["batch", out_ch, "height", "width"], **PIXELS}],
            "spatial_size": "any height and width (trained at "
                            f"{image_size}×{image_size}); output has the input's size", **meta}
    return ExportSpec(name, module, ["image"], ["translated"], _image_inputs(in_ch),
                      sizes=parity_sizes(image_size), spatial_inputs=("image",), metadata=meta, **kw)


def pix2pix_modules(recipe: Any, test_dropout: bool = False, **options: Any) -> list[ExportSpec]:
    check_options(recipe.name, options, ("test_dropout",))
    c = recipe.config
    in_ch, out_ch = recipe.pairs.channels
    g = inference_copy(recipe.eval_model("G"), dropout=test_dropout)
    note = ("dropout on: each call draws new masks (the paper's noise source); not reproducible "
            "across runtimes" if test_dropout else
            "dropout off: deterministic; the mean-field approximation of pix2pix's stochastic test-time "
            "generator, so it equals no single `gan translate` draw (which keeps dropout on)")
    meta = {"direction": c.data.direction, "test_dropout": test_dropout, "dropout_note": note,
            "normalization": ("batch statistics of the batch being translated (as pix2pix at test "
                              "time): outputs depend on the batch; translate one image per call for "
                              "batch-independent results") if c.norm == "batch" else c.norm,
            "inference": "eval mode; EMA weights when the run kept them"}
    unsupported = {"onnx": "--test-dropout draws masks from the runtime's RNG, which cannot be checked "
                           "against PyTorch; use --format torchscript or leave --test-dropout out"} \
        if test_dropout else {}
    return [_image_spec("G", g, in_ch, out_ch, c.data.image_size, meta, unsupported=unsupported,
                        stochastic=test_dropout)]


def cyclegan_modules(recipe: Any, direction: str | None = None, **options: Any) -> list[ExportSpec]:
    check_options(recipe.name, options, ("direction",))
    if direction not in (None, "AtoB", "BtoA"):
        raise GanError(f"--direction {direction!r}: expected AtoB or BtoA")
    ca, cb = recipe.domains.channels
    specs = []
    for name, d, cin, cout in (("G_AB", "AtoB", ca, cb), ("G_BA", "BtoA", cb, ca)):
        if direction in (None, d):
            meta = {"direction": d, "inference": "eval mode (instance norm: per-image statistics); "
                                                 "EMA weights when the run kept them"}
            specs.append(_image_spec(name, inference_copy(recipe.eval_model(name)), cin, cout,
                                     recipe.config.data.image_size, meta))
    return specs


def stargan_modules(recipe: Any, **options: Any) -> list[ExportSpec]:
    check_options(recipe.name, options, ())
    ch, size = recipe.attributes.channels, recipe.config.data.image_size
    labels = recipe.labels
    g = inference_copy(recipe.eval_model("G"))

    def make(n: int, hw: tuple[int, int], gen: torch.Generator) -> tuple[torch.Tensor, ...]:
        x = torch.rand(n, ch, *hw, generator=gen) * 2 - 1
        if labels.mode == "single":
            c = torch.nn.functional.one_hot(torch.randint(labels.dim, (n,), generator=gen), labels.dim).float()
        else:
            c = torch.randint(0, 2, (n, labels.dim), generator=gen).float()
        return x, c

    meta = {"inputs": [{"name": "image", "shape": ["batch", ch, "height", "width"], **PIXELS},
                       {"name": "target", "shape": ["batch", labels.dim], "dtype": "float32",
                        "attributes": labels.names,
                        "groups": [[labels.names[i] for i in grp] for grp in labels.groups],
                        "meaning": ("one-hot target domain" if labels.mode == "single" else
                                    "target attribute vector, 1 = present, 0 = absent; at most one "
                                    "member of a group set")}],
            "outputs": [{"name": "translated", "shape": ["batch", ch, "height", "width"], **PIXELS}],
            "spatial_size": f"any height and width (trained at {size}×{size}); output has the input's size",
            "inference": "eval mode (affine instance norm: per-image statistics); EMA weights when kept",
            "note": "`gan translate` fills attributes a user leaves unspecified from the discriminator's "
                    "estimate; the exported generator takes the full target vector"}
    return [ExportSpec("G", g, ["image", "target"], ["translated"], make, sizes=parity_sizes(size),
                       spatial_inputs=("image",), metadata=meta)]
