"""Shared settings of the translation plugin's tests."""

from __future__ import annotations

import os

import pytest
import torch


@pytest.fixture(autouse=True, scope="session")
def _no_home_cache(tmp_path_factory):
    """Evaluation classifiers are cached in a folder of this test session, never in ~/.cache
    (session scope: module-scoped fixtures that evaluate run under it too)."""
    before = os.environ.get("GANFORGE_CACHE")
    os.environ["GANFORGE_CACHE"] = str(tmp_path_factory.mktemp("cache"))
    yield
    if before is None:
        os.environ.pop("GANFORGE_CACHE", None)
    else:
        os.environ["GANFORGE_CACHE"] = before


@pytest.fixture(autouse=True, scope="module")
def _one_intra_op_thread():
    """The test networks are tiny (16-32 px, 8-16 channels): intra-op threads buy nothing there and,
    on a busy machine, their spin-waiting multiplies wall time several-fold. One thread per test
    keeps durations predictable; the setting is restored after each test module (module scope, so
    module-scoped fixtures that train models run under it too)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
