"""The loop: what a short run writes, how a run stops, and what it never saves."""

import io
import json

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import RandomImages, make_run

from infogan_tf.callbacks import ProgressBar
from infogan_tf.data import MnistDataset
from infogan_tf.losses import NonFiniteLossError
from infogan_tf.trainer import Callback, StopTraining


def test_short_real_run_writes_everything(tmp_path, mnist_dir):
    run = make_run(
        tmp_path, dataset=MnistDataset(str(mnist_dir)), batch_size=16, max_epoch=3, updates_per_epoch=10,
        snapshot_interval=10,
    )  # fmt: skip
    assert run.start() == 0
    last = run.train()
    trainer = run.trainer
    records = [json.loads(line) for line in (tmp_path / "logs" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [10, 20, 30]
    assert all(r["update_seconds"] < r["epoch_seconds"] and r["peak_rss_mb"] > 100 for r in records)
    assert set(trainer.log_keys) <= set(records[0])
    assert all(np.isfinite(r[k]) for r in records for k in trainer.log_keys)
    assert last == {k: records[-1][k] for k in trainer.log_keys}
    assert records[0]["discriminator_loss"] != records[-1]["discriminator_loss"]
    assert records[-1]["CrossEnt_disc"] < records[0]["CrossEnt_disc"]  # Q starts to read the code
    assert run.checkpoint.manager.checkpoints[-1].endswith("-30")
    assert len(run.checkpoint.manager.checkpoints) == 3
    assert list((tmp_path / "logs").glob("events.out.tfevents.*"))
    pngs = sorted(p.name for p in (tmp_path / "logs" / "images").glob("*.png"))
    assert len(pngs) == 3 * 3 and "image_0_Categorical_epoch_002.png" in pngs
    grid = tf.io.decode_png(tf.io.read_file(str(tmp_path / "logs" / "images" / pngs[0]))).numpy()
    assert grid.shape == (10 * 28, 10 * 28, 1) and grid.std() > 0


def test_checkpoint_restores_the_model(tmp_path):
    run = make_run(tmp_path, max_epoch=1, updates_per_epoch=2, snapshot_interval=2)
    run.start()
    run.train()
    z = run.trainer.model.latent_dist.sample_prior(4, tf.random.Generator.from_seed(3))
    expected, _ = run.trainer.model.generate(z, training=False)
    fresh = make_run(tmp_path / "other", seed=1)
    fresh.checkpoint.checkpoint.restore(run.checkpoint.latest).assert_consumed()
    restored, _ = fresh.trainer.model.generate(z, training=False)
    np.testing.assert_allclose(restored, expected, atol=1e-6)
    assert int(fresh.trainer.step.numpy()) == 2


class PoisonedImages(RandomImages):
    """Two good batches, then NaN images."""

    def __init__(self):
        super().__init__()
        good = tf.data.Dataset.from_tensor_slices(tf.random.uniform([2, 8, 784], seed=0))
        poisoned = good.concatenate(tf.data.Dataset.from_tensors(tf.fill([8, 784], np.nan)).repeat())
        self.train.batches = lambda batch_size, seed=0, start=0: poisoned.skip(start)


def test_nan_stops_the_run_and_keeps_the_last_good_checkpoint(tmp_path):
    run = make_run(tmp_path, dataset=PoisonedImages(), max_epoch=2, updates_per_epoch=5, snapshot_interval=2)
    run.start()
    with pytest.raises(NonFiniteLossError, match=r"update 3: discriminator_loss is nan; stopped without saving it"):
        run.train()
    assert [p.rsplit("-", 1)[1] for p in run.checkpoint.manager.checkpoints] == ["2"]
    fresh = make_run(tmp_path / "other")
    fresh.checkpoint.checkpoint.restore(run.checkpoint.latest)
    model = fresh.trainer.model
    assert all(np.all(np.isfinite(v.numpy())) for v in model.generator_variables + model.discriminator_variables)


def test_read_late_the_first_bad_update_is_still_named_and_nothing_after_it_saved(tmp_path):
    """With the flag read every 100 updates (a GPU's default), the check at the save at update 4 catches update 3."""
    run = make_run(
        tmp_path, dataset=PoisonedImages(), max_epoch=1, updates_per_epoch=8, snapshot_interval=2, check_interval=100
    )
    run.start()
    with pytest.raises(NonFiniteLossError, match=r"update 3: discriminator_loss is nan; stopped without saving it"):
        run.train()
    assert int(run.trainer.step.numpy()) == 4  # one update past the bad one ran before the read
    assert [p.rsplit("-", 1)[1] for p in run.checkpoint.manager.checkpoints] == ["2"]


class PoisonMovingMean(Callback):
    """Losses stay finite while a weight is not (a moving average, used only at inference)."""

    def __init__(self, at_step: int):
        self.at_step = at_step

    def on_update_end(self, trainer, step):
        if step == self.at_step:
            self.variable.assign(tf.fill(self.variable.shape, np.inf))

    def on_train_begin(self, trainer, step):
        layers = trainer.model.networks.generator.layers
        self.variable = next(lay for lay in layers if isinstance(lay, keras.layers.BatchNormalization)).moving_mean


def test_a_non_finite_weight_is_never_checkpointed(tmp_path):
    run = make_run(tmp_path, max_epoch=1, updates_per_epoch=6, snapshot_interval=2)
    run.start()
    with pytest.raises(NonFiniteLossError, match=r"update 4: weight \S+moving_mean is not finite"):
        run.train(extra_callbacks=[PoisonMovingMean(at_step=3)])
    assert [p.rsplit("-", 1)[1] for p in run.checkpoint.manager.checkpoints] == ["2"]


def test_a_callback_can_stop_the_run_and_it_is_saved(tmp_path):
    class StopAt5(Callback):
        def on_update_end(self, trainer, step):
            if step == 5:
                raise StopTraining

    run = make_run(tmp_path, max_epoch=3, updates_per_epoch=4, snapshot_interval=100)
    run.start()
    run.train(extra_callbacks=[StopAt5()])
    assert int(run.trainer.step.numpy()) == 5
    assert run.checkpoint.latest.endswith("-5")


class FakeTerminal(io.StringIO):
    def __init__(self, tty: bool):
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


@pytest.mark.parametrize("tty", [True, False])
def test_the_progress_bar_draws_only_on_a_terminal(tty, capsys):
    bar = ProgressBar(updates_per_epoch=4, stream=FakeTerminal(tty))
    for step in range(1, 5):
        bar.on_update_end(None, step)
    bar.on_epoch_end(None, 0, 4, {}, {})
    drawn = capsys.readouterr().out
    assert ("4/4" in drawn) if tty else drawn == ""
