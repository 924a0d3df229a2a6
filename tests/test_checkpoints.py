"""Resume, fallback past damaged checkpoints, refusing the wrong model, and load()."""

import dataclasses
import json

import numpy as np
import pytest
import tensorflow as tf
from conftest import make_run

import infogan_tf
from infogan_tf.checkpoints import CheckpointError, check_compatible, check_trained_on, read_model_config
from infogan_tf.invariance.term import Invariance
from infogan_tf.latent_spec import MNIST_LATENT_SPEC
from infogan_tf.models import ModelConfig


def files(root):
    """Every file under ``root`` and its bytes, but the lock file (it names whoever holds the run now)."""
    return {p: p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file() and p.name != "lock"}


def trained(tmp_path, updates=4, **kwargs):
    run = make_run(tmp_path, max_epoch=1, updates_per_epoch=updates, snapshot_interval=2, **kwargs)
    run.start()
    run.train()
    return run


def test_run_files_describe_the_model(tmp_path):
    run = trained(tmp_path)
    config = read_model_config(run.checkpoint_dir)
    assert config == run.trainer.model.config
    assert config.latent_spec.startswith("uniform:62,categorical:10:reg") and config.image_shape == (28, 28, 1)
    assert (config.output_dist, config.precision, config.layer_kit) == ("mean_bernoulli", "float32", "auto")
    assert json.loads((run.checkpoint_dir / "run.json").read_text()) == {
        "batch_size": 8,
        "updates_per_epoch": 4,
        "seed": 0,
        "dataset": "random",
        "update": {
            "discriminator_learning_rate": pytest.approx(2e-4),
            "generator_learning_rate": pytest.approx(1e-3),
            "info_reg_coeff": 1.0,
            "continuous_info_reg_coeff": 1.0,
            "train_q": False,
            "reuse_fake_batch": False,
            "invariance": None,
            "info_reg_warmup": 0,
            "generator_average": 0.0,
            "generator_average_from": 0,
            "precision": "float32",
        },
    }


def test_a_run_is_not_continued_under_other_update_settings(tmp_path):
    trained(tmp_path)
    before = files(tmp_path)
    for kwargs, named in [
        ({"info_reg_coeff": 2.0}, "update.info_reg_coeff: checkpoint has 1.0, this run asks for 2.0"),
        ({"continuous_info_reg_coeff": 0.1}, "update.continuous_info_reg_coeff: checkpoint has 1.0"),
        ({"generator_learning_rate": 5e-4}, "update.generator_learning_rate: checkpoint has 0.001"),
        ({"generator_average": 0.999}, "update.generator_average: checkpoint has 0.0, this run asks for 0.999"),
        ({"invariance": Invariance(coeff=1.0)}, "update.invariance: checkpoint has None, this run asks for {'coeff'"),
    ]:
        other = make_run(tmp_path, max_epoch=2, updates_per_epoch=4, **kwargs)
        with pytest.raises(CheckpointError, match="rerun with the checkpoint's settings") as refused:
            other.start()
        fork = f"run.resume={tmp_path / 'ckt'} and a new run.exp_name"
        assert named in str(refused.value) and fork in str(refused.value)
    same_meaning = make_run(tmp_path, max_epoch=2, updates_per_epoch=4, continuous_info_reg_coeff=1.0)
    assert same_meaning.start() == 4  # None meant "as info_reg_coeff": the same update
    same_meaning.checkpoint.close()
    assert files(tmp_path) == before


def test_a_new_run_may_start_from_a_checkpoint_with_other_update_settings(tmp_path, capsys):
    first = trained(tmp_path / "first")
    fork = make_run(tmp_path / "fork", max_epoch=2, updates_per_epoch=4, generator_learning_rate=5e-4)
    assert fork.start(first.checkpoint.latest) == 4
    assert "with other update settings: update.generator_learning_rate: checkpoint has 0.001" in capsys.readouterr().out
    assert float(fork.trainer.train_step.generator_optimizer.learning_rate.numpy()) == pytest.approx(5e-4)
    fork.train()
    saved = json.loads((tmp_path / "fork" / "ckt" / "run.json").read_text())["update"]
    assert saved["generator_learning_rate"] == pytest.approx(5e-4)
    assert make_run(tmp_path / "fork", max_epoch=2, updates_per_epoch=4, generator_learning_rate=5e-4).start() == 8


