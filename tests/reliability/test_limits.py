"""Issue 10.1 — unbounded sizes: text lengths capped from the data, sizes checked before they are
allocated, and an out-of-memory is one line naming the settings that drive it (exit 2)."""

from __future__ import annotations

import resource
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gan.errors import GanError, GanWarning


# --- text: max_len from the data ------------------------------------------------------------------
def _reference_limit(lengths: list[int]) -> int:
    """Independent restatement of the documented rule (numpy's nearest-rank percentile)."""
    from gan_seqgan.text import MAX_LEN_CEILING, OUTLIER_FACTOR
    p99 = int(np.percentile(lengths, 99, method="inverted_cdf"))
    return min(OUTLIER_FACTOR * max(1, p99), MAX_LEN_CEILING - 1)


@settings(max_examples=200, deadline=None)
@given(normal=st.lists(st.integers(1, 80), min_size=1, max_size=400),
       outliers=st.lists(st.integers(300, 50_000), max_size=5))
def test_data_derived_max_len_is_bounded_and_ignores_rare_outliers(normal, outliers):
    from gan_seqgan.text import MAX_LEN_CEILING, default_max_len
    lengths = normal + outliers
    m = default_max_len(lengths)
    limit = _reference_limit(lengths)
    assert 2 <= m <= MAX_LEN_CEILING
    kept = [n for n in lengths if n <= limit]
    if kept:  # the longest sentence within the limit fits exactly (with its eos); nothing longer does
        assert m == max(kept) + 1
    if len(outliers) * 100 < len(lengths):  # fewer than 1% outliers never size the sequences
        assert m <= 2 * max(normal) + 1


def _cfg(**data):
    base = dict(test_path=None, max_len=None, tokenizer="word", vocab_size=8000, test_fraction=0.0,
                overlong="drop", max_oov_rate=0.1)
    base.update(data)
    return SimpleNamespace(data=SimpleNamespace(**base), seed=0)


def test_one_huge_line_among_normal_ones_is_dropped_and_counted_once(tmp_path):
    from gan_seqgan.text import make_text_dataset
    rng = np.random.default_rng(0)
    words = "the cat sat on a mat and dog ran far away".split()
    lines = [" ".join(rng.choice(words, rng.integers(5, 16))) for _ in range(200)]
    lines.insert(77, " ".join(rng.choice(words, 10_000)))
    path = tmp_path / "corpus.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.warns(GanWarning) as caught:
        corpus = make_text_dataset(path, _cfg())
    overlong = [w for w in caught if "longer than max_len" in str(w.message)]
    assert len(overlong) == 1 and "dropped 1 of 201" in str(overlong[0].message)
    assert corpus.max_len == 16 and corpus.train.shape == (200, 16)
    assert corpus.stats["train"]["dropped_overlong"] == 1


def test_an_explicit_max_len_is_obeyed_beyond_the_ceiling(tmp_path):
    from gan_seqgan.text import MAX_LEN_CEILING, make_text_dataset
    path = tmp_path / "c.txt"
    path.write_text("\n".join(["a b"] * 50 + ["a " * 400]) + "\n", encoding="utf-8")
    corpus = make_text_dataset(path, _cfg(max_len=500))
    assert corpus.max_len == 500 > MAX_LEN_CEILING and corpus.train.shape[0] == 51


# --- sizes checked before allocating ------------------------------------------------------------
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(shape=st.lists(st.integers(1, 4000), min_size=1, max_size=3),
       factory=st.sampled_from(["empty", "zeros", "ones", "rand", "randn", "full", "randint"]),
       budget=st.integers(10_000, 10_000_000))
def test_guard_refuses_exactly_the_tensors_larger_than_memory(monkeypatch, shape, factory, budget):
    import math

    from gan import sizes
    monkeypatch.setattr(sizes, "available_bytes", lambda device=None: budget)
    call = {"full": lambda: torch.full(shape, 1.0), "randint": lambda: torch.randint(0, 9, shape)}.get(
        factory, lambda: getattr(torch, factory)(*shape))
    itemsize = 8 if factory == "randint" else 4
    too_big = math.prod(shape) * itemsize > budget
    if too_big:
        with pytest.raises(GanError, match=r"would need .* more than the .* of memory available"):
            with sizes.allocation_guard("building model 't'"):
                call()
    else:
        with sizes.allocation_guard("building model 't'"):
            assert tuple(call().shape) == tuple(shape)


def test_model_building_counts_every_tensor_it_keeps(monkeypatch):
    """Two tensors that each fit, but not together: refused at the second when building a model
    (cumulative), allowed where temporaries come and go (loading data)."""
    from gan import sizes
    monkeypatch.setattr(sizes, "available_bytes", lambda device=None: 10_000)
    with sizes.allocation_guard("loading the data"):
        torch.empty(2000), torch.empty(2000)
    with pytest.raises(GanError, match=r"would need 7\.8 KB .*\(7\.8 KB already taken by it\), more than"):
        with sizes.allocation_guard("building model 't'", cumulative=True):
            torch.empty(2000), torch.empty(2000)


@pytest.mark.parametrize("model,setting,key", [
    ("dcgan", "z_dim=1000000000", "z_dim=1000000000"),
    ("dcgan", "g_width=1000000", "g_width=1000000"),  # compact nets: a 131 GB FC weight
    ("dcgan", "data.image_size=100000", "data.image_size=100000"),
    ("toy", "hidden=2000000000", "hidden=2000000000"),
    ("cyclegan", "ngf=1000000", "ngf=1000000"),
    ("seqgan", "hidden_dim=1000000000", "hidden_dim=1000000000"),
])
def test_oversized_settings_are_one_line_before_allocation(rel, tmp_path, model, setting, key):
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    r = rel.run_cli(["run", "--plugin", model, "--preset", "tiny", *rel.QUIET, "--run-dir", tmp_path / "r",
                     "--set", setting])
    assert r.code == 2, r.err
    line = r.error_line()
    assert "more than the" in line and key in line, line
    grown_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before
    assert grown_kb < 2_000_000, f"peak memory grew by {grown_kb} KB: something was allocated"
    assert not (tmp_path / "r").exists()


def test_out_of_memory_in_training_is_one_line_naming_the_sizes(rel, monkeypatch, tmp_path):
    from gan_toy.toy import ToyGAN

    def loss(self, phase, batch, step, scratch):
        raise RuntimeError("[enforce fail at alloc_cpu.cpp:117] data. DefaultCPUAllocator: can't allocate "
                           "memory: you tried to allocate 4000000000000 bytes. Error code 12")
    monkeypatch.setattr(ToyGAN, "loss", loss)
    r = rel.run_cli(["run", "--plugin", "toy", "--preset", "tiny", *rel.QUIET, "--run-dir", tmp_path / "r",
                     "--set", "run.eval_at_start=false"])
    assert r.code == 2, r.err
    line = r.error_line()
    assert line.startswith("error: out of memory training 'toy-gan' at step 1 (an allocation of 3.6 TB)"), line
    assert "batch_size=32" in line and "hidden=16" in line
