"""The CycleGAN image pool (history buffer of 50 fakes)."""

from __future__ import annotations

import math

import torch

from gan_translation.pool import ImagePool


def _images(start: int, n: int) -> torch.Tensor:
    """Images whose every pixel holds their id, so returned images can be traced back."""
    return torch.arange(start, start + n, dtype=torch.float32)[:, None, None, None].expand(n, 1, 2, 2).clone()


def _ids(batch: torch.Tensor) -> list[int]:
    return [int(v) for v in batch[:, 0, 0, 0]]


def test_pool_returns_new_images_until_full():
    pool = ImagePool(size=5, seed=0)
    out = pool.query(_images(0, 3))
    assert _ids(out) == [0, 1, 2] and len(pool) == 3
    out = pool.query(_images(3, 2))
    assert _ids(out) == [3, 4] and len(pool) == 5


def test_pool_returns_past_images_with_probability_one_half():
    pool = ImagePool(size=50, seed=123)
    pool.query(_images(0, 50))  # fill it
    trials, past = 4000, 0
    for i in range(trials):
        new_id = 50 + i
        (got,) = _ids(pool.query(_images(new_id, 1)))
        if got != new_id:
            assert got < new_id  # an image generated earlier
            past += 1
    # binomial(4000, 0.5): mean 2000, sd ≈ 31.6; ±5 sd
    assert abs(past - trials / 2) < 5 * math.sqrt(trials / 4)
    assert len(pool) == 50


def test_pool_swaps_the_returned_image_for_the_new_one():
    pool = ImagePool(size=4, seed=1)
    pool.query(_images(0, 4))
    for i in range(200):
        new_id = 4 + i
        (got,) = _ids(pool.query(_images(new_id, 1)))
        stored = {int(t[0, 0, 0]) for t in pool.images}
        if got != new_id:
            assert got not in stored and new_id in stored
        assert len(stored) == 4


def test_pool_state_round_trip_reproduces_decisions():
    a = ImagePool(size=8, seed=7)
    a.query(_images(0, 12))
    state = a.state_dict()
    b = ImagePool(size=8, seed=999)
    b.load_state_dict(state)
    batch = _images(100, 16)
    assert torch.equal(a.query(batch), b.query(batch))
    assert all(torch.equal(x, y) for x, y in zip(a.images, b.images))


def test_pool_size_zero_is_a_pass_through():
    pool = ImagePool(size=0)
    x = torch.randn(3, 1, 2, 2)
    assert pool.query(x) is x and len(pool) == 0
