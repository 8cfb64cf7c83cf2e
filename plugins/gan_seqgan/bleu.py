"""BLEU for generated text: the text-GAN protocol, Self-BLEU and sacrebleu's corpus BLEU.

Unconditional text GANs have no aligned references, so the literature (SeqGAN, LeakGAN, Texygen)
scores *each generated sentence against the whole test set as its reference pool* with sentence
BLEU, and averages over the generated sentences. Texygen does this with nltk's ``sentence_bleu``
(uniform weights ``1/n``, ``SmoothingFunction().method1``), which rebuilds the pool's n-gram counts
for every hypothesis: O(hyps × refs). Here the pool is summarised **once**:

* multi-reference clipping only needs, for every n-gram, the *maximum* count over the references;
* the brevity penalty only needs the set of reference lengths (closest length, ties to the shorter
  one, as nltk and sacrebleu both do), kept sorted so each lookup is a bisection.

Each hypothesis is then one n-gram extraction and a few dictionary lookups. Self-BLEU (diversity:
each sample against all *other* samples) needs the maximum over the others, which is the top count
unless the sample itself holds it — then the second-highest — so the top two counts per n-gram are
kept; the length multiset is used with the sample's own length removed.

What is sacrebleu's and what is not: tokenisation is sacrebleu's (``13a`` by default, applied to
hypotheses and references alike), n-gram extraction is
:func:`sacrebleu.metrics.helpers.extract_all_word_ngrams`, and each sentence score comes from
:meth:`sacrebleu.BLEU.compute_bleu` with the ``floor`` smoothing at 0.1 — which is nltk's
``method1`` (epsilon 0.1 added to zero-match numerators). One difference is bridged explicitly:
when a hypothesis is shorter than ``n`` it has no n-grams; nltk divides by ``max(1, 0)`` and so
smooths that order to ``0.1``, sacrebleu stops early, so totals are floored at 1 before the call.
With that the scores equal nltk's to floating-point rounding (the tests check 1e-9).

Scores are **0–1** (as Texygen prints them), not sacrebleu's 0–100. Every result carries a
sacrebleu signature string (tokeniser, smoothing, number of references, version) extended with
``refs:`` and ``avg:`` fields that say how references were used and how sentences were averaged.
"""

from __future__ import annotations

import math
import random
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Sequence

from sacrebleu.metrics.bleu import BLEU
from sacrebleu.metrics.helpers import extract_all_word_ngrams

from gan.errors import GanError

SMOOTH_METHOD = "floor"  # sacrebleu's name for Chen & Cherry method 1 == nltk SmoothingFunction().method1
SMOOTH_VALUE = 0.1  # nltk's default epsilon for method1
DEFAULT_TOKENIZE = "13a"  # sacrebleu's default (mteval-v13a) tokeniser

__all__ = ["ReferencePool", "bleu_against_pool", "self_bleu", "corpus_bleu"]


def _metric(max_n: int, tokenize: str) -> BLEU:
    if max_n < 2:
        raise GanError(f"BLEU max_n={max_n}: expected an n-gram order of at least 2")
    if tokenize not in BLEU.TOKENIZERS:
        raise GanError(f"BLEU tokenize={tokenize!r}: expected one of {', '.join(BLEU.TOKENIZERS)}")
    return BLEU(tokenize=tokenize, smooth_method=SMOOTH_METHOD, smooth_value=SMOOTH_VALUE,
                max_ngram_order=max_n)


def _signature(metric: BLEU, num_refs: int, refs_kind: str) -> str:
    metric.num_refs = num_refs  # sacrebleu sets this when it caches references; the signature reads it
    sig = metric.get_signature()
    sig.update("refs", refs_kind)
    sig.update("avg", "sentence-mean")
    return sig.format()


def _check_lines(lines: Sequence[str], what: str) -> None:
    if isinstance(lines, str):
        raise GanError(f"{what}: expected a list of sentences, got a single string")
    for i, line in enumerate(lines):
        if not isinstance(line, str):
            raise GanError(f"{what}[{i}]: expected a string, got {type(line).__name__}")


def _ngrams(metric: BLEU, lines: Sequence[str], max_n: int) -> list[tuple[Counter, int]]:
    tok = metric.tokenizer
    return [extract_all_word_ngrams(tok(line.rstrip()), 1, max_n) for line in lines]


