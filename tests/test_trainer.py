import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from infogan_tf.datasets import Dataset, MnistDataset
from infogan_tf.distributions import MeanBernoulli
from infogan_tf.latent_spec import MNIST_LATENT_SPEC, parse_latent_spec
from infogan_tf.models import RegularizedGAN
from infogan_tf.trainer import InfoGANTrainer, NonFiniteLossError


class RandomImages:
    """A stand-in dataset of random images, for tests that need no real data."""

    image_shape = (28, 28, 1)
    image_dim = 784

    def __init__(self, fill=None):
        images = np.random.default_rng(0).integers(0, 256, (64, 28, 28), dtype=np.uint8)
        self.train = Dataset(images)
        self.fill = fill

    def inverse_transform(self, x):
        return x


def make_trainer(tmp_path, dataset=None, batch_size=8, **kwargs):
    keras.utils.set_random_seed(0)
    model = RegularizedGAN(MeanBernoulli(784), parse_latent_spec(MNIST_LATENT_SPEC), batch_size, (28, 28, 1), "mnist")
    return InfoGANTrainer(
        model=model,
        batch_size=batch_size,
        dataset=dataset or RandomImages(),
        log_dir=str(tmp_path / "logs"),
        checkpoint_dir=str(tmp_path / "ckt"),
        **kwargs,
    )


def snapshot(variables):
    return [v.numpy().copy() for v in variables]


def changed(before, variables):
    return [not np.array_equal(b, v.numpy()) for b, v in zip(before, variables)]


def real_batch(n=8):
    return tf.constant(np.random.default_rng(1).random((n, 784), dtype=np.float32))


@pytest.mark.parametrize("reuse_fake_batch", [False, True])
def test_one_update_moves_d_q_and_g(tmp_path, reuse_fake_batch):
    trainer = make_trainer(tmp_path, reuse_fake_batch=reuse_fake_batch)
    nets = trainer.model.networks
    groups = {name: getattr(nets, name).trainable_variables for name in ("d_body", "d_head", "q_head", "generator")}
    before = {name: snapshot(vs) for name, vs in groups.items()}
    trainer.update(real_batch())
    for name, variables in groups.items():
        assert all(changed(before[name], variables)), name
    assert int(trainer.step.numpy()) == 1


@pytest.mark.parametrize(("reuse_fake_batch", "generator_passes"), [(False, 2), (True, 1)])
def test_reusing_the_fake_batch_runs_g_once_per_update(tmp_path, reuse_fake_batch, generator_passes):
    trainer = make_trainer(tmp_path, reuse_fake_batch=reuse_fake_batch)
    calls = []
    generate = trainer.model.generate
    trainer.model.generate = lambda *args, **kwargs: calls.append(1) or generate(*args, **kwargs)
    trainer.update(real_batch())
    assert len(calls) == generator_passes


def test_the_reused_batch_gets_the_same_g_gradient_as_a_fresh_pass(tmp_path):
    """Two tapes (D's gradient at the image, pulled back through G's recorded pass) = one tape through both."""
    trainer = make_trainer(tmp_path, reuse_fake_batch=True)
    model = trainer.model
    variables = model.generator_variables
    z = model.latent_dist.sample_prior(8, tf.random.Generator.from_seed(3))
    with tf.GradientTape() as tape:
        fake_x, _ = model.generate(z, training=True)
        loss = trainer._generator_loss(z, fake_x)
    expected = tape.gradient(loss, variables)
    captured = []
    trainer._apply = lambda optimizer, gradients, variables: captured.append(gradients)
    with tf.GradientTape() as generator_tape:
        fake_x, _ = model.generate(z, training=True)
    trainer._generator_step_on(z, fake_x, generator_tape)
    assert len(captured[0]) == len(variables)
    for got, want in zip(captured[0], expected):
        assert np.any(want.numpy() != 0)
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-4, atol=1e-7)


def test_without_the_info_term_q_gets_no_gradient(tmp_path):
    trainer = make_trainer(tmp_path, info_reg_coeff=0.0)
    q_vars = trainer.model.networks.q_head.trainable_variables
    body_vars = trainer.model.networks.d_body.trainable_variables
    q_before, body_before = snapshot(q_vars), snapshot(body_vars)
    for _ in range(2):
        trainer.update(real_batch())
    assert not any(changed(q_before, q_vars))
    assert all(changed(body_before, body_vars))


def test_logged_mi_matches_an_independent_computation(tmp_path):
    trainer = make_trainer(tmp_path)
    model = trainer.model
    z = model.latent_dist.sample_prior(8, tf.random.Generator.from_seed(0))
    x, _ = model.generate(z, training=False)
    info = model.discriminate(x, training=False).reg_dist_info
    terms = trainer.info_terms(z, info)
    codes = z.numpy()[:, 62:72]
    prob = info["id_0_prob"].numpy()
    cross_ent = -np.mean(np.sum(np.log(prob + 1e-8) * codes, axis=1))
    np.testing.assert_allclose(terms["CrossEnt_disc"], cross_ent, rtol=1e-5)
    np.testing.assert_allclose(terms["MI_disc"], np.log(10) - cross_ent, atol=1e-5)
    cont = z.numpy()[:, 72:]
    means = np.concatenate([info["id_1_mean"].numpy(), info["id_2_mean"].numpy()], axis=1)
    cont_ce = np.mean(np.sum(0.5 * np.log(2 * np.pi) + 0.5 * (cont - means) ** 2, axis=1))
    np.testing.assert_allclose(terms["MI_cont"], 2 * np.log(2) - cont_ce, atol=1e-5)


