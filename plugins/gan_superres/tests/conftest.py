"""Shared settings of the super-resolution plugin's tests."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True, scope="module")
def _one_intra_op_thread():
    """The test networks are tiny (16-64 px, 8-32 channels): intra-op threads buy nothing there and,
    on a busy machine, their spin-waiting multiplies wall time several-fold. One thread per test
    keeps durations predictable; the setting is restored after each test module (module scope, so
    module-scoped fixtures that train models run under it too)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
