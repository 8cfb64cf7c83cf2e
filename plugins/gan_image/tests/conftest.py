"""Fixtures of the image plugin's tests: the registered models and small labelled image sets."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import torch

from gan.registry import Registry
from gan.testing import make_recipe
from gan_image.datasets import ImageData


def _registered_models() -> dict[str, type]:
    from gan_image.plugin import gan_register_models

    reg: Registry = Registry("model")
    gan_register_models(reg.view("image", True))
    reg.finalize()
    return {e.name: e.obj for e in reg.entries()}


MODELS = _registered_models()


def pytest_generate_tests(metafunc: Any) -> None:
    """``image_model``: every model the plugin registers, by name."""
    if "image_model" in metafunc.fixturenames:
        metafunc.parametrize("image_model", sorted(MODELS))


@pytest.fixture(autouse=True)
def _no_home_cache(tmp_path, monkeypatch):
    """The evaluation classifier cache goes to the test's own folder, never to ~/.cache."""
    monkeypatch.setenv("GANFORGE_CACHE", str(tmp_path / "cache"))


@pytest.fixture
def models() -> dict[str, type]:
    return MODELS


@pytest.fixture
def tiny() -> Callable[..., Any]:
    """``tiny("dcgan", lr=1e-3, data=...)``: the model's tiny preset on CPU with overrides
    (nested keys as ``data__image_size``)."""
    def build(name: str, preset: str | None = "tiny", **overrides: Any) -> Any:
        return make_recipe(MODELS[name], preset=preset, **overrides)
    return build


def _halves(n: int = 256, size: int = 16, seed: int = 0) -> ImageData:
    g = torch.Generator().manual_seed(seed)
    labels = torch.arange(n) % 2
    noise = torch.rand(n, 1, size, size, generator=g) * 60
    rows = torch.arange(size).view(1, 1, size, 1)
    top = (rows < size // 2).float()
    ink = torch.where(labels.view(-1, 1, 1, 1) == 0, top, 1 - top) * 180
    return ImageData((noise + ink).clamp(0, 255).to(torch.uint8), labels, ["top", "bottom"], "halves",
                     source="test")


@pytest.fixture
def halves() -> Callable[..., ImageData]:
    """Two linearly separable classes: ink in the top half (0) or the bottom half (1), plus noise."""
    return _halves
