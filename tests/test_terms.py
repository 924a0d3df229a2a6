"""A new term on the objective is one file and its registration; a launcher flag trains it.

The toy term below is written as a user would write one, in a module of its own beside a
launcher; nothing in the library is touched. It pulls D's logits of real images towards
0 (an L2 penalty, as a maximised negative square).
"""

import json
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import make_run, real_batch, run_command, snapshot

from infogan_tf import terms
from infogan_tf.config import TrainConfig
from infogan_tf.speed.reused_batch import ReusedBatchStep
from infogan_tf.step import InfoGANStep, Optimizers
from infogan_tf.terms import ExtraTerm, build_terms, split_by_term

TOY_TERM = """
import dataclasses

import tensorflow as tf

from infogan_tf.terms import ExtraTerm, register_term


@dataclasses.dataclass(frozen=True)
class Toy:
    weight: float = dataclasses.field(default=0.0, metadata={"help": "Weight of the toy term; 0: off."})


class ToyTerm(ExtraTerm):
    name = "toy"

    def __init__(self, toy):
        self.toy, self.weight = toy, toy.weight

    def settings(self):
        return dataclasses.asdict(self.toy)

    def log_keys(self, model):
        return ["toy_real_logit"]

    def discriminator_terms(self, model, z, real, extra):
        return {"toy_real_logit": -tf.reduce_mean(tf.square(real.d_logit))}


register_term("toy", Toy, lambda toy: ToyTerm(toy) if toy.weight else None)
"""

DATASET = """
import numpy as np

from infogan_tf.data import ImageDataset, register_dataset


@register_dataset
class Tiny8(ImageDataset):
    name = "tiny8"
    image_shape = (8, 8, 1)

    def __init__(self, data_dir=None):
        super().__init__(train=(np.random.default_rng(0).integers(0, 256, (48, 8, 8), dtype=np.uint8), None))
"""

LAUNCHER = """
import tiny8  # noqa: F401
import toy_term  # noqa: F401

from infogan_tf_launchers.command import launch

SETTINGS = dict(
    dataset="tiny8",
    latent_spec="uniform:3,categorical:3:reg,uniform:1:reg:fix_std",
    batch_size=4,
    updates_per_epoch=3,
    max_epoch=1,
    root_log_dir="logs",
    root_checkpoint_dir="ckt",
    evaluate=False,
)

if __name__ == "__main__":
    launch(SETTINGS)
"""


def launch_toy(directory, *flags):
    for name, text in (("toy_term.py", TOY_TERM), ("tiny8.py", DATASET), ("run_toy.py", LAUNCHER)):
        (directory / name).write_text(text)
    return run_command([sys.executable, "run_toy.py", *flags], cwd=directory)


def test_a_toy_term_in_its_own_file_trains_through_its_launcher_flag(tmp_path):
    on = launch_toy(tmp_path, "--exp_name=on", "--toy_weight=0.5")
    assert on.returncode == 0, on.stderr[-3000:]
    off = launch_toy(tmp_path, "--exp_name=off")
    assert off.returncode == 0, off.stderr[-3000:]
    (record,) = [json.loads(line) for line in (tmp_path / "logs" / "on" / "metrics.jsonl").read_text().splitlines()]
    assert record["toy_real_logit"] < 0 and np.isfinite(record["toy_real_logit"])
    (plain,) = [json.loads(line) for line in (tmp_path / "logs" / "off" / "metrics.jsonl").read_text().splitlines()]
    assert "toy_real_logit" not in plain
    assert record["discriminator_loss"] != plain["discriminator_loss"]  # the term changed D's updates
    settings = json.loads((tmp_path / "ckt" / "on" / "run.json").read_text())["update"]
    assert settings["toy"] == {"weight": 0.5} and settings["invariance"] is None
    assert json.loads((tmp_path / "ckt" / "off" / "run.json").read_text())["update"]["toy"] is None
    assert "--toy_weight=0.5" in (tmp_path / "logs" / "on" / "flags.txt").read_text()

    again = launch_toy(tmp_path, "--exp_name=on", "--toy_weight=0.25", "--max_epoch=2")
    assert again.returncode == 1 and "toy" in again.stderr and "Traceback" not in again.stderr
    helped = launch_toy(tmp_path, "--help")
    assert "--toy_weight" in helped.stdout and "Weight of the toy term" in helped.stdout


class Scaled(ExtraTerm):
    """Maximises ``scale`` times D's mean logit of real images; its D-step gradient is known in closed form."""

    name = "scaled"

    def __init__(self, weight: float):
        self.weight = weight

    def log_keys(self, model):
        return ["scaled_real_logit"]

    def discriminator_terms(self, model, z, real, extra):
        return {"scaled_real_logit": tf.reduce_mean(real.d_logit)}