def test_short_real_run_writes_everything(tmp_path, mnist_dir):
    trainer = make_trainer(
        tmp_path,
        dataset=MnistDataset(str(mnist_dir)),
        batch_size=16,
        max_epoch=3,
        updates_per_epoch=10,
        snapshot_interval=10,
    )
    last = trainer.train()
    records = [json.loads(line) for line in (tmp_path / "logs" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [10, 20, 30]
    assert all(r["update_seconds"] < r["epoch_seconds"] and r["peak_rss_mb"] > 100 for r in records)
    assert set(trainer.log_keys) <= set(records[0])
    assert all(np.isfinite(r[k]) for r in records for k in trainer.log_keys)
    assert last == {k: records[-1][k] for k in trainer.log_keys}
    assert records[0]["discriminator_loss"] != records[-1]["discriminator_loss"]
    assert records[-1]["CrossEnt_disc"] < records[0]["CrossEnt_disc"]  # Q starts to read the code
    assert trainer.checkpoint_manager.checkpoints[-1].endswith("-30")
    assert len(trainer.checkpoint_manager.checkpoints) == 3
    assert list((tmp_path / "logs").glob("events.out.tfevents.*"))
    pngs = sorted(p.name for p in (tmp_path / "logs" / "images").glob("*.png"))
    assert len(pngs) == 3 * 3 and "image_0_Categorical_epoch_002.png" in pngs
    grid = tf.io.decode_png(tf.io.read_file(str(tmp_path / "logs" / "images" / pngs[0]))).numpy()
    assert grid.shape == (10 * 28, 10 * 28, 1) and grid.std() > 0


def test_checkpoint_restores_the_model(tmp_path):
    trainer = make_trainer(tmp_path, max_epoch=1, updates_per_epoch=2, snapshot_interval=2)
    trainer.train()
    z = trainer.model.latent_dist.sample_prior(4, tf.random.Generator.from_seed(3))
    expected, _ = trainer.model.generate(z, training=False)
    fresh = make_trainer(tmp_path / "other")
    fresh.checkpoint.restore(trainer.checkpoint_manager.latest_checkpoint).assert_consumed()
    restored, _ = fresh.model.generate(z, training=False)
    np.testing.assert_allclose(restored, expected, atol=1e-6)
    assert int(fresh.step.numpy()) == 2


def test_nan_stops_the_run_and_keeps_the_last_good_checkpoint(tmp_path):
    dataset = RandomImages()
    good = tf.data.Dataset.from_tensor_slices(tf.random.uniform([2, 8, 784], seed=0))
    poisoned = good.concatenate(tf.data.Dataset.from_tensors(tf.fill([8, 784], np.nan)).repeat())
    dataset.train.batches = lambda batch_size, seed=0, start=0: poisoned.skip(start)
    trainer = make_trainer(tmp_path, dataset=dataset, max_epoch=2, updates_per_epoch=5, snapshot_interval=2)
    with pytest.raises(
        NonFiniteLossError, match=r"update 3: discriminator_loss is nan; stopped without saving it"
    ) as info:
        trainer.train()
    assert [p.rsplit("-", 1)[1] for p in trainer.checkpoint_manager.checkpoints] == ["2"]
    assert f"(last good checkpoint: {trainer.checkpoint_manager.latest_checkpoint})" in str(info.value)
    fresh = make_trainer(tmp_path / "other")
    fresh.checkpoint.restore(trainer.checkpoint_manager.latest_checkpoint)
    assert all(
        np.all(np.isfinite(v.numpy())) for v in fresh.model.generator_variables + fresh.model.discriminator_variables
    )


def test_a_non_finite_weight_is_never_checkpointed(tmp_path):
    """Losses can stay finite while a weight is not (here a moving average, used only at inference)."""
    trainer = make_trainer(tmp_path, max_epoch=1, updates_per_epoch=6, snapshot_interval=2)
    layers = trainer.model.networks.generator.layers
    bn = next(lay for lay in layers if isinstance(lay, keras.layers.BatchNormalization))

    def poison(step):
        if step == 3:
            bn.moving_mean.assign(tf.fill(bn.moving_mean.shape, np.inf))

    with pytest.raises(NonFiniteLossError, match=rf"update 4: weight {bn.moving_mean.path} is not finite"):
        trainer.train(after_update=poison)
    assert [p.rsplit("-", 1)[1] for p in trainer.checkpoint_manager.checkpoints] == ["2"]


def test_baseline_mode_trains_q_but_keeps_d_and_g_a_plain_gan(tmp_path):
    baseline = make_trainer(tmp_path / "b", info_reg_coeff=0.0, train_q=True)
    plain = make_trainer(tmp_path / "p", info_reg_coeff=0.0)
    q_vars = baseline.model.networks.q_head.trainable_variables
    q_before = snapshot(q_vars)
    for _ in range(2):
        baseline.update(real_batch())
        plain.update(real_batch())
    assert all(changed(q_before, q_vars))
    for name in ("d_body", "d_head", "generator"):  # same seeds, same data: Q must not have touched them
        for a, b in zip(getattr(baseline.model.networks, name).weights, getattr(plain.model.networks, name).weights):
            np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-6, err_msg=name)


def test_discriminate_without_q_leaves_q_untouched(tmp_path):
    model = make_trainer(tmp_path).model
    q_bn = next(lay for lay in model.networks.q_head.layers if isinstance(lay, keras.layers.BatchNormalization))
    before = q_bn.moving_mean.numpy().copy()
    without = model.discriminate(real_batch(), training=True, with_q=False)
    assert without.reg_dist_info is None and without.d.shape == (8,)
    np.testing.assert_array_equal(q_bn.moving_mean.numpy(), before)
    with_q = model.discriminate(real_batch(), training=True)
    assert with_q.reg_dist_info is not None and not np.array_equal(q_bn.moving_mean.numpy(), before)
