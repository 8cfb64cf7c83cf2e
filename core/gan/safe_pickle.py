"""One restricted unpickler for the numpy pickles some datasets ship in (CIFAR-10's python batches,
the SeqGAN authors' oracle parameters).

Pickle runs whatever callable a file names, so these files are read by an unpickler that resolves
only the globals numpy needs to rebuild arrays, dtypes and scalars; any other global (``os.system``,
``builtins.eval``, ``numpy.load`` ...) and every persistent id is refused *before* it is looked up.
Python 2 pickles are read with ``encoding="latin1"``, the one encoding ``_codecs.encode`` may name.
"""

from __future__ import annotations

import io
import pickle
from typing import Any, BinaryIO


class RefusedPickle(pickle.UnpicklingError):
    """The pickle asks for something other than numpy array reconstruction."""


def _numpy(module: str, name: str) -> Any:
    import importlib

    import numpy as np
    if module.startswith("numpy.core") and hasattr(np, "_core"):  # numpy 1.x pickles under numpy 2
        module = module.replace("numpy.core", "numpy._core", 1)
    return getattr(importlib.import_module(module), name)


def _latin1_encode(text: str, encoding: str = "latin1") -> bytes:
    # Python 3 pickles of protocol < 3 store bytes as _codecs.encode(text, "latin1")
    if encoding not in ("latin1", "latin-1"):
        raise RefusedPickle(f"_codecs.encode with encoding {encoding!r} is not allowed")
    return text.encode("latin1")


_ALLOWED: dict[tuple[str, str], Any] = {
    **{(m, n): (lambda m=m, n=n: _numpy(m, n))
       for m in ("numpy.core.multiarray", "numpy._core.multiarray") for n in ("_reconstruct", "scalar")},
    ("numpy", "ndarray"): lambda: _numpy("numpy", "ndarray"),
    ("numpy", "dtype"): lambda: _numpy("numpy", "dtype"),
    ("_codecs", "encode"): lambda: _latin1_encode,
}


class NumpyOnlyUnpickler(pickle.Unpickler):
    """Rebuilds numpy arrays, dtypes, scalars and builtin containers; refuses everything else."""

    def find_class(self, module: str, name: str) -> Any:
        make = _ALLOWED.get((module, name))
        if make is None:
            raise RefusedPickle(f"refusing to load global {module}.{name}: not allowed (numpy arrays only)")
        return make()

    def persistent_load(self, pid: Any) -> Any:
        raise RefusedPickle("persistent ids are not allowed (numpy arrays only)")


def load_numpy_pickle(f: BinaryIO | bytes) -> Any:
    """Unpickle ``f`` (an open binary file or bytes) allowing numpy arrays only.

    Raises :class:`RefusedPickle` for a forbidden global and pickle's own errors for a corrupt file;
    callers turn them into a :class:`gan.GanError` naming the file and the setting that chose it."""
    src = io.BytesIO(f) if isinstance(f, (bytes, bytearray)) else f
    return NumpyOnlyUnpickler(src, encoding="latin1").load()


__all__ = ["NumpyOnlyUnpickler", "RefusedPickle", "load_numpy_pickle"]
