"""A moving average of G's weights: its arithmetic, that it changes no update, and what loads and evaluates it."""

import json

import numpy as np
import pytest
import tensorflow as tf
from conftest import make_run, run_experiment

from infogan_tf import load
from infogan_tf.averaging import WeightAverage
from infogan_tf.trainer import Callback


def test_the_average_starts_at_the_weights_then_decays_towards_them():
    weights = [tf.Variable(np.zeros((2, 3), np.float32)), tf.Variable(np.zeros(4, np.float32))]
    average = WeightAverage(weights, decay=0.75)
    rng = np.random.default_rng(0)
    history = []
    for _ in range(4):
        for w in weights:
            w.assign(rng.normal(size=w.shape).astype(np.float32))
        history.append([w.numpy().astype(np.float64) for w in weights])
        average.update(weights)
    for i in range(2):
        expected = history[0][i]
        for later in history[1:]:
            expected = 0.75 * expected + 0.25 * later[i]
        np.testing.assert_allclose(average.averages[i].numpy(), expected, rtol=1e-6)
    assert int(average.updates.numpy()) == 4


def test_an_average_that_starts_later_leaves_the_first_updates_out_then_copies_the_weights():
    weight = tf.Variable(np.zeros(3, np.float32))
    average = WeightAverage([weight], decay=0.75, start=2)
    history = []
    for before in range(5):
        weight.assign(np.full(3, before + 1.0, np.float32))
        history.append(weight.numpy().astype(np.float64))
        average.update([weight], before=before)
        if before < 2:  # updates 1 and 2 are left out
            assert int(average.updates.numpy()) == 0 and not average.averages[0].numpy().any()
    expected = history[2]
    for later in history[3:]:
        expected = 0.75 * expected + 0.25 * later
    np.testing.assert_allclose(average.averages[0].numpy(), expected, rtol=1e-6)
    assert int(average.updates.numpy()) == 3
    with pytest.raises(ValueError, match="needs the update number"):
        average.update([weight])
    with pytest.raises(ValueError, match="not after -1"):
        WeightAverage([weight], decay=0.75, start=-1)


@pytest.mark.parametrize("decay", [0.0, 1.0, -0.5, 1.5])
def test_a_decay_outside_0_1_is_refused(decay):
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        WeightAverage([tf.Variable(1.0)], decay)


def test_an_average_restored_only_to_read_cannot_update_nor_copy_before_it_holds_anything():
    average = WeightAverage([tf.Variable(1.0)], decay=None)
    with pytest.raises(ValueError, match="no update yet"):
        average.copy_to([tf.Variable(2.0)])
    with pytest.raises(ValueError, match="only to be read"):
        average.update([tf.Variable(2.0)])


class RecordGenerator(Callback):
    """G's variables after every update, in float64."""

    def __init__(self):
        self.after = []

    def on_update_end(self, trainer, step):
        self.after.append([v.numpy().astype(np.float64) for v in trainer.model.generator_state])


def test_a_run_keeping_an_average_takes_the_same_updates_and_averages_every_variable_of_g(tmp_path):
    runs = {}
    for decay in (0.0, 0.5):
        run = make_run(tmp_path / str(decay), max_epoch=1, updates_per_epoch=3, generator_average=decay)
        record = RecordGenerator()
        run.start()
        logs = run.train(extra_callbacks=[record])
        runs[decay] = (run, record.after, logs)
    (_, plain_after, plain_logs), (averaged, after, logs) = runs[0.0], runs[0.5]
    assert logs == plain_logs
    for plain_update, update in zip(plain_after, after, strict=True):  # G's weights after every update, bit for bit
        for a, b in zip(plain_update, update, strict=True):
            np.testing.assert_array_equal(a, b)
    average = averaged.trainer.train_step.followers[0].average
    names = [v.path for v in averaged.trainer.model.generator_state]
    assert any("moving_mean" in n for n in names) and any("kernel" in n for n in names)
    for i, variable in enumerate(average.averages):
        expected = 0.25 * after[0][i] + 0.25 * after[1][i] + 0.5 * after[2][i]
        np.testing.assert_allclose(variable.numpy(), expected, rtol=1e-5, atol=1e-6)
    kernel = names.index(next(n for n in names if "kernel" in n))
    assert not np.allclose(average.averages[kernel].numpy(), after[2][kernel])  # the average is not the last weights


def test_load_puts_the_average_in_g_unless_the_trained_weights_are_asked_for(tmp_path):
    run = make_run(tmp_path, max_epoch=1, updates_per_epoch=3, snapshot_interval=3, generator_average=0.5)
    run.start()
    run.train()
    average = run.trainer.train_step.followers[0].average
    trained = [v.numpy() for v in run.trainer.model.generator_state]
    loaded = load(run.checkpoint_dir)
    assert loaded.average_updates == 3
    for a, v in zip(average.averages, loaded.model.generator_state):
        np.testing.assert_array_equal(a.numpy(), v.numpy())
    as_trained = load(run.checkpoint_dir, generator="trained")
    assert as_trained.average_updates == 0
    for t, v in zip(trained, as_trained.model.generator_state):
        np.testing.assert_array_equal(t, v.numpy())
    with pytest.raises(ValueError, match="choose one of average, trained"):
        load(run.checkpoint_dir, generator="ema")


