"""Real text for SeqGAN: a plain-text corpus (one sentence per line) as padded token-id tensors.

``gan run --plugin seqgan --dataset text --data-root corpus.txt`` reads ``corpus.txt`` (or a folder
with ``train.txt`` and optionally ``test.txt``), trains a tokenizer with the ``tokenizers`` library
on the training sentences and returns a :class:`TextCorpus`.

Tokenisation. Lines are whitespace-normalised, then split with sacrebleu's ``13a`` tokeniser (the
one BLEU uses) before the ``tokenizers`` pipeline sees them. So the default *word-level* vocabulary
consists of exactly the units BLEU counts, a decoded sample re-tokenises to the same words, and
text can never spell a special token (``13a`` splits ``<`` and ``>``). ``data.tokenizer=bpe``
trains a byte-pair model (``data.vocab_size`` merges target, sentencepiece-style ``▁`` word
boundaries) on the same pre-tokenised text. Special tokens: ``<pad>`` 0, ``<bos>`` 1, ``<eos>`` 2,
``<unk>`` 3.

Layout. Row ``i`` of ``train``/``test`` holds the sentence's ids, then ``<eos>``, then ``<pad>`` up to
``max_len`` (which counts the eos). ``<bos>`` is not stored: it is the generator's first input.
``max_len`` is ``data.max_len`` when set, else derived from the data by :func:`default_max_len`: the
longest training sentence that is not an outlier (at most twice the 99th-percentile length) + 1,
never above 256.

Bad input, each a one-line :class:`gan.GanError` naming the file (and line where there is one):
missing file or folder, an empty/blank corpus, non-UTF-8 or binary (NUL) bytes, a too-small corpus
for the held-out split, a separate test file whose out-of-vocabulary rate exceeds
``data.max_oov_rate``, a saved tokenizer whose size differs from the model's vocabulary.
Sentences longer than ``max_len`` follow ``data.overlong``: ``drop`` (default; the count is given in
one warning and kept in ``stats``), ``truncate`` (keep the first ``max_len - 1`` tokens, counted),
or ``error`` (stop at the first one, naming file and line). Unknown tokens map to ``<unk>`` and are
counted per split (``stats[split]["unk"]``, ``["oov_rate"]``).

Config fields read from ``config.data`` (absent ones take the default shown): ``test_path=None``,
``max_len=None``, ``tokenizer="word"``, ``vocab_size=8000`` (BPE only), ``test_fraction=0.1`` (held-out
share when there is no test file; 0 = no test set), ``overlong="drop"``, ``max_oov_rate=0.1``;
``config.seed`` (default 0) seeds the held-out split.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import random
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from gan.checkpoint import atomic_write_text
from gan.errors import GanError, GanWarning

log = logging.getLogger(__name__)

PAD, BOS, EOS, UNK = "<pad>", "<bos>", "<eos>", "<unk>"
SPECIALS = (PAD, BOS, EOS, UNK)  # ids 0, 1, 2, 3 in this order
PAD_ID, BOS_ID, EOS_ID, UNK_ID = range(4)
TOKENIZER_FILE = "tokenizer.json"
META_FILE = "corpus.json"
META_FORMAT = "ganforge-text-corpus"
PRETOKENIZE = "13a"  # sacrebleu tokeniser applied before the tokenizers pipeline
OVERLONG_CHOICES = ("drop", "truncate", "error")
TOKENIZER_CHOICES = ("word", "bpe")

__all__ = ["TextCorpus", "make_text_dataset", "read_sentences", "SPECIALS", "TOKENIZER_FILE", "META_FILE"]


# ----------------------------------------------------------------------------------- reading files

@dataclass
class _Lines:
    path: Path
    numbers: list[int]  # 1-based line number of each sentence in `path`
    texts: list[str]  # whitespace-normalised sentences (blank lines removed)
    read: int  # lines in the file
    blank: int


def read_sentences(path: Path, what: str = "corpus") -> _Lines:
    """Read a UTF-8 file, one sentence per line; blank lines are skipped (and counted)."""
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise GanError(f"{what} file {path} not found; --dataset text expects a UTF-8 text file with "
                       f"one sentence per line") from None
    except IsADirectoryError:
        raise GanError(f"{what} {path} is a folder; expected a text file with one sentence per line") from None
    except OSError as e:
        raise GanError(f"cannot read {what} file {path}: {e.strerror or e}") from None
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]  # UTF-8 byte-order mark
    nul = raw.find(b"\x00")
    if nul >= 0:
        line = raw.count(b"\n", 0, nul) + 1
        raise GanError(f"{path}:{line}: binary data (NUL byte) in {what} file; expected UTF-8 text with "
                       f"one sentence per line")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw.count(b"\n", 0, e.start) + 1
        col = e.start - (raw.rfind(b"\n", 0, e.start) + 1) + 1
        raise GanError(f"{path}:{line}: not UTF-8 text (byte 0x{raw[e.start]:02x} at column {col}); "
                       f"save the {what} as UTF-8, one sentence per line") from None
    if text.endswith("\n"):
        text = text[:-1]
    rows = text.split("\n") if text else []
    numbers, texts = [], []
    for i, row in enumerate(rows, 1):
        norm = " ".join(row.split())
        if norm:
            numbers.append(i)
            texts.append(norm)
    if not texts:
        state = "is empty" if not rows else f"has only blank lines ({len(rows)})"
        raise GanError(f"{what} file {path} has no sentences: it {state}; expected one sentence per line")
    return _Lines(Path(path), numbers, texts, read=len(rows), blank=len(rows) - len(texts))


# ----------------------------------------------------------------------------------- tokenizer

def _pretokenizer():
    from sacrebleu.tokenizers.tokenizer_13a import Tokenizer13a

    return Tokenizer13a()


def _train_tokenizer(sentences: Sequence[str], kind: str, vocab_size: int):
    """Train a word-level or BPE tokenizer on already pre-tokenised sentences (deterministic)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    if kind == "word":
        tok = Tokenizer(models.WordLevel(unk_token=UNK))
        tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
        # every training word is kept; equal counts are ordered by token, so rebuilding the vocabulary
        # from the same file (resume, `gan sample`) gives the same ids
        trainer = trainers.WordLevelTrainer(vocab_size=2**31 - 1, min_frequency=0,
                                            special_tokens=list(SPECIALS), show_progress=False)
    else:
        tok = Tokenizer(models.BPE(unk_token=UNK))
        tok.pre_tokenizer = pre_tokenizers.Metaspace()
        tok.decoder = decoders.Metaspace()
        trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=list(SPECIALS),
                                      show_progress=False)
    tok.train_from_iterator(sentences, trainer)
    for i, s in enumerate(SPECIALS):
        if tok.token_to_id(s) != i:  # pragma: no cover - guards a change in the library's behaviour
            raise RuntimeError(f"tokenizer put special token {s} at id {tok.token_to_id(s)}, expected {i}")
    return tok