class _Lengths:
    """A multiset of reference lengths answering "closest length, ties to the shorter" in O(log n)."""

    def __init__(self, lengths: Sequence[int]) -> None:
        self.count = Counter(lengths)
        self.sorted = sorted(self.count)

    def closest(self, hyp_len: int, exclude_own: bool = False) -> int:
        def available(x: int) -> bool:
            return self.count[x] > (1 if exclude_own and x == hyp_len else 0)

        lo = bisect_right(self.sorted, hyp_len) - 1  # largest length <= hyp_len
        hi = bisect_left(self.sorted, hyp_len)  # smallest length >= hyp_len
        while lo >= 0 and not available(self.sorted[lo]):
            lo -= 1
        while hi < len(self.sorted) and not available(self.sorted[hi]):
            hi += 1
        below = self.sorted[lo] if lo >= 0 else None
        above = self.sorted[hi] if hi < len(self.sorted) else None
        if below is None:
            assert above is not None, "closest() on an empty length set"
            return above
        if above is None or hyp_len - below <= above - hyp_len:
            return below  # ties go to the shorter reference (nltk, sacrebleu)
        return above


def _sentence_bleus(correct: list[int], total: list[int], hyp_len: int, ref_len: int,
                    max_n: int) -> list[float]:
    """BLEU-2..max_n (0–1) of one hypothesis from its clipped/total n-gram counts."""
    floored = [max(1, t) for t in total]  # nltk's max(1, count) denominator: see the module docstring
    out = []
    for n in range(2, max_n + 1):
        score = BLEU.compute_bleu(correct[:n], floored[:n], hyp_len, ref_len,
                                  smooth_method=SMOOTH_METHOD, smooth_value=SMOOTH_VALUE,
                                  max_ngram_order=n)
        out.append(score.score / 100.0)
    return out


def _mean_scores(per_sentence: list[list[float]], max_n: int, prefix: str) -> dict[str, float]:
    cols = list(zip(*per_sentence))
    return {f"{prefix}{n}": math.fsum(cols[n - 2]) / len(per_sentence) for n in range(2, max_n + 1)}


class ReferencePool:
    """A reference set summarised once for the pool protocol.

    Build it once per test set (e.g. when a recipe is constructed) and call :meth:`score` at every
    evaluation; building costs one pass over the references, scoring one pass over the hypotheses.

    Args:
        refs: reference sentences (plain text; tokenised with sacrebleu's ``tokenize``).
        max_n: highest n-gram order (BLEU-2 … BLEU-max_n are reported).
        tokenize: a sacrebleu tokeniser name (``13a``, ``intl``, ``char``, ``none``, ...).
    """

    def __init__(self, refs: Sequence[str], max_n: int = 5, tokenize: str = DEFAULT_TOKENIZE) -> None:
        _check_lines(refs, "BLEU references")
        if len(refs) == 0:
            raise GanError("BLEU references: the reference pool is empty; a test set with at least one "
                           "sentence is needed")
        self.max_n = max_n
        self.metric = _metric(max_n, tokenize)
        self.n_refs = len(refs)
        max_counts: dict[tuple[str, ...], int] = {}
        lengths = []
        for counts, length in _ngrams(self.metric, refs, max_n):
            lengths.append(length)
            for gram, c in counts.items():
                if c > max_counts.get(gram, 0):
                    max_counts[gram] = c
        self.max_counts = max_counts
        self.lengths = _Lengths(lengths)
        self.signature = _signature(self.metric, self.n_refs, "pool")

    def sentence_scores(self, hyps: Sequence[str]) -> list[list[float]]:
        """Per hypothesis, ``[BLEU-2, ..., BLEU-max_n]`` against the whole pool (0–1)."""
        _check_lines(hyps, "BLEU hypotheses")
        max_n, pool = self.max_n, self.max_counts
        out = []
        for counts, hyp_len in _ngrams(self.metric, hyps, max_n):
            correct = [0] * max_n
            total = [0] * max_n
            for gram, c in counts.items():
                k = len(gram) - 1
                total[k] += c
                m = pool.get(gram)
                if m:
                    correct[k] += c if c < m else m
            ref_len = self.lengths.closest(hyp_len)
            out.append(_sentence_bleus(correct, total, hyp_len, ref_len, max_n))
        return out

    def score(self, hyps: Sequence[str]) -> dict:
        """Mean BLEU-2..max_n of ``hyps`` against the pool, with the signature and counts."""
        if len(hyps) == 0:
            raise GanError("BLEU hypotheses: no generated sentences to score")
        result: dict = _mean_scores(self.sentence_scores(hyps), self.max_n, "bleu-")
        result.update(signature=self.signature, n_hyps=len(hyps), n_refs=self.n_refs)
        return result


def bleu_against_pool(hyps: Sequence[str], refs: Sequence[str], max_n: int = 5,
                      tokenize: str = DEFAULT_TOKENIZE) -> dict:
    """The text-GAN BLEU protocol (Texygen / SeqGAN papers): each hypothesis vs all ``refs``.

    Returns ``{"bleu-2": ..., ..., "bleu-<max_n>": ..., "signature": str, "n_hyps": int,
    "n_refs": int}`` with scores in 0–1: the mean over hypotheses of nltk-equivalent sentence BLEU
    (uniform weights, method1 smoothing, closest-length brevity penalty) against the whole pool.
    """
    return ReferencePool(refs, max_n, tokenize).score(hyps)


