"""The oracle: the authors' pickle (py2 and py3) through a numpy-only unpickler, data files, NLL."""

import codecs
import os
import pickle
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from gan import GanError
from gan_seqgan.oracle import (OracleConfig, PARAM_NAMES, build_oracle_data, load_oracle_params,
                               make_oracle_dataset, oracle_from_arrays, read_token_file, sequence_nll)


@pytest.fixture(autouse=True)
def one_thread():
    # small tensors: a second OpenMP thread only adds synchronisation (and stalls on a busy machine)
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


V, E, H, T = 17, 4, 5, 6


def oracle_arrays(seed=0):
    rng = np.random.default_rng(seed)
    shapes = {"embedding": (V, E), "Wo": (H, V), "bo": (V,)}
    for g in ("i", "f", "og", "c"):
        shapes[f"W{g}"], shapes[f"U{g}"], shapes[f"b{g}"] = (E, H), (H, H), (H,)
    return [rng.standard_normal(shapes[n]).astype(np.float32) for n in PARAM_NAMES]


def numpy_oracle_log_probs(a, seqs):
    """The authors' TARGET_LSTM written out in numpy: per-token log-probabilities of ``seqs``."""
    p = dict(zip(PARAM_NAMES, [x.astype(np.float64) for x in a]))
    sig = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    n = seqs.shape[0]
    h, c = np.zeros((n, H)), np.zeros((n, H))
    x = p["embedding"][np.zeros(n, dtype=int)]  # start token 0
    out = np.zeros(seqs.shape)
    for t in range(seqs.shape[1]):
        i = sig(x @ p["Wi"] + h @ p["Ui"] + p["bi"])
        f = sig(x @ p["Wf"] + h @ p["Uf"] + p["bf"])
        o = sig(x @ p["Wog"] + h @ p["Uog"] + p["bog"])
        c = f * c + i * np.tanh(x @ p["Wc"] + h @ p["Uc"] + p["bc"])
        h = o * np.tanh(c)
        logits = h @ p["Wo"] + p["bo"]
        logits -= logits.max(1, keepdims=True)
        logp = logits - np.log(np.exp(logits).sum(1, keepdims=True))
        out[:, t] = logp[np.arange(n), seqs[:, t]]
        x = p["embedding"][seqs[:, t]]
    return out


def py2_protocol0_pickle(arrays) -> bytes:
    """A list of float32 arrays pickled the way Python 2's cPickle (protocol 0) writes it."""
    out = [b"(lp1\n"]
    for a in arrays:
        shape = b"".join(b"I%d\n" % d for d in a.shape)
        data = codecs.escape_encode(a.astype("<f4").tobytes())[0]  # escapes ' too
        out.append(b"cnumpy.core.multiarray\n_reconstruct\n(cnumpy\nndarray\n(I0\ntS'b'\ntR(I1\n(" + shape
                   + b"tcnumpy\ndtype\n(S'f4'\nI0\nI1\ntR(I3\nS'<'\nNNNI-1\nI-1\nI0\ntbI00\nS'" + data
                   + b"'\ntba")
    out.append(b".")
    return b"".join(out)


def write_pickles(tmp_path, arrays):
    paths = {}
    for proto in (2, 4):
        paths[f"py3-protocol{proto}"] = tmp_path / f"params{proto}.pkl"
        paths[f"py3-protocol{proto}"].write_bytes(pickle.dumps(arrays, protocol=proto))
    paths["py2"] = tmp_path / "params_py2.pkl"
    paths["py2"].write_bytes(py2_protocol0_pickle(arrays))
    return paths


def test_every_pickle_flavour_loads_the_same_arrays(tmp_path):
    arrays = oracle_arrays()
    for kind, path in write_pickles(tmp_path, arrays).items():
        loaded = load_oracle_params(path)
        assert len(loaded) == 15, kind
        for a, b in zip(arrays, loaded):
            assert b.dtype == np.float32 and np.array_equal(a, b), kind


