"""Cost of verifying every image file when a dataset is opened (issue 10.5).

Writes N small generated images (half PNG, half JPEG; RGB, a few grayscale) to a temporary folder,
then times :func:`gan.images.verify_images` over them (each file decoded completely; JPEGs in draft
mode) against a plain full decode with Pillow (``Image.open(...).load()``), both with the files in
the page cache (they are read once before timing). Prints files/s and the total.

    python benchmarks/verify_images.py --n 10000 --size 64
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "core"), str(ROOT / "plugins")]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--size", type=int, default=64)
    args = ap.parse_args()
    import numpy as np
    from PIL import Image

    from gan.images import verify_images
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as d:
        files = []
        for i in range(args.n):
            gray = i % 50 == 0
            shape = (args.size, args.size) if gray else (args.size, args.size, 3)
            img = Image.fromarray(rng.integers(0, 255, shape, dtype=np.uint8))
            p = Path(d) / f"{i:05d}.{'png' if i % 2 else 'jpg'}"
            img.save(p)
            files.append(p)
        size_mb = sum(len(p.read_bytes()) for p in files) / 2**20  # both timings start warm
        t = time.perf_counter()
        scan = verify_images(files)
        verify_s = time.perf_counter() - t
        t = time.perf_counter()
        for p in files:
            with Image.open(p) as img:
                img.load()
        full_s = time.perf_counter() - t
    print(f"{args.n} files of {args.size}x{args.size} ({size_mb:.1f} MB, half PNG / half JPEG): "
          f"verify_images {verify_s:.2f} s ({args.n / verify_s:.0f} files/s, {1e3 * verify_s / args.n:.3f} ms/file); "
          f"plain full decode {full_s:.2f} s; grayscale found: {scan.channels.count(1)}")


if __name__ == "__main__":
    main()
