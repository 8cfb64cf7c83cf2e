"""`gan run/sample/eval` on a text corpus through the real command line."""

from __future__ import annotations

import json
import random

from gan.cli import main

QUIET = ["--device", "cpu", "--set", "run.progress=false", "--set", "run.tensorboard=false"]
WORDS = "a cat dog sat on the mat big small red".split()


def _corpus(path):
    rng = random.Random(0)
    lines = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 8))) for _ in range(120)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_sample_eval_and_a_moved_corpus(tmp_path, capsys):
    corpus, run_dir = _corpus(tmp_path / "corpus.txt"), tmp_path / "run"
    assert main(["run", "--plugin", "seqgan", "--preset", "tiny", "--dataset", "text", "--data-root",
                 str(corpus), "--run-dir", str(run_dir), *QUIET]) == 0
    capsys.readouterr()
    assert main(["sample", "--run-dir", str(run_dir), "-n", "5", "--seed", "0"]) == 0
    lines = capsys.readouterr().out.splitlines()
    # decoded words (a barely trained tiny model may still pick the unknown token or end at once)
    assert len(lines) == 5 and all(set(ln.split()) <= {*WORDS, "<unk>"} for ln in lines), lines

    moved = corpus.rename(tmp_path / "elsewhere.txt")
    # the corpus is gone: sampling needs only the tokenizer the run saved ...
    assert main(["sample", "--run-dir", str(run_dir), "-n", "5", "--seed", "0"]) == 0
    assert capsys.readouterr().out.splitlines() == lines
    # ... evaluation needs the held-out sentences and says how to give them
    assert main(["eval", "--run-dir", str(run_dir)]) == 2
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("error:")]
    assert len(err) == 1 and "corpus is gone" in err[0] and "--data-root" in err[0]
    # without the saved tokenizer as well, the run names the missing corpus
    saved = (run_dir / "text").rename(tmp_path / "saved-text")
    assert main(["sample", "--run-dir", str(run_dir), "-n", "5", "--seed", "0"]) == 2
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("error:")]
    assert len(err) == 1 and str(corpus) in err[0] and "no longer exists" in err[0]
    assert "--data-root" in err[0]
    saved.rename(run_dir / "text")

    assert main(["sample", "--run-dir", str(run_dir), "-n", "5", "--seed", "0",
                 "--data-root", str(moved)]) == 0
    assert capsys.readouterr().out.splitlines() == lines  # same model, same seed, same sentences
    # another corpus gives another vocabulary: said in one line, with the parameter that differs
    other = tmp_path / "other.txt"
    other.write_text("the quick brown fox\n" * 40, encoding="utf-8")
    assert main(["sample", "--run-dir", str(run_dir), "--data-root", str(other)]) == 2
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("error:")]
    assert len(err) == 1 and "does not match" in err[0] and "size mismatch for embedding" in err[0]
    assert main(["eval", "--run-dir", str(run_dir), "--data-root", str(moved), "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert 0 < record["bleu-2"] <= 1 and "signature" in json.dumps(record)