def _data_cfg(config: Any, name: str, default: Any) -> Any:
    data = getattr(config, "data", None)
    value = getattr(data, name, default) if data is not None else default
    return default if value is None else value


# ----------------------------------------------------------------------------------- the corpus

class TextCorpus:
    """A tokenised corpus: padded id tensors, the original sentences, the tokenizer and statistics.

    Attributes:
        train: ``LongTensor (N, max_len)`` — ids, ``<eos>``, then ``<pad>``.
        test: ``LongTensor (M, max_len)`` or ``None`` (no test file and ``test_fraction=0``).
        train_text, test_text: the sentences of the kept rows, whitespace-normalised (BLEU references).
        vocab_size, pad_id, bos_id, eos_id, unk_id, max_len: as their names say.
        stats: lines read / blank / dropped / truncated, tokens and unknown tokens per split, sources.
        tokenizer_only: built by :meth:`load` from a run's saved tokenizer: it decodes and
            encodes, but holds no sentences (enough for ``gan sample``, not for training or BLEU).
    """

    tokenizer_only = False

    def __init__(self, tokenizer: Any, kind: str, max_len: int, train: torch.Tensor,
                 test: torch.Tensor | None, train_text: list[str], test_text: list[str],
                 stats: dict) -> None:
        self.tokenizer = tokenizer
        self.kind = kind
        self.max_len = int(max_len)
        self.train = train
        self.test = test
        self.train_text = train_text
        self.test_text = test_text
        self.stats = stats
        self.vocab_size = tokenizer.get_vocab_size()
        self.pad_id, self.bos_id, self.eos_id, self.unk_id = (tokenizer.token_to_id(s) for s in SPECIALS)
        self._pre = _pretokenizer()

    def __repr__(self) -> str:
        m = 0 if self.test is None else self.test.shape[0]
        return (f"TextCorpus({self.kind}, vocab_size={self.vocab_size}, max_len={self.max_len}, "
                f"train={self.train.shape[0]}, test={m})")

    def __len__(self) -> int:
        return self.train.shape[0]

    # -- text <-> ids
    def encode(self, text: str, add_eos: bool = True) -> list[int]:
        """Token ids of one sentence (unknown words -> ``unk_id``), optionally followed by ``eos_id``."""
        ids = self.tokenizer.encode(self._pre(" ".join(text.split()))).ids
        return ids + [self.eos_id] if add_eos else ids

    def _clean(self, ids: Sequence[int]) -> list[int]:
        out = []
        for i in ids:
            i = int(i)
            if i == self.eos_id:
                break
            if i != self.pad_id and i != self.bos_id:
                out.append(i)
        return out

    def decode(self, ids: Sequence[int] | torch.Tensor) -> str:
        """Text of one id sequence: stops at the first ``<eos>``, skips ``<pad>``/``<bos>``; ``<unk>`` stays."""
        if isinstance(ids, torch.Tensor):
            ids = ids.tolist()
        return self.tokenizer.decode(self._clean(ids), skip_special_tokens=False)

    def decode_batch(self, ids: torch.Tensor | Sequence[Sequence[int]]) -> list[str]:
        """:meth:`decode` of each row of a ``(B, T)`` tensor (or a list of id lists)."""
        if isinstance(ids, torch.Tensor):
            if ids.dim() != 2:
                raise ValueError(f"decode_batch expects a (batch, length) tensor, got shape {tuple(ids.shape)}")
            ids = ids.tolist()
        return self.tokenizer.decode_batch([self._clean(row) for row in ids], skip_special_tokens=False)

    # -- persistence
    def meta(self) -> dict:
        return {"format": META_FORMAT, "version": 1, "tokenizer": self.kind, "pretokenize": PRETOKENIZE,
                "vocab_size": self.vocab_size, "max_len": self.max_len,
                "special_tokens": {s: i for i, s in enumerate(SPECIALS)}, "stats": self.stats}

    def save(self, directory: Path | str) -> list[Path]:
        """Write ``tokenizer.json`` and ``corpus.json`` (specials, max_len, stats) into ``directory``."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        tok_path, meta_path = directory / TOKENIZER_FILE, directory / META_FILE
        atomic_write_text(tok_path, self.tokenizer.to_str(pretty=True))
        atomic_write_text(meta_path, json.dumps(self.meta(), indent=2, sort_keys=True))
        return [tok_path, meta_path]

    @classmethod
    def load(cls, directory: Path | str, vocab_size: int | None = None) -> TextCorpus:
        """Restore a saved corpus's tokenizer (decode/encode; the data tensors are empty).

        ``vocab_size``: the model's vocabulary size; a different tokenizer size is an error (the
        tokenizer belongs to another run or corpus).
        """
        from tokenizers import Tokenizer

        directory = Path(directory)
        tok_path, meta_path = directory / TOKENIZER_FILE, directory / META_FILE
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise GanError(f"{meta_path} not found; expected a folder written by TextCorpus.save "
                           f"(with {TOKENIZER_FILE} and {META_FILE})") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            raise GanError(f"{meta_path}: not a readable corpus description ({e})") from None
        if not isinstance(meta, dict) or meta.get("format") != META_FORMAT:
            raise GanError(f"{meta_path}: not a {META_FORMAT} file")
        try:
            tok = Tokenizer.from_file(str(tok_path))
        except Exception as e:  # tokenizers raises plain Exception subclasses for missing/corrupt files
            what = "not found" if not tok_path.exists() else f"not a valid tokenizer ({str(e).splitlines()[0]})"
            raise GanError(f"{tok_path}: {what}") from None
        size = tok.get_vocab_size()
        if size != meta.get("vocab_size"):
            raise GanError(f"{tok_path} has {size} tokens but {meta_path} records vocab_size="
                           f"{meta.get('vocab_size')}; the two files come from different runs")
        for i, s in enumerate(SPECIALS):
            if tok.token_to_id(s) != i:
                raise GanError(f"{tok_path}: special token {s} has id {tok.token_to_id(s)}, expected {i}")
        if vocab_size is not None and size != vocab_size:
            raise GanError(f"{tok_path} has {size} tokens but the model's vocabulary has {vocab_size}; "
                           f"the tokenizer belongs to another run or corpus")
        max_len = int(meta["max_len"])
        empty = torch.zeros(0, max_len, dtype=torch.long)
        corpus = cls(tok, meta.get("tokenizer", "word"), max_len, empty, None, [], [], meta.get("stats", {}))
        corpus.tokenizer_only = True
        return corpus


def reopen_text_dataset(run_dir: Path) -> TextCorpus | None:
    """The ``reopen`` of the ``text`` dataset: a run whose corpus is gone is rebuilt from the
    tokenizer it saved (``<run_dir>/text``), so ``gan sample`` still decodes; ``None`` if there is
    none (then the run needs ``--data-root``)."""
    directory = Path(run_dir) / "text"
    if not (directory / TOKENIZER_FILE).is_file():
        return None
    return TextCorpus.load(directory)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ----------------------------------------------------------------------------------- the factory

def _resolve_paths(root: Path | None, test_path: str | None) -> tuple[Path, Path | None]:
    if root is None:
        raise GanError("--dataset text needs --data-root corpus.txt (a UTF-8 file with one sentence per "
                       "line, or a folder with train.txt and optional test.txt)")
    root = Path(root)
    test = Path(test_path) if test_path else None
    if root.is_dir():
        train = root / "train.txt"
        if not train.is_file():
            raise GanError(f"--data-root {root} is a folder without train.txt; put the training sentences "
                           f"in {train} (one per line) and optionally the test sentences in {root / 'test.txt'}")
        if test is None and (root / "test.txt").is_file():
            test = root / "test.txt"
        return train, test
    if not root.exists():
        raise GanError(f"--data-root {root} not found; expected a UTF-8 text file with one sentence per line "
                       f"or a folder with train.txt")
    return root, test


def _encode_split(tok: Any, pre: Any, lines: _Lines, rows: list[int]) -> tuple[list[list[int]], int, int]:
    encodings = tok.encode_batch([pre(lines.texts[r]) for r in rows])
    ids = [e.ids for e in encodings]
    n_tokens = sum(len(x) for x in ids)
    n_unk = sum(x.count(UNK_ID) for x in ids)
    return ids, n_tokens, n_unk


def _fit(ids: list[list[int]], rows: list[int], lines: _Lines, max_len: int, policy: str,
         what: str) -> tuple[torch.Tensor, list[str], dict]:
    """Apply the overlong policy and lay the kept rows out as ``ids, eos, pad...``."""
    keep_ids, keep_text, dropped, truncated = [], [], 0, 0
    limit = max_len - 1  # room for the eos
    for seq, r in zip(ids, rows):
        if len(seq) > limit:
            if policy == "error":
                raise GanError(f"{lines.path}:{lines.numbers[r]}: sentence has {len(seq)} tokens, more than "
                               f"max_len={max_len} allows ({limit} + eos); raise data.max_len or set "
                               f"data.overlong=drop|truncate")
            if policy == "drop":
                dropped += 1
                continue
            seq = seq[:limit]
            truncated += 1
        keep_ids.append(seq)
        keep_text.append(lines.texts[r])
    tensor = torch.full((len(keep_ids), max_len), PAD_ID, dtype=torch.long)
    for i, seq in enumerate(keep_ids):
        tensor[i, :len(seq)] = torch.tensor(seq, dtype=torch.long)
        tensor[i, len(seq)] = EOS_ID
    return tensor, keep_text, {"dropped_overlong": dropped, "truncated": truncated, "kept": len(keep_ids)}


#: ceiling of a max_len derived from the data (tokens incl. eos); SeqGAN's cost grows with the
#: square of the length (a rollout per prefix), so longer sequences need an explicit data.max_len
MAX_LEN_CEILING = 256
#: sentences longer than this multiple of the 99th-percentile length count as outliers
OUTLIER_FACTOR = 2


def default_max_len(lengths: Sequence[int]) -> int:
    """``max_len`` from the data when ``data.max_len`` is not set: the longest sentence that is not
    an outlier (at most twice the 99th-percentile length, nearest rank) + eos, never above
    :data:`MAX_LEN_CEILING`. One stray 10,000-token line must not set the size of every sequence
    (the memory and time of a step grow with it); longer lines follow ``data.overlong``."""
    ordered = sorted(lengths)
    p99 = ordered[max(0, math.ceil(0.99 * len(ordered)) - 1)]
    limit = min(OUTLIER_FACTOR * max(1, p99), MAX_LEN_CEILING - 1)
    kept = [n for n in ordered if n <= limit]
    return (kept[-1] if kept else limit) + 1


def _warn_overlong(stats: dict, train_file: Path, max_len: int, policy: str, derived: bool) -> None:
    """One warning for every sentence (training and test) longer than ``max_len``."""
    counts = {split: (stats[split].get("dropped_overlong", 0), stats[split].get("truncated", 0))
              for split in ("train", "test") if split in stats}
    dropped, truncated = sum(d for d, _ in counts.values()), sum(t for _, t in counts.values())
    if not (dropped or truncated):
        return
    total = sum(stats[split]["sentences"] for split in counts)
    parts = ", ".join(f"{d or t} {split}" for split, (d, t) in counts.items() if d or t)
    origin = (f"derived from the data: the longest sentence up to {OUTLIER_FACTOR}x the 99th-percentile "
              f"length, at most {MAX_LEN_CEILING}; set data.max_len to choose" if derived else "set by data.max_len")
    warnings.warn(f"{train_file}: {'dropped' if dropped else 'truncated'} {dropped or truncated} of {total} "
                  f"sentence(s) longer than max_len={max_len} tokens ({parts}; max_len {origin}; "
                  f"data.overlong={policy})", GanWarning, stacklevel=3)


def make_text_dataset(root: Path | None, config: Any) -> TextCorpus:
    """Dataset factory for ``--dataset text`` (see the module docstring for files, config and errors)."""
    test_path = _data_cfg(config, "test_path", None)
    max_len_cfg = _data_cfg(config, "max_len", None)
    kind = _data_cfg(config, "tokenizer", "word")
    vocab_size = _data_cfg(config, "vocab_size", 8000)
    test_fraction = float(_data_cfg(config, "test_fraction", 0.1))
    policy = _data_cfg(config, "overlong", "drop")
    max_oov = float(_data_cfg(config, "max_oov_rate", 0.1))
    seed = int(getattr(config, "seed", 0) or 0)
    if kind not in TOKENIZER_CHOICES:
        raise GanError(f"data.tokenizer={kind!r}: expected one of {', '.join(TOKENIZER_CHOICES)}")
    if policy not in OVERLONG_CHOICES:
        raise GanError(f"data.overlong={policy!r}: expected one of {', '.join(OVERLONG_CHOICES)}")
    if max_len_cfg is not None and int(max_len_cfg) < 2:
        raise GanError(f"data.max_len={max_len_cfg}: expected at least 2 (one token + eos)")
    if not 0.0 <= test_fraction < 1.0:
        raise GanError(f"data.test_fraction={test_fraction}: expected a number in [0, 1)")
    if kind == "bpe" and int(vocab_size) <= len(SPECIALS):
        raise GanError(f"data.vocab_size={vocab_size}: expected more than {len(SPECIALS)} for the BPE tokenizer")

    train_file, test_file = _resolve_paths(root, test_path)
    train_lines = read_sentences(train_file, "corpus")
    test_lines = read_sentences(test_file, "test") if test_file is not None else None

    n = len(train_lines.texts)
    if test_lines is not None:
        train_rows, test_rows, split = list(range(n)), list(range(len(test_lines.texts))), "file"
    elif test_fraction > 0:
        if n < 2:
            raise GanError(f"{train_file} has {n} sentence; at least 2 are needed to hold out a test set "
                           f"(or give data.test_path, or set data.test_fraction=0)")
        n_test = min(n - 1, max(1, round(test_fraction * n)))
        held = set(random.Random(seed).sample(range(n), n_test))
        train_rows = [i for i in range(n) if i not in held]
        test_rows = sorted(held)
        test_lines, split = train_lines, f"held-out {test_fraction:g} (seed {seed})"
    else:
        train_rows, test_rows, split = list(range(n)), [], "none"

    pre = _pretokenizer()
    tok = _train_tokenizer([pre(train_lines.texts[r]) for r in train_rows], kind, int(vocab_size))
    train_ids, train_tokens, train_unk = _encode_split(tok, pre, train_lines, train_rows)
    max_len = int(max_len_cfg) if max_len_cfg is not None else default_max_len([len(x) for x in train_ids])
    train, train_text, train_fit = _fit(train_ids, train_rows, train_lines, max_len, policy, "training")
    if train.shape[0] == 0:
        raise GanError(f"{train_file}: every sentence is longer than max_len={max_len} tokens; raise "
                       f"data.max_len or set data.overlong=truncate")
    stats: dict[str, Any] = {
        "train_file": str(train_file), "train_sha256": _sha256(train_file),
        "test_file": str(test_file) if test_file else None, "split": split, "tokenizer": kind,
        "vocab_size": tok.get_vocab_size(), "max_len": max_len,
        "max_len_source": "config" if max_len_cfg is not None else "data", "overlong": policy,
        "lines_read": train_lines.read, "blank_lines": train_lines.blank,
        "train": {"sentences": len(train_rows), "tokens": train_tokens, "unk": train_unk,
                  "oov_rate": train_unk / max(1, train_tokens), **train_fit},
    }
    test, test_text = None, []
    if test_rows:
        test_ids, test_tokens, test_unk = _encode_split(tok, pre, test_lines, test_rows)
        oov = test_unk / max(1, test_tokens)
        if test_file is not None:
            stats["test_sha256"] = _sha256(test_file)
            stats["test_lines_read"], stats["test_blank_lines"] = test_lines.read, test_lines.blank
            if oov > max_oov:
                raise GanError(f"{test_file}: {oov:.1%} of its {test_tokens} tokens are not in the vocabulary "
                               f"learned from {train_file} (limit data.max_oov_rate={max_oov:g}); is it the same "
                               f"language and tokenisation?")
        if test_unk:
            log.info("%s: %d of %d test tokens are unknown (%.2f%%), mapped to %s",
                     test_lines.path, test_unk, test_tokens, 100 * oov, UNK)
        test, test_text, test_fit = _fit(test_ids, test_rows, test_lines, max_len, policy, "test")
        stats["test"] = {"sentences": len(test_rows), "tokens": test_tokens, "unk": test_unk,
                         "oov_rate": oov, **test_fit}
        if test.shape[0] == 0:
            test, test_text = None, []
    _warn_overlong(stats, train_file, max_len, policy, max_len_cfg is None)
    return TextCorpus(tok, kind, max_len, train, test, train_text, test_text, stats)
