"""The synthetic "oracle" experiment of the SeqGAN paper (Yu et al. 2017, section 4).

A randomly initialised LSTM (weights N(0, 1)) plays the real data distribution: it generates the
training set (10,000 sequences of length 20 over 5,000 tokens), and because its density is known, a
generator can be scored by **NLL-oracle** — the oracle's per-token negative log-likelihood of the
generator's samples, which no real dataset allows.

The oracle is the paper's LSTM cell (:class:`~gan_seqgan.generator.LSTMGenerator`: input, forget and
output gates and a candidate, no peepholes, ``x @ W``, start token 0, zero initial state). By default
it is drawn from ``oracle.seed`` and its data sampled in code (no files needed). With
``--set oracle.params=PATH`` it is the authors' own oracle from their published pickle
(``save/target_params.pkl`` (Python 2) or ``target_params_py3.pkl`` of LantaoYu/SeqGAN: a list of 15
float32 arrays ``embedding, Wi, Ui, bi, Wf, Uf, bf, Wog, Uog, bog, Wc, Uc, bc, Wo, bo``), read by an
unpickler that reconstructs numpy arrays and nothing else; ``--set oracle.data=PATH`` reads its
training file (one sequence of integers per line, e.g. the authors' ``real_data.txt``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from gan import safe_pickle
from gan.errors import GanError

from .generator import LSTMGenerator

PARAM_NAMES = ("embedding", "Wi", "Ui", "bi", "Wf", "Uf", "bf", "Wog", "Uog", "bog", "Wc", "Uc", "bc",
               "Wo", "bo")
PARAM_FILES = ("target_params_py3.pkl", "target_params.pkl")  # looked for under --data-root
DATA_FILE = "real_data.txt"


@dataclass
class OracleConfig:
    """Where the oracle and its data come from (the synthetic experiment of the paper)."""

    params: str | None = None  # the authors' target_params pickle; None = an N(0,1) oracle from `seed`
    data: str | None = None  # the oracle's training file (one sequence per line); None = sampled
    seed: int = 88  # seeds the embedded oracle's weights and the sampled data (authors' SEED = 88)
    vocab_size: int = 5000  # paper value (a pickle brings its own)
    seq_len: int = 20  # paper value
    emb_dim: int = 32  # paper value (a pickle brings its own)
    hidden_dim: int = 32  # paper value (a pickle brings its own)
    num_train: int = 10000  # training sequences sampled from the oracle (paper: 10,000)
    num_test: int = 10000  # held-out oracle sequences for NLL-test


# --- the oracle pickle (read by gan.safe_pickle's restricted unpickler) ---------------------------
def load_numpy_pickle(path: str | Path) -> Any:
    """Unpickle ``path`` allowing numpy arrays only; Python 2 pickles are read with ``latin1``."""
    p = Path(path).expanduser()
    try:
        with p.open("rb") as f:
            return safe_pickle.load_numpy_pickle(f)
    except FileNotFoundError:
        raise GanError(f"oracle.params={p}: file not found; expected the SeqGAN oracle pickle "
                       f"(target_params_py3.pkl or target_params.pkl)") from None
    except IsADirectoryError:
        raise GanError(f"oracle.params={p}: is a directory; expected the oracle pickle file") from None
    except safe_pickle.RefusedPickle as e:
        raise GanError(f"oracle.params={p}: refused ({e}); expected a pickle of numpy arrays only") from None
    except Exception as e:  # noqa: BLE001 - truncated/corrupt pickles raise many types
        raise GanError(f"oracle.params={p}: not a readable pickle ({type(e).__name__}: {e})") from None


def load_oracle_params(path: str | Path) -> list[np.ndarray]:
    """The 15 arrays of the authors' oracle pickle, checked for type, shape and finiteness."""
    obj = load_numpy_pickle(path)
    where = f"oracle.params={Path(path).expanduser()}"
    if not isinstance(obj, (list, tuple)) or len(obj) != len(PARAM_NAMES):
        n = len(obj) if isinstance(obj, (list, tuple)) else type(obj).__name__
        raise GanError(f"{where}: expected a list of {len(PARAM_NAMES)} arrays "
                       f"({', '.join(PARAM_NAMES)}), got {n}")
    arrays = []
    for name, a in zip(PARAM_NAMES, obj):
        if not isinstance(a, np.ndarray) or a.dtype.kind != "f":
            raise GanError(f"{where}: {name} is {type(a).__name__}"
                           f"{'' if not isinstance(a, np.ndarray) else ' of ' + str(a.dtype)}, "
                           f"expected a float array")
        arrays.append(np.asarray(a, dtype=np.float32))
    emb = arrays[0]
    if emb.ndim != 2:
        raise GanError(f"{where}: embedding has shape {emb.shape}, expected (vocab, emb_dim)")
    V, E = emb.shape
    H = arrays[2].shape[0] if arrays[2].ndim == 2 else -1
    expected = {"embedding": (V, E), "Wo": (H, V), "bo": (V,)}
    for gate in ("i", "f", "og", "c"):
        expected[f"W{gate}"], expected[f"U{gate}"], expected[f"b{gate}"] = (E, H), (H, H), (H,)
    for name, a in zip(PARAM_NAMES, arrays):
        if a.shape != expected[name]:
            raise GanError(f"{where}: {name} has shape {a.shape}, expected {expected[name]}")
        if not np.isfinite(a).all():
            raise GanError(f"{where}: {name} holds NaN or infinite values")
    return arrays


