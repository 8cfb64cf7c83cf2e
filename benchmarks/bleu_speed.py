"""Speed of the pool BLEU protocol: precomputed reference statistics vs Texygen's per-sentence nltk way.

Texygen scores every generated sentence with ``nltk.translate.bleu_score.sentence_bleu`` against the
whole reference set, once per n-gram order, rebuilding the references' n-gram counts each time.
``gan_seqgan.bleu`` summarises the pool once (max count per n-gram, sorted reference lengths). This
script times both on the same sentences — the nltk way on a subsample, extrapolated linearly to all
hypotheses (its cost is the same for every hypothesis: it is dominated by the pass over the pool) —
checks that the two agree on that subsample, and prints the ratio. It also times Self-BLEU on all
sentences (each against all the others).

    python benchmarks/bleu_speed.py --data-root /work/shared/data/image_coco/image_coco.txt

Cases: (1) with one file, its first half are the "hypotheses" and its second half the pool
(``--refs FILE``: the whole ``--data-root`` file vs FILE); (2) the full-size case: every sentence of
the file with its word order shuffled (seeded; so nothing is trivially in the pool) vs all of the
file's sentences as the pool — 10k × 10k on the COCO captions; (3) Self-BLEU of all sentences.
"""

from __future__ import annotations

import argparse
import math
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "core"), str(ROOT / "plugins")]

from gan_seqgan.bleu import bleu_against_pool, self_bleu  # noqa: E402
from gan_seqgan.text import read_sentences  # noqa: E402


def nltk_texygen(hyps: list[str], refs: list[str], max_n: int) -> tuple[dict[int, float], float]:
    """Texygen's loop (nltk sentence_bleu per hypothesis per order); returns means and seconds."""
    from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu
    from sacrebleu.tokenizers.tokenizer_13a import Tokenizer13a

    tok = Tokenizer13a()
    smooth = SmoothingFunction().method1
    t0 = time.perf_counter()
    ref_tokens = [tok(r).split() for r in refs]
    means = {}
    for n in range(2, max_n + 1):
        weights = (1.0 / n,) * n
        scores = [sentence_bleu(ref_tokens, tok(h).split(), weights, smoothing_function=smooth) for h in hyps]
        means[n] = math.fsum(scores) / len(scores)
    return means, time.perf_counter() - t0


def run_case(name: str, hyps: list[str], refs: list[str], max_n: int, nltk_sample: int) -> None:
    print(f"\n== {name}: {len(hyps)} hypotheses vs a pool of {len(refs)}, BLEU-2..{max_n}")
    t0 = time.perf_counter()
    fast = bleu_against_pool(hyps, refs, max_n=max_n)
    t_fast = time.perf_counter() - t0
    print(f"pool statistics (gan_seqgan.bleu): {t_fast:8.2f} s   "
          + "  ".join(f"BLEU-{n} {fast[f'bleu-{n}']:.4f}" for n in range(2, max_n + 1)))
    print(f"  signature: {fast['signature']}")
    sub = hyps[:nltk_sample]
    slow_means, t_slow_sub = nltk_texygen(sub, refs, max_n)
    t_slow = t_slow_sub * len(hyps) / len(sub)
    check = bleu_against_pool(sub, refs, max_n=max_n)
    diff = max(abs(check[f"bleu-{n}"] - slow_means[n]) for n in range(2, max_n + 1))
    print(f"nltk per sentence (Texygen way): {t_slow_sub:8.2f} s for {len(sub)} hypotheses -> "
          f"{t_slow:,.0f} s ({t_slow / 3600:.2f} h) extrapolated to {len(hyps)}")
    print(f"  agreement on the {len(sub)} subsampled hypotheses: max |difference| = {diff:.2e}")
    print(f"speed-up: {t_slow / t_fast:,.0f}x")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data-root", type=Path, required=True, help="text file, one sentence per line")
    ap.add_argument("--refs", type=Path, default=None, help="reference pool file (default: 2nd half of --data-root)")
    ap.add_argument("--max-n", type=int, default=5)
    ap.add_argument("--nltk-sample", type=int, default=20, help="hypotheses scored the nltk way (extrapolated)")
    args = ap.parse_args()

    lines = read_sentences(args.data_root).texts
    if args.refs is None:
        half = len(lines) // 2
        cases = [("halves", lines[:half], lines[half:])]
    else:
        cases = [("files", lines, read_sentences(args.refs).texts)]
    rng = random.Random(0)
    shuffled = []
    for line in lines:
        words = line.split()
        rng.shuffle(words)
        shuffled.append(" ".join(words))
    cases.append(("full, shuffled word order", shuffled, lines))
    for name, hyps, refs in cases:
        run_case(name, hyps, refs, args.max_n, args.nltk_sample)

    t0 = time.perf_counter()
    sb = self_bleu(lines, max_n=args.max_n)
    t_sb = time.perf_counter() - t0
    print(f"\n== Self-BLEU of all {len(lines)} sentences (each vs the other {len(lines) - 1}): {t_sb:.2f} s   "
          + "  ".join(f"{n}: {sb[f'self-bleu-{n}']:.4f}" for n in range(2, args.max_n + 1)))


if __name__ == "__main__":
    main()
