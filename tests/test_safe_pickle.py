"""The one restricted unpickler (gan.safe_pickle): numpy arrays in, code execution never."""

from __future__ import annotations

import os
import pickle

import numpy as np
import pytest

from gan.safe_pickle import RefusedPickle, load_numpy_pickle


class _Gadget:
    def __init__(self, fn, *args):
        self.fn, self.args = fn, args

    def __reduce__(self):
        return self.fn, self.args


@pytest.mark.parametrize("protocol", [2, 4])
def test_numpy_arrays_scalars_and_containers_load(protocol):
    obj = {"data": np.arange(6, dtype=np.uint8).reshape(2, 3), "labels": [1, 2],
           "mean": np.float32(0.5), "pair": (np.ones(2), b"bytes")}
    got = load_numpy_pickle(pickle.dumps(obj, protocol=protocol))
    assert np.array_equal(got["data"], obj["data"]) and got["labels"] == [1, 2]
    assert got["mean"] == np.float32(0.5) and got["pair"][1] == b"bytes"


@pytest.mark.parametrize("gadget", [_Gadget(os.system, "echo pwned > /dev/null"), _Gadget(eval, "1+1"),
                                    _Gadget(np.load, "x.npy")])
def test_any_other_global_is_refused_before_it_is_called(gadget, tmp_path):
    with pytest.raises(RefusedPickle, match="refusing to load global"):
        load_numpy_pickle(pickle.dumps([gadget], protocol=2))


def test_persistent_ids_and_other_codecs_are_refused():
    class P(pickle.Pickler):
        def persistent_id(self, obj):
            return "x" if obj == "ext" else None

    import io
    buf = io.BytesIO()
    P(buf, protocol=2).dump(["ext"])
    with pytest.raises(RefusedPickle, match="persistent ids"):
        load_numpy_pickle(buf.getvalue())
    import codecs
    with pytest.raises(RefusedPickle, match="encoding 'rot13'"):
        load_numpy_pickle(pickle.dumps(_Gadget(codecs.encode, "abc", "rot13"), protocol=2))
