"""The TensorBoard logger plugin writes event files with the logged scalars."""

import pytest

from gan.testing import fresh_manager, make_recipe, run_recipe


def test_tensorboard_events_are_written(linear_gan, tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    pm = fresh_manager(("tensorboard", "gan.tensorboard_logger"))
    r = make_recipe(linear_gan, steps=4)
    run_recipe(r, run_dir=tmp_path, pm=pm, log_every=2, tensorboard=True)
    acc = EventAccumulator(str(tmp_path / "tensorboard"))
    acc.Reload()
    tags = acc.Tags()["scalars"]
    assert "D/loss" in tags and "eval/mean_dist" in tags
    assert [e.step for e in acc.Scalars("D/loss")] == [2, 4]


def test_tensorboard_off_writes_nothing(linear_gan, tmp_path):
    pm = fresh_manager(("tensorboard", "gan.tensorboard_logger"))
    r = make_recipe(linear_gan, steps=2)
    run_recipe(r, run_dir=tmp_path, pm=pm, log_every=1, tensorboard=False)
    assert not (tmp_path / "tensorboard").exists()


def test_resume_purges_the_events_of_lost_steps(linear_gan, tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    pm = fresh_manager(("tensorboard", "gan.tensorboard_logger"))
    run_recipe(make_recipe(linear_gan, steps=8), steps=6, run_dir=tmp_path, pm=pm, log_every=1,
               ckpt_every=4, tensorboard=True)
    (tmp_path / "checkpoints" / "ckpt-00000006.pt").unlink()  # as if killed before saving step 6
    run_recipe(make_recipe(linear_gan, steps=8), run_dir=tmp_path, pm=pm, resume=True, log_every=1,
               ckpt_every=4, tensorboard=True)
    acc = EventAccumulator(str(tmp_path / "tensorboard"))
    acc.Reload()
    assert [e.step for e in acc.Scalars("D/loss")] == list(range(1, 9))
