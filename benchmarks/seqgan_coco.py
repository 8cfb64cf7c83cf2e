"""MLE vs SeqGAN on the COCO captions: BLEU-2..5 against a held-out pool, Self-BLEU, test NLL.

The comparison of the SeqGAN paper and of Texygen (Zhu et al. 2018): the generator after MLE
pre-training (the "MLE" baseline) against the same generator after SeqGAN's adversarial training.
One run of the ``seqgan`` recipe gives both — the samples are drawn when the MLE pre-training stage
ends and again when the run ends — so both rows share the data, tokenizer, seed and pre-training.
A "real" row (held-out-free training sentences scored against the same test pool) is the ceiling.

    python benchmarks/seqgan_coco.py --data-root /work/shared/data/image_coco/image_coco.txt \\
        [--preset paper] [--set key=value ...] [--test-fraction 0.1] [--n-samples 1000] [--device auto]

Protocol (printed with the figures): a seeded held-out split of the corpus (``data.test_fraction``)
is the reference pool; each generated sentence is scored against the whole pool with sentence BLEU
(nltk method1 smoothing, uniform weights, closest-length brevity penalty; ``gan_seqgan.bleu``) and
the scores are averaged; Self-BLEU scores each sample against the other samples. Scores are 0–1.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "core"), str(ROOT / "plugins")]

import torch  # noqa: E402

from gan.config import RunConfig, parse_assignments, resolve_config, to_jsonable  # noqa: E402
from gan.errors import GanError  # noqa: E402


def load_recipe_class():
    try:
        from gan_seqgan.seqgan import SeqGAN  # the recipe (written alongside this benchmark)
    except ImportError as e:
        raise SystemExit(f"gan_seqgan.seqgan is not importable yet ({e}); this benchmark needs the SeqGAN recipe")
    return SeqGAN


class _Override:
    """Attribute view of a config group with some fields replaced."""

    def __init__(self, base, **values) -> None:
        self._base, self._values = base, values

    def __getattr__(self, name: str):
        if name in self._values:
            return self._values[name]
        if self._base is None:
            raise AttributeError(name)
        return getattr(self._base, name)


def as_text(samples, corpus) -> list[str]:
    if isinstance(samples, torch.Tensor):
        return corpus.decode_batch(samples.cpu())
    if isinstance(samples, (list, tuple)) and samples and isinstance(samples[0], str):
        return list(samples)
    if isinstance(samples, (list, tuple)) and samples and isinstance(samples[0], torch.Tensor):
        return corpus.decode_batch(torch.cat([s.reshape(-1, s.shape[-1]).cpu() for s in samples]))
    raise SystemExit(f"recipe.sample returned {type(samples).__name__}; expected token ids or strings")


def test_nll(recipe, corpus) -> float | None:
    """Per-token negative log-likelihood of the test set under the generator (masked after eos)."""
    from gan_seqgan.oracle import sequence_nll

    if corpus.test is None:
        return None
    with torch.no_grad():
        return sequence_nll(recipe.eval_model("G"), corpus.test)


def score(name: str, sentences: list[str], pool, self_bleu_fn, max_n: int, seconds: float | None) -> dict:
    t0 = time.perf_counter()
    b = pool.score(sentences)
    s = self_bleu_fn(sentences, max_n=max_n)
    row = {"model": name, "n": len(sentences), "sample_s": seconds, "score_s": time.perf_counter() - t0}
    row.update({k: v for k, v in b.items() if k.startswith("bleu-")})
    row.update({k: v for k, v in s.items() if k.startswith("self-bleu-")})
    row["signature"], row["self_signature"] = b["signature"], s["signature"]
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data-root", type=Path, required=True, help="captions file (one per line) or folder")
    ap.add_argument("--preset", default=None, help="recipe preset (e.g. paper, tiny)")
    ap.add_argument("--set", dest="assignments", action="append", default=[], metavar="KEY=VALUE",
                    help="recipe Config override (repeatable), e.g. --set data.max_len=32")
    ap.add_argument("--test-fraction", type=float, default=None,
                    help="held-out share when there is no test file (default: data.test_fraction, 0.1)")
    ap.add_argument("--n-samples", type=int, default=None, help="generated sentences per model "
                    "(default: as many as the test set)")
    ap.add_argument("--max-n", type=int, default=5)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--progress", action="store_true", help="show the trainer's progress bar")
    ap.add_argument("--out", type=Path, default=Path("runs/seqgan_coco"), help="samples, tokenizer, results")
    args = ap.parse_args()

    from gan.trainer import AdversarialTrainer, resolve_device
    from gan_seqgan.bleu import ReferencePool, self_bleu
    from gan_seqgan.text import make_text_dataset

    SeqGAN = load_recipe_class()
    run = RunConfig(seed=args.seed, device=args.device, progress=args.progress, tensorboard=False,
                    log_every=100, ckpt_every=0)
    cfg = resolve_config(SeqGAN.Config, run, presets=getattr(SeqGAN, "presets", {}), preset=args.preset,
                         toml=None, assignments=parse_assignments(args.assignments))
    # the split settings of this benchmark, whatever fields the recipe's data Config has
    split = {} if args.test_fraction is None else {"test_fraction": args.test_fraction}
    corpus_cfg = SimpleNamespace(data=_Override(getattr(cfg, "data", None), **split), seed=args.seed)
    t0 = time.perf_counter()
    corpus = make_text_dataset(args.data_root, corpus_cfg)
    print(f"corpus: {corpus} in {time.perf_counter() - t0:.1f} s; stats: "
          f"train {corpus.stats['train']}, test {corpus.stats.get('test')}", flush=True)
    if corpus.test is None:
        raise SystemExit("no test set: give --test-fraction > 0 or data.test_path")
    args.out.mkdir(parents=True, exist_ok=True)
    corpus.save(args.out)
    n = args.n_samples or len(corpus.test_text)

    device = resolve_device(args.device)
    from gan.checkpoint import seed_everything
    seed_everything(args.seed)
    recipe = SeqGAN(cfg, device=device, data=corpus, run=run)
    trainer = AdversarialTrainer(recipe, run, run_dir=None)
    stages = recipe.stages()
    names = [s.name for s in stages]
    mle_index = next((i for i, s in enumerate(stages) if "pretrain_g" in s.name or "mle" in s.name.lower()), 0)
    mle_steps = sum(s.steps for s in stages[: mle_index + 1])
    print(f"stages: {', '.join(f'{s.name}={s.steps}' for s in stages)}; device {device}; "
          f"config: {json.dumps(to_jsonable(cfg))}", flush=True)

    pool = ReferencePool(corpus.test_text, max_n=args.max_n)
    gen = torch.Generator().manual_seed(args.seed)
    pick = torch.randperm(len(corpus.train_text), generator=gen)[:n].tolist()
    rows = [score("real (train sentences)", [corpus.train_text[i] for i in pick], pool, self_bleu, args.max_n, None)]
    rows[-1]["test_nll"] = None

    results_samples = {}
    for label, max_steps in ((f"MLE (after {names[mle_index]})", mle_steps), ("SeqGAN", None)):
        run.max_steps = max_steps
        trainer.config.max_steps = max_steps
        t0 = time.perf_counter()
        trainer.fit()
        train_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        sentences = as_text(recipe.sample(n, seed=args.seed), corpus)
        sample_s = time.perf_counter() - t0
        row = score(label, sentences, pool, self_bleu, args.max_n, sample_s)
        row["train_s"], row["steps"], row["test_nll"] = train_s, trainer.step, test_nll(recipe, corpus)
        rows.append(row)
        results_samples[label] = sentences
        (args.out / f"samples_{'mle' if max_steps else 'seqgan'}.txt").write_text("\n".join(sentences) + "\n",
                                                                              encoding="utf-8")
        print(f"{label}: {trainer.step} steps in {train_s:.0f} s; e.g. " + " | ".join(sentences[:3]), flush=True)

    header = ["model", "n"] + [f"bleu-{k}" for k in range(2, args.max_n + 1)] + \
             [f"self-bleu-{k}" for k in range(2, args.max_n + 1)] + ["test_nll"]
    print("\n" + "  ".join(f"{h:>12}" if i else f"{h:<28}" for i, h in enumerate(header)))
    for r in rows:
        cells = [f"{r['model']:<28}", f"{r['n']:>12}"]
        cells += [f"{r[h]:>12.4f}" for h in header[2:-1]]
        cells.append(f"{r['test_nll']:>12.3f}" if r.get("test_nll") is not None else f"{'-':>12}")
        print("  ".join(cells))
    print(f"\nBLEU: each sample vs the {pool.n_refs}-sentence held-out pool, mean sentence BLEU "
          f"(0-1); signature {rows[0]['signature']}")
    print(f"Self-BLEU: each sample vs the other {n - 1} samples; signature {rows[0]['self_signature']}")
    (args.out / "results.json").write_text(json.dumps({"rows": rows, "corpus": corpus.stats}, indent=2,
                                                      default=str), encoding="utf-8")
    print(f"wrote {args.out / 'results.json'}")


if __name__ == "__main__":
    try:
        main()
    except GanError as e:
        raise SystemExit(f"error: {e}")