def test_pickled_oracle_reproduces_its_nll_on_its_own_training_data(tmp_path):
    arrays = oracle_arrays(1)
    params = write_pickles(tmp_path, arrays)["py2"]
    oracle = oracle_from_arrays(load_oracle_params(params), seq_len=T)
    train = oracle.sample(300, generator=torch.Generator().manual_seed(0))
    data_file = tmp_path / "real_data.txt"
    data_file.write_text("\n".join(" ".join(map(str, row)) for row in train.tolist()) + "\n")
    data = build_oracle_data(OracleConfig(params=str(params), data=str(data_file), seq_len=T, num_test=50))
    assert torch.equal(data.train, train) and data.vocab_size == V and data.test.shape == (50, T)
    expected = -numpy_oracle_log_probs(arrays, train.numpy()).mean()
    assert sequence_nll(data.oracle, data.train, chunk=64) == pytest.approx(expected, abs=1e-4)
    # the folder layout of the authors' repository works through --data-root
    (tmp_path / "target_params_py3.pkl").write_bytes(pickle.dumps(arrays))
    via_root = make_oracle_dataset(tmp_path, SimpleNamespace(oracle=OracleConfig(seq_len=T, num_test=5)))
    assert torch.equal(via_root.train, train)


class Exploit:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


class EvalExploit:
    def __reduce__(self):
        return eval, ("__import__('os').getcwd()",)


@pytest.mark.parametrize("payload", ["system", "eval", "nested"])
def test_malicious_pickles_are_refused_without_running_anything(tmp_path, payload):
    marker = tmp_path / "pwned"
    obj = {"system": Exploit(marker), "eval": EvalExploit(),
           "nested": oracle_arrays()[:14] + [Exploit(marker)]}[payload]
    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps(obj))
    with pytest.raises(GanError, match="not allowed"):
        load_oracle_params(path)
    assert not marker.exists()


def test_wrong_pickle_contents_are_explained(tmp_path):
    arrays = oracle_arrays()
    cases = {
        "14 arrays": (arrays[:14], "list of 15 arrays"),
        "int array": (arrays[:3] + [np.zeros(H, dtype=np.int64)] + arrays[4:], "bi is ndarray of int64"),
        "bad shape": (arrays[:13] + [np.zeros((H, V + 1), np.float32)] + arrays[14:], "Wo has shape"),
        "nan": (arrays[:1] + [np.full((E, H), np.nan, np.float32)] + arrays[2:], "Wi holds NaN"),
    }
    for name, (obj, msg) in cases.items():
        path = tmp_path / f"{name}.pkl"
        path.write_bytes(pickle.dumps(obj))
        with pytest.raises(GanError, match=msg):
            load_oracle_params(path)
    (tmp_path / "trunc.pkl").write_bytes(pickle.dumps(arrays)[:100])
    with pytest.raises(GanError, match="not a readable pickle"):
        load_oracle_params(tmp_path / "trunc.pkl")
    with pytest.raises(GanError, match="file not found"):
        load_oracle_params(tmp_path / "missing.pkl")


def test_token_file_errors_name_the_line(tmp_path):
    f = tmp_path / "data.txt"
    for text, msg in [("1 2 3\n1 2\n", "line 2: 2 tokens, expected 3"),
                      ("1 2 x\n", "line 1: expected integers"),
                      ("1 2 99\n", "line 1: token out of range"), ("\n\n", "no sequences")]:
        f.write_text(text)
        with pytest.raises(GanError, match=msg):
            read_token_file(f, 10, 3)
    f.write_text("1 2 3\n\n4 5 6\n")
    assert read_token_file(f, 10, 3).tolist() == [[1, 2, 3], [4, 5, 6]]


def test_embedded_oracle_depends_on_its_seed_only(tmp_path):
    cfg = OracleConfig(vocab_size=V, seq_len=T, emb_dim=E, hidden_dim=H, num_train=40, num_test=10)
    torch.manual_seed(1)
    a = build_oracle_data(cfg)
    torch.manual_seed(2)
    b = build_oracle_data(cfg)
    assert torch.equal(a.train, b.train) and torch.equal(a.test, b.test)
    assert a.oracle.W.std() > 0.5  # N(0, 1) weights, not the generator's N(0, 0.1)
    cfg.seed += 1
    assert not torch.equal(build_oracle_data(cfg).train, a.train)
    with pytest.raises(GanError, match="holds neither"):
        build_oracle_data(cfg, root=tmp_path)
