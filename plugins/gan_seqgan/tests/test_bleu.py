"""BLEU: the pool protocol against nltk, Self-BLEU against a naive O(n²) loop, sacrebleu corpus BLEU."""

from __future__ import annotations

import math
import random

import pytest
import sacrebleu
from hypothesis import given, settings
from hypothesis import strategies as st
from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu
from sacrebleu.tokenizers.tokenizer_13a import Tokenizer13a

from gan.errors import GanError
from gan_seqgan.bleu import ReferencePool, bleu_against_pool, corpus_bleu, self_bleu

tok = Tokenizer13a()
method1 = SmoothingFunction().method1


def nltk_pool(hyps: list[str], refs: list[str], n: int) -> float:
    """Texygen's way: nltk sentence BLEU of each hypothesis against all references, averaged."""
    ref_tokens = [tok(r).split() for r in refs]
    scores = [sentence_bleu(ref_tokens, tok(h).split(), weights=(1.0 / n,) * n, smoothing_function=method1)
              for h in hyps]
    return math.fsum(scores) / len(scores)


def naive_self_bleu(samples: list[str], n: int) -> float:
    """O(n²): each sample against the list of all the others, rebuilt every time."""
    scores = []
    for i, h in enumerate(samples):
        others = [tok(s).split() for j, s in enumerate(samples) if j != i]
        scores.append(sentence_bleu(others, tok(h).split(), weights=(1.0 / n,) * n, smoothing_function=method1))
    return math.fsum(scores) / len(scores)


VOCAB = ["a", "the", "man", "dog", "runs", "on", "grass", "red", "."]
sentence = st.lists(st.sampled_from(VOCAB), min_size=0, max_size=9).map(" ".join)
small_vocab_sentence = st.lists(st.sampled_from(VOCAB[:4]), min_size=1, max_size=7).map(" ".join)


@settings(max_examples=120, deadline=None, database=None)
@given(st.lists(sentence, min_size=1, max_size=6), st.lists(sentence, min_size=1, max_size=8),
       st.integers(2, 5))
def test_pool_bleu_matches_nltk(hyps, refs, max_n) -> None:
    ours = bleu_against_pool(hyps, refs, max_n=max_n)
    assert sorted(k for k in ours if k.startswith("bleu-")) == [f"bleu-{n}" for n in range(2, max_n + 1)]
    for n in range(2, max_n + 1):
        assert ours[f"bleu-{n}"] == pytest.approx(nltk_pool(hyps, refs, n), abs=1e-9)
        assert 0.0 <= ours[f"bleu-{n}"] <= 1.0 + 1e-12


@settings(max_examples=80, deadline=None, database=None)
@given(st.lists(st.one_of(sentence, small_vocab_sentence), min_size=2, max_size=8))
def test_self_bleu_matches_naive(samples) -> None:
    # the small-vocabulary sentences make duplicates and tied top counts common (the top-2 logic)
    ours = self_bleu(samples, max_n=5)
    assert ours["n_samples"] == len(samples)
    for n in range(2, 6):
        assert ours[f"self-bleu-{n}"] == pytest.approx(naive_self_bleu(samples, n), abs=1e-9)


def test_real_looking_sentences_match_nltk() -> None:
    rng = random.Random(0)
    words = "a man woman dog cat sits on the red blue table near bench , with and of in".split()
    make = lambda: " ".join(rng.choice(words) for _ in range(rng.randint(3, 14))) + rng.choice(["", "."])
    hyps = [make() for _ in range(25)]
    refs = [make() for _ in range(60)]
    ours = bleu_against_pool(hyps, refs)
    for n in range(2, 6):
        assert ours[f"bleu-{n}"] == pytest.approx(nltk_pool(hyps, refs, n), abs=1e-9)
    sb = self_bleu(hyps + refs)
    assert sb["self-bleu-3"] == pytest.approx(naive_self_bleu(hyps + refs, 3), abs=1e-9)


def test_closest_length_ties_go_to_the_shorter_reference() -> None:
    # hypothesis length 4, references of length 3 and 5: nltk picks 3, so there is no brevity penalty
    hyp = "a b c d"
    refs = ["a b c", "x y z w v"]
    ours = bleu_against_pool([hyp], refs, max_n=2)["bleu-2"]
    p1, p2 = 3 / 4, 2 / 3  # clipped unigram and bigram precisions against the pool
    assert ours == pytest.approx(math.sqrt(p1 * p2), abs=1e-12)
    assert ours == pytest.approx(nltk_pool([hyp], refs, 2), abs=1e-12)


