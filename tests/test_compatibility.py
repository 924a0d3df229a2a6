"""What the restructure must not change: the update, and runs written before it.

``data/golden_updates.json`` holds 20 updates of the code as it was at d64459b and
``data/run_d64459b.tar.gz`` a tiny run it wrote (see ``data/README.md`` for how both were
made). GAN training amplifies rounding: one kernel change moves update 20 by 1% (an
AVX2 against an AVX-512 oneDNN kernel: 4e-6 relative at update 1, 4% at update 20). So
the values are compared bit for bit where this machine runs a recording's kernels (told
by ``kernel_fingerprint``), and only the first update (within 1e-5) elsewhere.
"""

import hashlib
import json
import math
import sys
import tarfile
import warnings
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from conftest import run_command

import infogan_tf
from infogan_tf import experiment
from infogan_tf.config import RunConfig, TrainConfig
from infogan_tf.data import ImageDataset
from infogan_tf.experiment import build_trainer
from infogan_tf.invariance.term import Invariance, InvarianceTerm
from infogan_tf.latent_spec import MNIST_LATENT_SPEC
from infogan_tf.models import ModelConfig

DATA = Path(__file__).resolve().parent / "fixtures"


def digest(array: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


@tf.function
def _fingerprint_ops(x, kernel, a, b):
    with tf.GradientTape(persistent=True) as tape:
        tape.watch([x, kernel, a, b])
        y = tf.nn.conv2d(x, kernel, 2, "SAME")
        c = tf.matmul(a, b)
        scale, offset, empty = tf.ones([128]), tf.zeros([128]), tf.constant([], tf.float32)
        normalised = tf.raw_ops.FusedBatchNormV3(
            x=y, scale=scale, offset=offset, mean=empty, variance=empty, epsilon=1e-5, is_training=True
        )[0]
    return [normalised, c, *tape.gradient(normalised, [x, kernel]), *tape.gradient(c, [a, b])]


def kernel_fingerprint() -> str:
    """Which kernels this machine runs: the update's kinds of convolution, matmul and BatchNorm, forward and
    backward, on fixed inputs. Kernel families round differently (an AVX2 oneDNN kernel from an AVX-512 one), so the
    digest tells them apart, while a change in our code leaves it as it is."""
    rng = np.random.default_rng(1)
    shapes = [(8, 14, 14, 64), (4, 4, 64, 128), (8, 6272), (6272, 1024)]
    outputs = _fingerprint_ops(*(tf.constant(rng.random(s, dtype=np.float32)) for s in shapes))
    return hashlib.sha256(b"".join(o.numpy().tobytes() for o in outputs)).hexdigest()


def recordings_for(recordings: list[dict]) -> list[dict]:
    """The recordings made with this machine's kernels, or none (a warning says the check is reduced).

    Two machines may share the fingerprint's kernels and still round one of the update's
    other ops apart (an AMD EPYC and an Intel Xeon with AMX, both AVX-512), so each keeps
    its own recording; a run must repeat one of them in full.
    """
    fingerprint = kernel_fingerprint()
    matches = [r for r in recordings if r["kernel_fingerprint"] == fingerprint]
    if not matches:
        warnings.warn(
            "this machine's kernels differ from every recording's; only the first update is compared",
            stacklevel=2,
        )
    return matches


def assert_repeats_a_recording(per_update: list, weights: list[np.ndarray], recordings: list[dict]) -> None:
    matches = recordings_for(recordings)
    if not matches:
        np.testing.assert_allclose(per_update[0], recordings[0]["per_update"][0], rtol=1e-5, atol=1e-6)
        return
    digests = [digest(w) for w in weights]
    repeated = [r["kernels"] for r in matches if r["per_update"] == per_update and r["weight_sha256"] == digests]
    assert repeated, (
        f"the updates repeat none of the recordings made with these kernels: {[r['kernels'] for r in matches]}"
    )


def test_twenty_updates_repeat_the_recorded_ones():
    golden = json.loads((DATA / "golden_updates.json").read_text())
    trainer = build_trainer(ModelConfig(MNIST_LATENT_SPEC, (28, 28, 1)), TrainConfig(batch_size=8), seed=0)
    assert trainer.train_step.check_keys == golden["check_keys"]
    images = np.random.default_rng(0).random((20, 8, 784), dtype=np.float32)
    per_update = []
    for batch in images:
        trainer.update(tf.constant(batch))
        per_update.append(trainer._last_checks.numpy().tolist())
    weights = [w.numpy() for m in trainer.model.keras_models.values() for w in m.weights]
    assert_repeats_a_recording(per_update, weights, golden["recordings"])


def test_ten_invariance_updates_repeat_the_recorded_ones():
    golden = json.loads((DATA / "golden_invariance_updates.json").read_text())
    trainer = build_trainer(
        ModelConfig(MNIST_LATENT_SPEC, (28, 28, 1)),
        TrainConfig(batch_size=8),
        seed=0,
        terms=[InvarianceTerm(Invariance(1.0))],
    )
    assert trainer.train_step.check_keys == golden["check_keys"]
    per_update = []
    for batch in np.random.default_rng(0).random((10, 8, 784), dtype=np.float32):
        trainer.update(tf.constant(batch))
        per_update.append(trainer._last_checks.numpy().tolist())
    weights = [w.numpy() for m in trainer.model.keras_models.values() for w in m.weights]
    assert_repeats_a_recording(per_update, weights, golden["recordings"])


class Tiny(ImageDataset):
    """The fixture run's data: 32 random 4x4 images."""

    name = "tiny"
    image_shape = (4, 4, 1)

    def __init__(self, data_dir=None):
        super().__init__(train=(np.random.default_rng(0).integers(0, 256, (32, 4, 4), dtype=np.uint8), None))


@pytest.fixture
def old_run(tmp_path):
    with tarfile.open(DATA / "run_d64459b.tar.gz") as archive:
        archive.extractall(tmp_path, filter="data")
    return tmp_path


def test_a_run_written_before_loads_and_samples_the_same(old_run):
    config = json.loads((old_run / "ckt" / "tiny" / "model.json").read_text())
    assert set(config) == {"network_type", "latent_spec", "image_shape", "leak"}  # the old, shorter model.json
    expected = np.load(old_run / "expected.npz")
    loaded = infogan_tf.load(old_run / "ckt" / "tiny")
    assert loaded.step == 3 and loaded.model.config.output_dist == "mean_bernoulli"
    images = loaded.generate(tf.constant(expected["z"])).numpy()
    np.testing.assert_allclose(images, expected["images"], atol=1e-5)
    prob = loaded.encode(tf.constant(expected["images"]))["id_0_prob"].numpy()
    np.testing.assert_allclose(prob, expected["q_prob"], atol=1e-5)


def test_a_run_written_before_resumes_where_it_stopped(old_run, capsys):
    dataset = Tiny()
    config = ModelConfig.for_dataset(dataset, "uniform:3,categorical:3:reg,uniform:1:reg:fix_std")
    trainer = build_trainer(
        config,
        TrainConfig(batch_size=4, max_epoch=2, updates_per_epoch=3),
        lambda start: dataset.train.batches(4, seed=0, start=start),
        seed=1,  # the weights it initialises are overwritten by the restore
    )
    directories = (old_run / "logs" / "tiny", old_run / "ckt" / "tiny")
    run = experiment.make_run(trainer, dataset, "tiny", directories, seed=0, run=RunConfig(snapshot_interval=100))
    assert run.start() == 3
    assert "Resumed from" in capsys.readouterr().out
    last = run.train()
    expected = json.loads((DATA / "run_d64459b_resumed.json").read_text())
    records = [json.loads(line) for line in (old_run / "logs" / "tiny" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [3, 6] and int(trainer.step.numpy()) == expected["step"]
    assert run.checkpoint.latest.endswith("tiny-6")
    for key, value in expected["last_logs"].items():
        assert math.isclose(last[key], value, rel_tol=1e-4, abs_tol=1e-6), key
    digests = [digest(w.numpy()) for m in trainer.model.keras_models.values() for w in m.weights]
    if last == expected["last_logs"]:  # the same kernels: the same bits
        assert digests == expected["weight_sha256"]
    new_config = json.loads((old_run / "ckt" / "tiny" / "model.json").read_text())
    assert new_config == {**config.to_json(), "image_shape": [4, 4, 1]}  # rewritten with every field


def test_weights_of_one_layer_kit_load_into_the_other(tmp_path):
    keras_config = ModelConfig(MNIST_LATENT_SPEC, (28, 28, 1), layer_kit="keras")
    fast, stock = ModelConfig(MNIST_LATENT_SPEC, (28, 28, 1), layer_kit="fast").build(), keras_config.build()
    path = tf.train.Checkpoint(**fast.keras_models).write(str(tmp_path / "fast"))
    tf.train.Checkpoint(**stock.keras_models).read(path).assert_existing_objects_matched()
    z = fast.latent_dist.sample_prior(16, tf.random.Generator.from_seed(0))
    np.testing.assert_allclose(stock.generate_mean(z), fast.generate_mean(z), atol=1e-5)
    x = fast.generate_mean(z)
    np.testing.assert_allclose(stock.discriminate(x).d_logit, fast.discriminate(x).d_logit, atol=1e-4)
    np.testing.assert_allclose(
        stock.discriminate(x, training=True).d_logit, fast.discriminate(x, training=True).d_logit, atol=1e-4
    )  # each fast layer's gradients are checked against the Keras layer's in test_fast_layers


TINY8_MODULE = """
import numpy as np

from infogan_tf.data import DATASETS, ImageDataset


class Tiny8(ImageDataset):
    name = "tiny8"
    image_shape = (8, 8, 1)

    def __init__(self, data_dir=None):
        super().__init__(train=(np.random.default_rng(0).integers(0, 256, (48, 8, 8), dtype=np.uint8), None))


DATASETS["tiny8"] = Tiny8
"""

TINY8_LAUNCHER = """
import tiny8  # noqa: F401

from infogan_tf_launchers.command import launch

if __name__ == "__main__":
    launch(dict(dataset="tiny8", root_log_dir="logs", root_checkpoint_dir="ckt", evaluate=False))
"""

TINY8_FLAGS = [
    "--exp_name=tiny",
    "--latent_spec=uniform:3,categorical:3:reg,uniform:1:reg:fix_std",
    "--batch_size=4",
    "--updates_per_epoch=3",
    "--invariance_coeff=1",
    "--invariance_copies=2",
    "--invariance_shear=0.3",
    "--invariance_deslant",
    "--invariance_erase=3",
    "--invariance_erased_copies=1",
    "--invariance_overclusters=5",
    "--generator_average=0.9",
]
"""The settings of the run archived at 142c3b4, the last commit before the redesign (data/README.md)."""


@pytest.fixture
def run_142c3b4(tmp_path):
    with tarfile.open(DATA / "run_142c3b4.tar.gz") as archive:
        archive.extractall(tmp_path, filter="data")
    return tmp_path


def test_a_run_of_142c3b4_loads_and_samples_the_same(run_142c3b4):
    expected = np.load(run_142c3b4 / "expected.npz")
    loaded = infogan_tf.load(run_142c3b4 / "ckt" / "tiny")
    assert loaded.step == 3 and loaded.model.config.heads == {"overcluster_head": 5}
    np.testing.assert_allclose(loaded.generate(tf.constant(expected["z"])).numpy(), expected["images"], atol=1e-5)
    trained = infogan_tf.load(run_142c3b4 / "ckt" / "tiny", generator="trained")
    np.testing.assert_allclose(
        trained.generate(tf.constant(expected["z"])).numpy(), expected["trained_images"], atol=1e-5
    )
    assert np.abs(expected["images"] - expected["trained_images"]).max() > 1e-3  # the average is G's own
    prob = loaded.encode(tf.constant(expected["images"]))["id_0_prob"].numpy()
    np.testing.assert_allclose(prob, expected["q_prob"], atol=1e-5)


def test_a_run_of_142c3b4_resumes_through_a_launcher(run_142c3b4):
    (run_142c3b4 / "tiny8.py").write_text(TINY8_MODULE)
    (run_142c3b4 / "run_tiny8.py").write_text(TINY8_LAUNCHER)
    result = run_command([sys.executable, "run_tiny8.py", *TINY8_FLAGS, "--max_epoch=2"], cwd=run_142c3b4)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Resumed from ckt/tiny/tiny-3 at update 3" in result.stdout
    expected = json.loads((DATA / "run_142c3b4_resumed.json").read_text())
    records = [json.loads(line) for line in (run_142c3b4 / "logs" / "tiny" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [3, 6] == [3, expected["step"]]
    last = {key: records[-1][key] for key in expected["last_logs"]}
    for key, value in expected["last_logs"].items():
        assert math.isclose(last[key], value, rel_tol=1e-3, abs_tol=1e-5), key
    reader = tf.train.load_checkpoint(str(run_142c3b4 / "ckt" / "tiny" / "tiny-6"))
    names = {n for n in reader.get_variable_to_shape_map() if not n.startswith("_CHECKPOINTABLE_OBJECT_GRAPH")}
    assert names == set(expected["variable_sha256"])  # the same objects under the same names
    if last == expected["last_logs"]:  # the same kernels: the same bits
        assert {n: digest(reader.get_tensor(n)) for n in names} == expected["variable_sha256"]
