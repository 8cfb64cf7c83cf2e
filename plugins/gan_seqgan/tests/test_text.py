"""The text corpus: tokenizer round trip, tensor layout, length/unk handling and every bad input."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sacrebleu.tokenizers.tokenizer_13a import Tokenizer13a

from gan.errors import GanError, GanWarning
from gan_seqgan.text import SPECIALS, TextCorpus, make_text_dataset

tok13a = Tokenizer13a()

SENTENCES = [
    "a man riding a bike down a street.",
    "two dogs play in the snow, near a tree.",
    "a plate of food with broccoli and rice",
    "a woman's umbrella is red.",
    "the cat sits on a laptop keyboard",
    "a kitchen with a stove and a sink.",
    "people standing around a large clock tower",
    "a train on the tracks at 3.30 pm",
    "a bathroom with a toilet (white) and a mirror",
    "an elephant walking through tall grass!",
]


@dataclass
class Data:
    test_path: str | None = None
    max_len: int | None = None
    tokenizer: str = "word"
    vocab_size: int = 8000
    test_fraction: float = 0.1
    overlong: str = "drop"
    max_oov_rate: float = 0.1


@dataclass
class Cfg:
    data: Data = field(default_factory=Data)
    seed: int = 0


def cfg(**data) -> Cfg:
    seed = data.pop("seed", 0)
    return Cfg(Data(**data), seed)


def write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def corpus_file(tmp_path: Path) -> Path:
    return write(tmp_path / "corpus.txt", SENTENCES * 3)


def row_tokens(row: torch.Tensor, eos: int, pad: int) -> list[int]:
    ids = row.tolist()
    end = ids.index(eos)
    assert all(i == pad for i in ids[end + 1:]), "after eos there must be only padding"
    assert pad not in ids[:end] and eos not in ids[:end]
    return ids[:end]


# ------------------------------------------------------------------------------------------ basics

def test_specials_and_round_trip(corpus_file: Path) -> None:
    c = make_text_dataset(corpus_file, cfg(test_fraction=0))
    assert [c.pad_id, c.bos_id, c.eos_id, c.unk_id] == [0, 1, 2, 3]
    assert [c.tokenizer.id_to_token(i) for i in range(4)] == list(SPECIALS)
    assert c.test is None and c.test_text == []
    assert c.train_text == SENTENCES * 3
    assert c.train.dtype == torch.long and c.train.shape[0] == 30
    decoded = c.decode_batch(c.train)
    for text, out, row in zip(c.train_text, decoded, c.train):
        assert out == tok13a(text)  # word level: exactly the BLEU (13a) tokens, space-joined
        assert tok13a(out) == tok13a(text)
        assert c.encode(text) == row_tokens(row, c.eos_id, c.pad_id) + [c.eos_id]
        assert c.decode(row) == out
    assert c.stats["train"]["unk"] == 0
    # the vocabulary is every training word plus the specials
    words = {w for s in SENTENCES for w in tok13a(s).split()}
    assert c.vocab_size == len(words) + len(SPECIALS)


def test_layout_and_max_len_from_data(corpus_file: Path) -> None:
    c = make_text_dataset(corpus_file, cfg(test_fraction=0))
    lengths = [len(tok13a(s).split()) for s in SENTENCES]
    assert c.max_len == max(lengths) + 1 == c.train.shape[1]
    for row, n in zip(c.train, lengths * 3):
        assert len(row_tokens(row, c.eos_id, c.pad_id)) == n
        assert row[n].item() == c.eos_id
    assert c.stats["max_len_source"] == "data"


def test_decode_stops_at_eos_and_skips_pad_bos(corpus_file: Path) -> None:
    c = make_text_dataset(corpus_file, cfg(test_fraction=0))
    a, b, z = (c.tokenizer.token_to_id(w) for w in ("man", "dogs", "elephant"))
    assert c.decode([c.bos_id, a, c.pad_id, b, c.eos_id, z]) == "man dogs"
    assert c.decode(torch.tensor([c.eos_id, a])) == ""
    assert c.decode([a, c.unk_id]) == "man <unk>"
    assert c.decode_batch([[a, c.eos_id], [b]]) == ["man", "dogs"]


def test_unknown_words_map_to_unk_and_are_counted(tmp_path: Path) -> None:
    train = write(tmp_path / "train.txt", SENTENCES)
    test = write(tmp_path / "test.txt", ["a man riding a zebra", "two qwerty play"])
    c = make_text_dataset(train, cfg(test_path=str(test), max_oov_rate=0.5))
    assert c.stats["test"]["unk"] == 2 and c.stats["test"]["tokens"] == 8
    assert c.stats["test"]["oov_rate"] == pytest.approx(2 / 8)
    assert c.test[0, 4].item() == c.unk_id and c.test[1, 1].item() == c.unk_id
    assert c.test_text == ["a man riding a zebra", "two qwerty play"]
    assert c.decode(c.test[0]) == "a man riding a <unk>"
    assert c.unk_id in c.encode("a totally unseen word")


def test_bpe_round_trip_and_vocab_size(corpus_file: Path) -> None:
    c = make_text_dataset(corpus_file, cfg(tokenizer="bpe", vocab_size=120, test_fraction=0))
    assert c.kind == "bpe" and c.vocab_size <= 120
    assert [c.tokenizer.token_to_id(s) for s in SPECIALS] == [0, 1, 2, 3]
    for text, out in zip(c.train_text, c.decode_batch(c.train)):
        assert out == tok13a(text)
    # BPE splits words into pieces, so sequences are at least as long as in words
    assert c.max_len >= max(len(tok13a(s).split()) for s in SENTENCES) + 1


def test_build_is_deterministic(corpus_file: Path) -> None:
    a = make_text_dataset(corpus_file, cfg(seed=3))
    b = make_text_dataset(corpus_file, cfg(seed=3))
    assert a.tokenizer.get_vocab() == b.tokenizer.get_vocab()
    assert torch.equal(a.train, b.train) and torch.equal(a.test, b.test)


def test_held_out_split_is_seeded_and_disjoint(tmp_path: Path) -> None:
    lines = [f"sentence number {i} is here" for i in range(50)]
    path = write(tmp_path / "c.txt", lines)
    a = make_text_dataset(path, cfg(seed=1))
    b = make_text_dataset(path, cfg(seed=1))
    c = make_text_dataset(path, cfg(seed=2))
    assert len(a.test_text) == 5 and len(a.train_text) == 45
    assert sorted(a.train_text + a.test_text) == sorted(lines)
    assert a.test_text == b.test_text and a.test_text != c.test_text
    assert a.stats["split"].startswith("held-out")
    assert a.train_text == [s for s in lines if s not in set(a.test_text)]  # file order kept


def test_folder_with_train_and_test(tmp_path: Path) -> None:
    write(tmp_path / "train.txt", SENTENCES)
    write(tmp_path / "test.txt", SENTENCES[:3])
    c = make_text_dataset(tmp_path, cfg())
    assert c.train_text == SENTENCES and c.test_text == SENTENCES[:3]
    assert c.stats["split"] == "file" and c.stats["test"]["unk"] == 0
    write(tmp_path / "other.txt", SENTENCES[5:])  # data.test_path wins over test.txt
    c = make_text_dataset(tmp_path, cfg(test_path=str(tmp_path / "other.txt")))
    assert c.test_text == SENTENCES[5:]


def test_whitespace_blank_lines_bom_crlf(tmp_path: Path) -> None:
    path = tmp_path / "c.txt"
    path.write_bytes(b"\xef\xbb\xbf  a   man\triding \r\n\r\n\n two dogs play \r\nthe end")
    c = make_text_dataset(path, cfg(test_fraction=0))
    assert c.train_text == ["a man riding", "two dogs play", "the end"]
    assert c.stats["lines_read"] == 5 and c.stats["blank_lines"] == 2


# ------------------------------------------------------------------------------------------ lengths

def long_corpus(tmp_path: Path) -> Path:
    return write(tmp_path / "c.txt", ["a b c", "a b c d e f g h", "a b", "b c d e f g h i j"])


def test_overlong_dropped_by_default_and_logged(tmp_path: Path) -> None:
    path = long_corpus(tmp_path)
    with pytest.warns(GanWarning, match="dropped 2 of 4") as caught:
        c = make_text_dataset(path, cfg(max_len=5, test_fraction=0))
    assert c.max_len == 5 and c.train.shape == (2, 5)
    assert c.train_text == ["a b c", "a b"]
    assert c.stats["train"]["dropped_overlong"] == 2 and c.stats["max_len_source"] == "config"
    assert len(caught) == 1  # one warning for all of them


def test_overlong_truncate(tmp_path: Path) -> None:
    with pytest.warns(GanWarning, match="truncated 2 of 4"):
        c = make_text_dataset(long_corpus(tmp_path), cfg(max_len=5, overlong="truncate", test_fraction=0))
    assert c.train.shape == (4, 5) and c.stats["train"]["truncated"] == 2
    assert c.decode_batch(c.train) == ["a b c", "a b c d", "a b", "b c d e"]
    assert (c.train[:, -1][[1, 3]] == c.eos_id).all()  # truncated rows still end with eos


def test_overlong_error_names_file_and_line(tmp_path: Path) -> None:
    path = long_corpus(tmp_path)
    with pytest.raises(GanError, match=r"c\.txt:2: sentence has 8 tokens.*max_len=5"):
        make_text_dataset(path, cfg(max_len=5, overlong="error", test_fraction=0))


def test_all_lines_overlong_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path / "c.txt", ["a b c d e", "f g h i j"])
    with pytest.raises(GanError, match="every sentence is longer"):
        make_text_dataset(path, cfg(max_len=3, test_fraction=0))


# ------------------------------------------------------------------------------------------ bad input

def test_root_none(tmp_path: Path) -> None:
    with pytest.raises(GanError, match="--dataset text needs --data-root corpus.txt"):
        make_text_dataset(None, cfg())


@pytest.mark.parametrize("content", [b"", b"\n\n   \n\t\n"])
def test_empty_corpus(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "empty.txt"
    path.write_bytes(content)
    with pytest.raises(GanError, match=r"empty\.txt has no sentences"):
        make_text_dataset(path, cfg())


def test_missing_file_and_folder_without_train(tmp_path: Path) -> None:
    with pytest.raises(GanError, match=r"nope\.txt not found"):
        make_text_dataset(tmp_path / "nope.txt", cfg())
    with pytest.raises(GanError, match="without train.txt"):
        make_text_dataset(tmp_path, cfg())
    train = write(tmp_path / "train.txt", SENTENCES)
    with pytest.raises(GanError, match=r"test file .*missing\.txt not found"):
        make_text_dataset(train, cfg(test_path=str(tmp_path / "missing.txt")))


def test_non_utf8_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.txt"
    path.write_bytes("a man\ntwo dogs\nun caf\u00e9 noir\n".encode("latin-1"))
    with pytest.raises(GanError, match=r"latin1\.txt:3: not UTF-8 text \(byte 0xe9 at column 7\)"):
        make_text_dataset(path, cfg())


def test_binary_file(tmp_path: Path) -> None:
    path = tmp_path / "model.bin"
    path.write_bytes(b"a man\n" + bytes(range(256)))
    with pytest.raises(GanError, match=r"model\.bin:2: binary data"):
        make_text_dataset(path, cfg())


def test_binary_test_file(tmp_path: Path) -> None:
    train = write(tmp_path / "train.txt", SENTENCES)
    test = tmp_path / "test.bin"
    test.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    with pytest.raises(GanError, match=r"test\.bin:3: binary data"):
        make_text_dataset(train, cfg(test_path=str(test)))


def test_test_file_with_another_vocabulary(tmp_path: Path) -> None:
    train = write(tmp_path / "train.txt", SENTENCES)
    test = write(tmp_path / "test.txt", ["der Hund spielt im Schnee", "ein Mann auf einem Fahrrad"])
    with pytest.raises(GanError, match=r"test\.txt: 100\.0% of its 10 tokens are not in the vocabulary.*"
                                       r"max_oov_rate=0\.1"):
        make_text_dataset(train, cfg(test_path=str(test)))


def test_too_small_for_split_and_bad_values(tmp_path: Path) -> None:
    one = write(tmp_path / "one.txt", ["just one sentence"])
    with pytest.raises(GanError, match="at least 2 are needed"):
        make_text_dataset(one, cfg())
    assert make_text_dataset(one, cfg(test_fraction=0)).train.shape[0] == 1
    path = write(tmp_path / "c.txt", SENTENCES)
    for bad, pattern in [(dict(tokenizer="chars"), "data.tokenizer='chars'"),
                         (dict(overlong="skip"), "data.overlong='skip'"),
                         (dict(max_len=1), "data.max_len=1"),
                         (dict(test_fraction=1.0), "data.test_fraction"),
                         (dict(tokenizer="bpe", vocab_size=3), "data.vocab_size=3")]:
        with pytest.raises(GanError, match=pattern.replace(".", r"\.")):
            make_text_dataset(path, cfg(**bad))


def test_config_without_data_fields(corpus_file: Path) -> None:
    class Bare:  # a Config whose `data` lacks the optional fields and which has no seed
        class data:
            test_path = None
            max_len = None
            tokenizer = "word"
            vocab_size = 100

    c = make_text_dataset(corpus_file, Bare())
    assert len(c.test_text) == 3 and len(c.train_text) == 27


# ------------------------------------------------------------------------------------------ save/load

def test_save_load_round_trip(corpus_file: Path, tmp_path: Path) -> None:
    c = make_text_dataset(corpus_file, cfg(tokenizer="bpe", vocab_size=100))
    paths = c.save(tmp_path / "run")
    assert sorted(p.name for p in paths) == ["corpus.json", "tokenizer.json"]
    d = TextCorpus.load(tmp_path / "run", vocab_size=c.vocab_size)
    assert (d.vocab_size, d.max_len, d.kind) == (c.vocab_size, c.max_len, "bpe")
    assert (d.pad_id, d.bos_id, d.eos_id, d.unk_id) == (c.pad_id, c.bos_id, c.eos_id, c.unk_id)
    assert d.decode_batch(c.train) == c.decode_batch(c.train)
    assert d.encode(SENTENCES[0]) == c.encode(SENTENCES[0])
    assert d.train.shape == (0, c.max_len) and d.stats["train"]["sentences"] == c.stats["train"]["sentences"]


def test_load_errors(corpus_file: Path, tmp_path: Path) -> None:
    c = make_text_dataset(corpus_file, cfg())
    run = tmp_path / "run"
    c.save(run)
    with pytest.raises(GanError, match=rf"has {c.vocab_size} tokens but the model's vocabulary has 999"):
        TextCorpus.load(run, vocab_size=999)
    with pytest.raises(GanError, match=r"corpus\.json not found"):
        TextCorpus.load(tmp_path / "elsewhere")
    (run / "tokenizer.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(GanError, match=r"tokenizer\.json: not a valid tokenizer"):
        TextCorpus.load(run)
    other = make_text_dataset(write(tmp_path / "o.txt", ["x y", "z w", "x"]), cfg(test_fraction=0))
    other.tokenizer.save(str(run / "tokenizer.json"))  # a tokenizer from another corpus next to this meta
    with pytest.raises(GanError, match="come from different runs"):
        TextCorpus.load(run)
    (run / "corpus.json").write_bytes(b"\xff\x00")
    with pytest.raises(GanError, match=r"corpus\.json: not a readable corpus description"):
        TextCorpus.load(run)


# ------------------------------------------------------------------------------------------ property

WORDS = ["a", "man", "dog", "the", "3.5", "it's", ",", ".", "e.g.", "(x)", "&", "-", "a-b", "1-2", "<b>", "ok!"]


@settings(max_examples=25, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.lists(st.sampled_from(WORDS), min_size=1, max_size=8), min_size=2, max_size=6),
       st.sampled_from(["word", "bpe"]))
def test_decoded_text_retokenises_like_the_original(tmp_path: Path, sents, kind) -> None:
    """What BLEU sees of a decoded row equals what it sees of the source sentence (no unk)."""
    lines = [" ".join(w) for w in sents]
    path = write(tmp_path / "p.txt", lines)
    c = make_text_dataset(path, cfg(tokenizer=kind, vocab_size=200, test_fraction=0))
    assert c.stats["train"]["unk"] == 0
    for text, out in zip(c.train_text, c.decode_batch(c.train)):
        assert tok13a(out) == tok13a(text)