def oracle_from_arrays(arrays: list[np.ndarray], seq_len: int = 20, start_token: int = 0
                       ) -> LSTMGenerator:
    """An :class:`LSTMGenerator` holding the pickle's weights (gates fused in the order i, f, o, c)."""
    a = dict(zip(PARAM_NAMES, (torch.from_numpy(np.ascontiguousarray(x)) for x in arrays)))
    V, E = a["embedding"].shape
    H = a["Ui"].shape[0]
    model = LSTMGenerator(V, E, H, max_len=seq_len, start_token=start_token)
    with torch.no_grad():
        model.embedding.copy_(a["embedding"])
        model.W.copy_(torch.cat([a["Wi"], a["Wf"], a["Wog"], a["Wc"]], 1))
        model.U.copy_(torch.cat([a["Ui"], a["Uf"], a["Uog"], a["Uc"]], 1))
        model.b.copy_(torch.cat([a["bi"], a["bf"], a["bog"], a["bc"]]))
        model.W_out.copy_(a["Wo"])
        model.b_out.copy_(a["bo"])
    return model.requires_grad_(False).eval()


def random_oracle(cfg: OracleConfig) -> LSTMGenerator:
    """The embedded oracle: every weight N(0, 1), drawn from ``cfg.seed`` (independent of the run seed)."""
    model = LSTMGenerator(cfg.vocab_size, cfg.emb_dim, cfg.hidden_dim, max_len=cfg.seq_len, start_token=0)
    model.reset_parameters(1.0, generator=torch.Generator().manual_seed(cfg.seed))
    return model.requires_grad_(False).eval()