def test_a_run_json_from_before_update_settings_were_recorded_resumes(tmp_path):
    run = trained(tmp_path)
    old = {k: v for k, v in json.loads((run.checkpoint_dir / "run.json").read_text()).items() if k != "update"}
    (run.checkpoint_dir / "run.json").write_text(json.dumps(old))
    resumed = make_run(tmp_path, max_epoch=2, updates_per_epoch=4, info_reg_coeff=2.0)
    assert resumed.start() == 4
    assert json.loads((run.checkpoint_dir / "run.json").read_text())["update"]["info_reg_coeff"] == 2.0


def test_resume_continues_from_the_newest_checkpoint(tmp_path):
    trained(tmp_path)
    longer = make_run(tmp_path, max_epoch=2, updates_per_epoch=4, snapshot_interval=2)
    assert longer.start() == 4
    longer.train()
    assert int(longer.trainer.step.numpy()) == 8
    records = [json.loads(line) for line in (tmp_path / "logs" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [4, 8]


def test_a_truncated_checkpoint_is_refused_and_the_previous_one_used(tmp_path, capsys):
    first = trained(tmp_path)
    newest = first.checkpoint.latest
    assert newest.endswith("-4")
    (data_file,) = tf.io.gfile.glob(newest + ".data-*")
    with open(data_file, "r+b") as f:
        f.truncate(100)
    resumed = make_run(tmp_path, max_epoch=1, updates_per_epoch=4, snapshot_interval=2)
    assert resumed.start() == 2
    assert f"checkpoint {newest} is unreadable" in capsys.readouterr().err


def test_every_checkpoint_unreadable_is_one_clear_error(tmp_path):
    first = trained(tmp_path, updates=2)
    (tmp_path / "ckt" / "experiment-2.index").write_bytes(b"garbage")
    with pytest.raises(CheckpointError, match="no readable checkpoint"):
        make_run(tmp_path, max_epoch=1, updates_per_epoch=2).start()
    assert first.checkpoint.manager.checkpoints  # nothing was deleted


def test_a_different_architecture_is_refused_before_anything_changes(tmp_path):
    trained(tmp_path)
    before = files(tmp_path)
    other = make_run(tmp_path, max_epoch=1, updates_per_epoch=4, latent_spec="uniform:62,categorical:10,uniform:2:reg")
    with pytest.raises(CheckpointError, match=r"latent_spec: checkpoint has 'uniform:62,categorical:10:reg,"):
        other.start()
    wrong_settings = make_run(tmp_path, max_epoch=1, updates_per_epoch=5)
    with pytest.raises(CheckpointError, match="updates_per_epoch: checkpoint has 4, this run asks for 5"):
        wrong_settings.start()
    assert files(tmp_path) == before


def test_resume_modes(tmp_path):
    with pytest.raises(CheckpointError, match="holds no checkpoint"):
        make_run(tmp_path / "empty").start("latest")
    first = trained(tmp_path)
    with pytest.raises(CheckpointError, match="already holds checkpoints; choose a new run.exp_name"):
        make_run(tmp_path).start("never")
    elsewhere = make_run(tmp_path / "fork", max_epoch=1, updates_per_epoch=4)
    assert elsewhere.start(first.checkpoint.manager.checkpoints[0]) == 2


def test_the_layer_kit_may_change_on_resume_the_precision_only_in_a_new_run_and_the_leak_never(tmp_path):
    first = trained(tmp_path)
    config = first.trainer.model.config
    assert dataclasses.replace(config, precision="mixed_bfloat16", layer_kit="keras").architecture() == (
        config.architecture()
    )
    other_kit = make_run(tmp_path, max_epoch=1, updates_per_epoch=4, config_overrides={"layer_kit": "keras"})
    assert other_kit.start() == 4
    other_kit.checkpoint.close()
    bf16 = {"precision": "mixed_bfloat16"}
    other_precision = make_run(tmp_path, max_epoch=1, updates_per_epoch=4, config_overrides=bf16)
    with pytest.raises(CheckpointError, match="update.precision: checkpoint has 'float32'"):
        other_precision.start()
    forked = make_run(tmp_path / "fork", max_epoch=2, updates_per_epoch=4, config_overrides=bf16)
    assert forked.start(str(first.checkpoint_dir)) == 4
    forked.checkpoint.close()
    other_leak = make_run(tmp_path, max_epoch=1, updates_per_epoch=4, config_overrides={"leak": 0.1})
    with pytest.raises(CheckpointError, match="leak: checkpoint has 0.01, this run asks for 0.1"):
        other_leak.start()


def test_load_gives_g_and_q_in_inference_mode(tmp_path):
    run = trained(tmp_path)
    trainer = run.trainer
    loaded = infogan_tf.load(run.checkpoint_dir)
    assert loaded.step == 4 and loaded.checkpoint_path.endswith("-4")
    z, images = loaded.sample(6, seed=1)
    expected, _ = trainer.model.generate(z, training=False)
    np.testing.assert_allclose(images, expected, atol=1e-6)
    np.testing.assert_allclose(loaded.generate(z[:2]), images[:2], atol=1e-6)  # no batch dependence
    posterior = loaded.encode(images)
    np.testing.assert_allclose(posterior["id_0_prob"].numpy().sum(axis=1), 1.0, rtol=1e-5)
    older = infogan_tf.load(run.checkpoint.manager.checkpoints[0])
    assert older.step == 2


def test_load_refuses_what_is_not_a_checkpoint(tmp_path):
    with pytest.raises(CheckpointError, match="neither a checkpoint directory nor a checkpoint"):
        infogan_tf.load(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(CheckpointError, match="has no model.json"):
        infogan_tf.load(tmp_path / "empty")
    (tmp_path / "empty" / "model.json").write_text('{"latent_spec": "uniform:62", "image_shape": [28, 28, 1]}')
    with pytest.raises(CheckpointError, match="does not describe a model .*no regularised code"):
        infogan_tf.load(tmp_path / "empty")


def test_a_model_json_with_an_overclusters_field_reads_as_that_head(tmp_path):
    saved = {**ModelConfig(MNIST_LATENT_SPEC, (28, 28, 1)).to_json(), "overclusters": 5}
    del saved["heads"]
    for outputs, heads in [(5, {"overcluster_head": 5}), (0, {})]:
        (tmp_path / "model.json").write_text(json.dumps({**saved, "overclusters": outputs}))
        assert read_model_config(tmp_path).heads == heads
    (tmp_path / "model.json").write_text(json.dumps({**saved, "overclusters": "five"}))
    with pytest.raises(CheckpointError, match="does not describe a model"):
        read_model_config(tmp_path)


def test_a_run_is_neither_resumed_nor_scored_on_another_dataset(tmp_path):
    run = trained(tmp_path)
    settings = json.loads((run.checkpoint_dir / "run.json").read_text())
    check_trained_on(run.checkpoint_dir, "random")
    with pytest.raises(CheckpointError, match="trained on random, not mnist; evaluate it with dataset=random"):
        check_trained_on(run.checkpoint_dir, "mnist")
    config = run.trainer.model.config
    with pytest.raises(CheckpointError, match="dataset: checkpoint has 'random', this run asks for 'mnist'"):
        check_compatible(run.checkpoint_dir, config, {**settings, "dataset": "mnist"})
    del settings["dataset"]  # a run.json from before the dataset was recorded: taken on trust
    (run.checkpoint_dir / "run.json").write_text(json.dumps(settings))
    check_trained_on(run.checkpoint_dir, "mnist")
    assert check_compatible(run.checkpoint_dir, config, {**settings, "dataset": "mnist"}) == []