def self_bleu(samples: Sequence[str], max_n: int = 5, n_samples: int | None = None, seed: int = 0,
              tokenize: str = DEFAULT_TOKENIZE) -> dict:
    """Self-BLEU (Zhu et al. 2018, Texygen): each sample scored against all the *other* samples.

    Higher means less diverse. ``n_samples`` draws that many samples (seeded by ``seed``) and
    computes Self-BLEU within that subset, as Texygen's fast mode does with its first 500; ``None``
    uses all of them (cheap here: the leave-one-out statistics cost one pass).

    Returns ``{"self-bleu-2": ..., ..., "signature": str, "n_samples": int}`` (0–1).
    """
    _check_lines(samples, "Self-BLEU samples")
    if n_samples is not None and n_samples < len(samples):
        if n_samples < 2:
            raise GanError(f"Self-BLEU n_samples={n_samples}: expected at least 2")
        pick = sorted(random.Random(seed).sample(range(len(samples)), n_samples))
        samples = [samples[i] for i in pick]
    if len(samples) < 2:
        raise GanError(f"Self-BLEU needs at least 2 samples, got {len(samples)}")
    metric = _metric(max_n, tokenize)
    stats = _ngrams(metric, samples, max_n)
    first: dict[tuple[str, ...], int] = {}  # highest count of each n-gram over all samples
    second: dict[tuple[str, ...], int] = {}  # second highest (equal to first when two samples tie)
    for counts, _ in stats:
        for gram, c in counts.items():
            top = first.get(gram, 0)
            if c > top:
                if top:
                    second[gram] = top
                first[gram] = c
            elif c > second.get(gram, 0):
                second[gram] = c
    lengths = _Lengths([length for _, length in stats])
    per_sentence = []
    for counts, hyp_len in stats:
        correct = [0] * max_n
        total = [0] * max_n
        for gram, c in counts.items():
            k = len(gram) - 1
            total[k] += c
            # every n-gram of this sample is in `first`; the others' max excludes this sample's count
            m = second.get(gram, 0) if c == first[gram] else first[gram]
            correct[k] += c if c < m else m
        ref_len = lengths.closest(hyp_len, exclude_own=True)
        per_sentence.append(_sentence_bleus(correct, total, hyp_len, ref_len, max_n))
    result: dict = _mean_scores(per_sentence, max_n, "self-bleu-")
    result.update(signature=_signature(metric, len(samples) - 1, "other-samples"),
                  n_samples=len(samples))
    return result


def corpus_bleu(hyps: Sequence[str], refs: Sequence[str] | Sequence[Sequence[str]],
                tokenize: str = DEFAULT_TOKENIZE) -> dict:
    """sacrebleu's standard corpus BLEU (BLEU-4, ``exp`` smoothing) where ``refs[i]`` belongs to ``hyps[i]``.

    ``refs`` is one reference stream (a list of strings, aligned with ``hyps``) or several streams
    (a list of such lists). Returns ``{"bleu": 0–1, "score": sacrebleu's 0–100 value,
    "precisions": [p1..p4] (0–1), "bp": float, "signature": str, "n_hyps": int, "n_refs": int}``.
    """
    _check_lines(hyps, "BLEU hypotheses")
    if len(hyps) == 0:
        raise GanError("corpus BLEU: no hypotheses to score")
    if isinstance(refs, str) or len(refs) == 0:
        raise GanError("corpus BLEU: expected a list of reference sentences aligned with the hypotheses")
    streams = [list(refs)] if isinstance(refs[0], str) else [list(s) for s in refs]
    for j, stream in enumerate(streams):
        _check_lines(stream, f"corpus BLEU reference stream {j}")
        if len(stream) != len(hyps):
            raise GanError(f"corpus BLEU: reference stream {j} has {len(stream)} sentences but there are "
                           f"{len(hyps)} hypotheses; corpus BLEU needs one reference per hypothesis")
    if tokenize not in BLEU.TOKENIZERS:
        raise GanError(f"BLEU tokenize={tokenize!r}: expected one of {', '.join(BLEU.TOKENIZERS)}")
    metric = BLEU(tokenize=tokenize)
    s = metric.corpus_score(list(hyps), streams)
    return {"bleu": s.score / 100.0, "score": s.score, "precisions": [p / 100.0 for p in s.precisions],
            "bp": s.bp, "signature": str(metric.get_signature()), "n_hyps": len(hyps),
            "n_refs": len(streams)}