def read_token_file(path: str | Path, vocab_size: int, seq_len: int, what: str = "oracle.data"
                    ) -> torch.Tensor:
    """Sequences of integer tokens, one per line (blank lines skipped) → ``LongTensor (N, seq_len)``."""
    p = Path(path).expanduser()
    try:
        text = p.read_text(encoding="ascii")
    except FileNotFoundError:
        raise GanError(f"{what}={p}: file not found; expected one sequence of {seq_len} integer "
                       f"tokens per line") from None
    except IsADirectoryError:
        raise GanError(f"{what}={p}: is a directory; expected a text file of token sequences") from None
    except UnicodeDecodeError:
        raise GanError(f"{what}={p}: not a text file of integers (non-ASCII bytes)") from None
    rows = []
    for n, line in enumerate(text.splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        try:
            ids = [int(x) for x in parts]
        except ValueError:
            raise GanError(f"{what}={p}, line {n}: expected integers, got {line[:60]!r}") from None
        if len(ids) != seq_len:
            raise GanError(f"{what}={p}, line {n}: {len(ids)} tokens, expected {seq_len} "
                           f"(oracle.seq_len)")
        if min(ids) < 0 or max(ids) >= vocab_size:
            raise GanError(f"{what}={p}, line {n}: token out of range [0, {vocab_size})")
        rows.append(ids)
    if not rows:
        raise GanError(f"{what}={p}: no sequences found")
    return torch.tensor(rows, dtype=torch.long)


@torch.no_grad()
def sequence_nll(model: LSTMGenerator, tokens: torch.Tensor, chunk: int = 64) -> float:
    """Mean per-token NLL of ``tokens`` under ``model`` (chunked; all tokens weigh the same)."""
    model_device = model.W.device
    total, count = 0.0, 0
    for part in tokens.split(chunk):
        part = part.to(model_device)
        mask = model.target_mask(part)
        n = part.numel() if mask is None else int(mask.sum())
        total += float(model.nll(part)) * n
        count += n
    return total / max(1, count)


class OracleData:
    """What the ``oracle`` dataset factory returns: the oracle and its train / held-out sequences.

    Attributes:
        oracle: the :class:`LSTMGenerator` playing the data distribution (frozen).
        train, test: ``LongTensor (N, T)`` / ``(M, T)`` sampled from it (or read from a file).
        vocab_size, max_len, start_token: for the generator that learns it (no special tokens).
        source: provenance for evaluation protocols.
    """

    def __init__(self, oracle: LSTMGenerator, train: torch.Tensor, test: torch.Tensor | None,
                 source: dict[str, Any]) -> None:
        self.oracle, self.train, self.test, self.source = oracle, train, test, source
        self.vocab_size, self.max_len, self.start_token = oracle.vocab_size, oracle.max_len, 0

    def __len__(self) -> int:
        return self.train.shape[0]

    def __repr__(self) -> str:
        m = 0 if self.test is None else self.test.shape[0]
        return (f"OracleData(vocab_size={self.vocab_size}, max_len={self.max_len}, "
                f"train={self.train.shape[0]}, test={m}, oracle={self.source['oracle']})")


def _under_root(root: Path | None, names: tuple[str, ...]) -> Path | None:
    if root is None:
        return None
    for name in names:
        if (root / name).is_file():
            return root / name
    return None


def build_oracle_data(cfg: OracleConfig, root: Path | None = None) -> OracleData:
    """The oracle and its data from ``cfg`` (``root``: a folder holding the authors' files)."""
    if root is not None:
        root = Path(root).expanduser()
        if not root.is_dir():
            raise GanError(f"--data-root {root}: not a directory; expected a folder with "
                           f"{' or '.join(PARAM_FILES)} (and optionally {DATA_FILE})")
    params = cfg.params or _under_root(root, PARAM_FILES)
    if root is not None and params is None:
        raise GanError(f"--data-root {root}: holds neither {' nor '.join(PARAM_FILES)}; put the "
                       f"SeqGAN oracle pickle there or use --set oracle.params=PATH")
    if cfg.seq_len < 2:
        raise GanError(f"oracle.seq_len={cfg.seq_len}: expected at least 2")
    if params is not None:
        oracle = oracle_from_arrays(load_oracle_params(params), seq_len=cfg.seq_len)
        source = {"oracle": f"pickle {Path(params).expanduser()}"}
    else:
        for key in ("vocab_size", "emb_dim", "hidden_dim"):
            if getattr(cfg, key) < 1:
                raise GanError(f"oracle.{key}={getattr(cfg, key)}: expected a positive integer")
        oracle = random_oracle(cfg)
        source = {"oracle": f"N(0,1) LSTM, seed {cfg.seed}, vocab {cfg.vocab_size}, "
                            f"emb {cfg.emb_dim}, hidden {cfg.hidden_dim}"}
    g = torch.Generator().manual_seed(cfg.seed + 1)
    data_file = cfg.data or _under_root(root, (DATA_FILE,))
    if data_file is not None:
        train = read_token_file(data_file, oracle.vocab_size, cfg.seq_len)
        source["train"] = f"file {Path(data_file).expanduser()} ({train.shape[0]} sequences)"
    else:
        if cfg.num_train < 1:
            raise GanError(f"oracle.num_train={cfg.num_train}: expected a positive integer")
        train = oracle.sample(cfg.num_train, generator=g)
        source["train"] = f"{cfg.num_train} sequences sampled from the oracle (seed {cfg.seed + 1})"
    test = oracle.sample(cfg.num_test, generator=g) if cfg.num_test > 0 else None
    source["test"] = None if test is None else f"{cfg.num_test} held-out sequences sampled from the oracle"
    return OracleData(oracle, train, test, source)


def make_oracle_dataset(root: Path | None, config: Any) -> OracleData:
    """Dataset factory ``oracle``: the SeqGAN synthetic experiment (``--data-root``: the authors' files)."""
    cfg = getattr(config, "oracle", None) or OracleConfig()
    return build_oracle_data(cfg, root)
