"""Export every generator family with ``gan export``'s code path and print parity, time and size.

    python benchmarks/export_parity.py [--formats onnx,torchscript] [--models dcgan,cyclegan,...] [--paper]

Models are built untrained from their ``tiny`` preset (parity does not depend on training);
``--paper`` adds pix2pix (U-Net-256) and CycleGAN (ResNet-9) at their paper sizes (256×256, width 64).
Times are wall-clock on this machine, including the parity runs on 3 inputs.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import torch

from gan.export import export_run
from gan.runs import build_recipe

MODELS = ["dcgan", "gan", "cgan", "acgan", "infogan", "wgan-gp", "lsgan", "ebgan", "lapgan",
          "pix2pix", "cyclegan", "stargan", "srgan", "seqgan"]
PAPER = {"pix2pix": ["ngf=64", "data.image_size=256", "data.load_size=286", "n_layers_d=3", "data.embedded_size=16"],
         "cyclegan": ["ngf=64", "n_blocks=9", "data.image_size=256", "data.load_size=286", "n_layers_d=3", "data.embedded_size=16"]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--formats", default="torchscript,onnx")
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--paper", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(1)
    jobs = [(m, "tiny", []) for m in args.models.split(",")]
    if args.paper:
        jobs += [(m, "paper-size", sets) for m, sets in PAPER.items()]
    print(f"torch {torch.__version__}; 1 thread")
    print(f"{'model':<10} {'config':<10} {'format':<11} {'module':<6} {'max |diff|':>10} {'time s':>7} {'size MB':>8}")
    with tempfile.TemporaryDirectory() as tmp:
        for model, label, sets in jobs:
            recipe = build_recipe(model, preset="tiny", device="cpu",
                                  assignments=[tuple(s.split("=", 1)) for s in sets]).recipe
            for m in recipe.models.values():
                m.eval()
            for fmt in args.formats.split(","):
                out = Path(tmp) / f"{model}-{label}.{'onnx' if fmt == 'onnx' else 'pt'}"
                for r in export_run(recipe, fmt, out):
                    print(f"{model:<10} {label:<10} {fmt:<11} {r.spec:<6} {r.max_diff:>10.2e} {r.seconds:>7.1f} "
                          f"{r.bytes / 1e6:>8.2f}", flush=True)


if __name__ == "__main__":
    main()