def test_identical_pool_scores_one_and_disjoint_scores_zero() -> None:
    refs = ["a man rides a horse on the beach", "two dogs play with a ball"]
    assert bleu_against_pool(refs, refs)["bleu-5"] == pytest.approx(1.0)
    assert bleu_against_pool(["zebra zebra zebra"], refs)["bleu-2"] == 0.0


def test_self_bleu_detects_duplicates() -> None:
    diverse = ["a man rides a horse", "two dogs play ball", "the red car is parked", "kids eat hot pizza"]
    assert self_bleu(diverse * 2)["self-bleu-4"] == pytest.approx(1.0)  # every sample has a twin
    assert self_bleu(diverse)["self-bleu-4"] < 0.2
    # a sentence shorter than n has no n-grams: nltk's method1 smooths that order to 0.1, and so do we
    short = self_bleu(["kids eat pizza"] * 2, max_n=4)["self-bleu-4"]
    assert short == pytest.approx(naive_self_bleu(["kids eat pizza"] * 2, 4)) and short < 1.0


def test_self_bleu_subsample_is_seeded() -> None:
    samples = [f"sentence {i} of {i % 7} words" for i in range(40)]
    a = self_bleu(samples, n_samples=10, seed=1)
    b = self_bleu(samples, n_samples=10, seed=1)
    c = self_bleu(samples, n_samples=10, seed=2)
    assert a == b and a["n_samples"] == 10 and "nrefs:9" in a["signature"]
    assert a["self-bleu-2"] != c["self-bleu-2"]
    rng_pick = sorted(random.Random(1).sample(range(40), 10))
    assert a["self-bleu-3"] == pytest.approx(naive_self_bleu([samples[i] for i in rng_pick], 3), abs=1e-9)


def test_signatures_are_present() -> None:
    pool = bleu_against_pool(["a man"], ["a man walks", "a dog"])
    version = sacrebleu.__version__
    assert pool["signature"] == (f"nrefs:2|case:mixed|eff:no|tok:13a|smooth:floor[0.10]|refs:pool|"
                                 f"avg:sentence-mean|version:{version}")
    assert (pool["n_hyps"], pool["n_refs"]) == (1, 2)
    sb = self_bleu(["a man", "a dog", "a cat"])
    assert "refs:other-samples" in sb["signature"] and "nrefs:2" in sb["signature"]
    cb = corpus_bleu(["a man walks"], ["a man walks"])
    assert cb["signature"] == f"nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:{version}"


def test_corpus_bleu_is_sacrebleus() -> None:
    hyps = ["the cat sat on the mat.", "a dog runs in the park", "it is raining today"]
    refs = ["the cat is on the mat.", "a dog is running in a park", "it rains today"]
    refs2 = ["there is a cat on the mat.", "the dog runs in the park", "today it is raining"]
    expect = sacrebleu.corpus_bleu(hyps, [refs])
    got = corpus_bleu(hyps, refs)
    assert got["score"] == pytest.approx(expect.score) and got["bleu"] == pytest.approx(expect.score / 100)
    assert got["bp"] == pytest.approx(expect.bp) and got["n_refs"] == 1
    two = corpus_bleu(hyps, [refs, refs2])
    assert two["score"] == pytest.approx(sacrebleu.corpus_bleu(hyps, [refs, refs2]).score)
    assert two["n_refs"] == 2 and "nrefs:2" in two["signature"]


def test_reference_pool_is_reusable() -> None:
    refs = ["a man rides a horse", "two dogs play ball", "the red car is parked"]
    pool = ReferencePool(refs, max_n=3)
    first = pool.score(["a man plays ball"])
    assert pool.score(["a man plays ball"]) == first
    assert first == bleu_against_pool(["a man plays ball"], refs, max_n=3)


def test_bad_inputs() -> None:
    with pytest.raises(GanError, match="reference pool is empty"):
        bleu_against_pool(["a"], [])
    with pytest.raises(GanError, match="no generated sentences"):
        bleu_against_pool([], ["a"])
    with pytest.raises(GanError, match="max_n=1"):
        bleu_against_pool(["a"], ["a"], max_n=1)
    with pytest.raises(GanError, match=r"hypotheses\[1\]: expected a string"):
        bleu_against_pool(["a", 3], ["a"])
    with pytest.raises(GanError, match="single string"):
        bleu_against_pool("a man", ["a"])
    with pytest.raises(GanError, match="at least 2 samples"):
        self_bleu(["only one"])
    with pytest.raises(GanError, match="2 sentences but there are 3 hypotheses"):
        corpus_bleu(["a", "b", "c"], ["a", "b"])
    with pytest.raises(GanError, match="tokenize='moses'"):
        bleu_against_pool(["a"], ["a"], tokenize="moses")