def test_the_step_adds_a_terms_scalar_with_its_weight_to_ds_objective(tmp_path):
    """With plain SGD, the term moves D's weights by rate * weight * the gradient of its scalar, on top."""
    weight, rate = 0.3, 0.1
    model = make_run(tmp_path).trainer.model
    variables = model.discriminator_variables
    initial = snapshot(variables)
    x = real_batch()
    z = model.latent_dist.sample_prior(8, tf.random.Generator.from_seed(0))
    fake_x = model.generate(z, training=False)[0]
    with tf.GradientTape() as tape:
        real, _ = model.discriminate_real_and_fake(x, fake_x, training=True)
        scalar = tf.reduce_mean(real.d_logit)
    term_gradients = tape.gradient(scalar, variables)
    moves = []
    for step_terms in ([], [Scaled(weight)]):
        for variable, value in zip(variables, initial):
            variable.assign(value)
        optimizers = Optimizers(keras.optimizers.SGD(rate), keras.optimizers.SGD(rate))
        step = InfoGANStep(
            model, optimizers, tf.random.Generator.from_seed(0), TrainConfig(batch_size=8), terms=step_terms
        )
        logs = step.discriminator_step(x, z, fake_x)
        moves.append([v.numpy() - i for v, i in zip(variables, initial)])
    assert step.check_keys[-2] == "scaled_real_logit"
    np.testing.assert_allclose(logs["scaled_real_logit"], scalar, rtol=1e-5)
    compared = 0
    for without, with_term, gradient in zip(*moves, term_gradients):
        if gradient is None:  # Q's head: the term does not reach it
            np.testing.assert_array_equal(with_term, without)
            continue
        expected = rate * weight * gradient.numpy()
        if np.linalg.norm(expected) < 1e-4:  # a bias that BatchNorm cancels: its move is rounding only
            continue
        # the two updates round D's own gradient differently, so compare the term's share as a whole
        assert np.linalg.norm(with_term - without - expected) <= 0.02 * np.linalg.norm(expected)
        compared += 1
    assert compared >= 4


class Pulled(ExtraTerm):
    """Adds D's mean logit of G's images to G's objective: a G-step scalar without batches of its own."""

    name = "pulled"

    def __init__(self, weight: float):
        self.weight = weight

    def generator_terms(self, model, z, fake, extra):
        return {"pulled": tf.reduce_mean(fake.d_logit)}


def test_a_terms_g_step_scalar_is_subtracted_from_gs_loss_with_its_weight(tmp_path):
    weight = 0.5
    model = make_run(tmp_path).trainer.model
    generator = model.generator_variables
    initial = snapshot(generator)
    z = model.latent_dist.sample_prior(8, tf.random.Generator.from_seed(3))
    losses = []
    for step_terms in ([], [Pulled(weight)]):
        for variable, value in zip(generator, initial):
            variable.assign(value)
        optimizers = Optimizers(keras.optimizers.SGD(0.1), keras.optimizers.SGD(0.1))
        step = InfoGANStep(
            model, optimizers, tf.random.Generator.from_seed(0), TrainConfig(batch_size=8), terms=step_terms
        )
        losses.append(float(step.generator_step(z)))
    for variable, value in zip(generator, initial):
        variable.assign(value)
    fake_x = model.generate(z, training=True)[0]
    scalar = float(tf.reduce_mean(model.discriminate(fake_x, training=True).d_logit))
    np.testing.assert_allclose(losses[1], losses[0] - weight * scalar, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="pulled term adds to the G step"):
        ReusedBatchStep(model, optimizers, step.rng, TrainConfig(batch_size=8), terms=[Pulled(1.0)])


def test_build_terms_builds_the_registered_ones_that_are_on_and_refuses_unknown_names():
    from infogan_tf.invariance.term import Invariance, InvarianceTerm

    assert build_terms({}) == []
    assert build_terms({"invariance": Invariance()}) == []  # weight 0: off
    (built,) = build_terms({"invariance": Invariance(coeff=0.5)})
    assert isinstance(built, InvarianceTerm) and built.weight == 0.5
    with pytest.raises(ValueError, match="unknown term.*nope"):
        build_terms({"nope": Invariance()})
    with pytest.raises(TypeError, match="dataclass"):
        terms.register_term("bad", dict, lambda s: None)


def test_split_by_term_cuts_consecutive_runs():
    assert split_by_term([1, 2, 3, 4, 5], [2, 0, 3]) == [[1, 2], [], [3, 4, 5]]