def test_an_average_added_to_a_run_from_a_checkpoint_without_one_starts_at_its_weights(tmp_path):
    """Resuming another run's checkpoint (written with no average) under --generator_average is not refused as
    damaged, and the new average begins at the checkpoint's G, not at zeros."""
    first = make_run(tmp_path / "first", max_epoch=1, updates_per_epoch=2, snapshot_interval=2)
    first.start()
    first.train()
    assert load(first.checkpoint_dir).average_updates == 0
    second = make_run(tmp_path / "second", max_epoch=2, updates_per_epoch=2, generator_average=0.9)
    assert second.start(resume=str(first.checkpoint_dir)) == 2
    record = RecordGenerator()
    second.train(extra_callbacks=[record])
    average = second.trainer.train_step.followers[0].average
    assert int(average.updates.numpy()) == 2
    for i, variable in enumerate(average.averages):
        np.testing.assert_allclose(
            variable.numpy(), 0.9 * record.after[0][i] + 0.1 * record.after[1][i], rtol=1e-5, atol=1e-7
        )


def test_an_average_from_update_s_is_the_average_added_to_the_runs_checkpoint_of_update_s(tmp_path):
    """What a run keeping --generator_average_from=S samples from is what continuing its own update-S checkpoint
    (written with no average) under --generator_average gives, bit for bit: the second is how the preset's
    Frechet distances were measured (README)."""
    later = make_run(
        tmp_path / "later", max_epoch=2, updates_per_epoch=2, generator_average=0.9, generator_average_from=2
    )
    later.start()
    later.train()
    first = make_run(tmp_path / "first", max_epoch=1, updates_per_epoch=2, snapshot_interval=2)
    first.start()
    first.train()
    added = make_run(tmp_path / "added", max_epoch=2, updates_per_epoch=2, generator_average=0.9)
    added.start(resume=str(first.checkpoint_dir))
    added.train()
    ours, theirs = later.trainer.train_step.followers[0].average, added.trainer.train_step.followers[0].average
    assert int(ours.updates.numpy()) == int(theirs.updates.numpy()) == 2
    for a, b in zip(ours.averages, theirs.averages, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert load(later.checkpoint_dir).average_updates == 2
    before = make_run(
        tmp_path / "before", max_epoch=1, updates_per_epoch=2, generator_average=0.9, generator_average_from=2
    )
    before.start()
    before.train()  # it ends where its average would start: loaded, G holds the trained weights
    assert load(before.checkpoint_dir).average_updates == 0


def test_the_launcher_evaluates_the_average_and_on_asking_the_trained_g_beside_it(
    tmp_path, mnist_dir, tiny_classifier_cache
):
    env, _ = tiny_classifier_cache
    flags = ["--max_epoch=1", "--updates_per_epoch=2", "--batch_size=16", "--evaluate=false"]
    trained = run_experiment("run_mnist_exp.py", mnist_dir, tmp_path, *flags, "--generator_average=0.99")
    assert trained.returncode == 0, trained.stderr[-2000:]
    assert json.loads((tmp_path / "ckt" / "tiny" / "run.json").read_text())["update"]["generator_average"] == 0.99
    checkpoint = tmp_path / "ckt" / "tiny" / "tiny-2"
    evaluations = tmp_path / "ckt" / "tiny" / "evaluation" / "tiny-2"
    scores = {}
    for weights, folder in (("average", evaluations), ("trained", evaluations / "trained_generator")):
        result = run_experiment(
            "evaluate.py",
            mnist_dir,
            tmp_path,
            f"--checkpoint={checkpoint}",
            f"--generator_weights={weights}",
            "--eval_samples=200",
            env=env,
        )
        assert result.returncode == 0, result.stderr[-2000:]
        scores[weights] = json.loads((folder / "results.json").read_text())
    average, trained = scores["average"], scores["trained"]
    assert (average["generator_weights"], average["generator_average_updates"]) == ("average", 2)
    assert trained["generator_weights"] == "trained" and "generator_average_updates" not in trained
    assert average["unsupervised_error_hungarian"] == trained["unsupervised_error_hungarian"]  # Q is not averaged
    assert average["frechet_distance"] != trained["frechet_distance"]  # G's samples are


def test_a_run_without_an_average_starts_quietly_from_a_checkpoint_with_one(tmp_path, mnist_dir):
    flags = ["--max_epoch=1", "--updates_per_epoch=2", "--batch_size=16", "--evaluate=false"]
    first = run_experiment("run_mnist_exp.py", mnist_dir, tmp_path, *flags, "--generator_average=0.9")
    assert first.returncode == 0, first.stderr[-2000:]
    (tmp_path / "ckt" / "tiny").rename(tmp_path / "ckt" / "first")
    second = run_experiment(
        "run_mnist_exp.py", mnist_dir, tmp_path, *flags, "--max_epoch=2", f"--resume={tmp_path / 'ckt' / 'first'}"
    )
    assert second.returncode == 0, second.stderr[-2000:]
    assert "update.generator_average: checkpoint has 0.9, this run asks for 0.0" in second.stdout
    assert "unrestored values" not in second.stderr and "could not be found" not in second.stderr
    assert load(tmp_path / "ckt" / "tiny").average_updates == 0
