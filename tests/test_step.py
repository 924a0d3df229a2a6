"""One update (``step.InfoGANStep``): what it moves, with which gradients, and what it leaves alone."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import changed, make_run, real_batch, snapshot


@pytest.mark.parametrize("reuse_fake_batch", [False, True])
def test_one_update_moves_d_q_and_g(tmp_path, reuse_fake_batch):
    trainer = make_run(tmp_path, reuse_fake_batch=reuse_fake_batch).trainer
    nets = trainer.model.networks
    groups = {name: getattr(nets, name).trainable_variables for name in ("d_body", "d_head", "q_head", "generator")}
    before = {name: snapshot(vs) for name, vs in groups.items()}
    trainer.update(real_batch())
    for name, variables in groups.items():
        assert all(changed(before[name], variables)), name
    assert int(trainer.step.numpy()) == 1


@pytest.mark.parametrize(("reuse_fake_batch", "generator_passes"), [(False, 2), (True, 1)])
def test_reusing_the_fake_batch_runs_g_once_per_update(tmp_path, reuse_fake_batch, generator_passes):
    trainer = make_run(tmp_path, reuse_fake_batch=reuse_fake_batch).trainer
    calls = []
    generate = trainer.model.generate
    trainer.model.generate = lambda *args, **kwargs: calls.append(1) or generate(*args, **kwargs)
    trainer.update(real_batch())
    assert len(calls) == generator_passes


class CapturingOptimizer:
    """Stands in for an optimiser and keeps the gradients it is handed."""

    def __init__(self):
        self.gradients = []

    def apply_gradients(self, pairs):
        self.gradients.append([g for g, _ in pairs])


def test_the_reused_batch_gets_the_same_g_gradient_as_a_fresh_pass(tmp_path):
    """Two tapes (D's gradient at the image, pulled back through G's recorded pass) = one tape through both."""
    step = make_run(tmp_path, reuse_fake_batch=True).trainer.train_step
    model = step.model
    variables = model.generator_variables
    z = model.latent_dist.sample_prior(8, tf.random.Generator.from_seed(3))
    with tf.GradientTape() as tape:
        fake_x, _ = model.generate(z, training=True)
        loss = step.generator_loss(z, fake_x)
    expected = tape.gradient(loss, variables)
    step.generator_optimizer = CapturingOptimizer()
    with tf.GradientTape() as generator_tape:
        fake_x, _ = model.generate(z, training=True)
    step.generator_step_on(z, fake_x, generator_tape)
    (captured,) = step.generator_optimizer.gradients
    assert len(captured) == len(variables)
    for got, want in zip(captured, expected):
        assert np.any(want.numpy() != 0)
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-4, atol=1e-7)


def test_a_warm_up_starts_as_the_gan_alone_and_reaches_lambda_after_its_updates(tmp_path):
    warm = make_run(tmp_path / "warm", info_reg_warmup=4).trainer
    gan = make_run(tmp_path / "gan", info_reg_coeff=0.0).trainer
    for trainer in (warm, gan):
        trainer.update(real_batch())
    assert float(warm.train_step.info_scale.numpy()) == 0.0  # update 0: lambda * 0
    for name in ("d_body", "d_head", "generator"):
        for got, want in zip(
            getattr(warm.model.networks, name).trainable_variables,
            getattr(gan.model.networks, name).trainable_variables,
        ):
            np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5, atol=1e-7, err_msg=name)
    scales = []
    for _ in range(5):
        warm.update(real_batch())
        scales.append(float(warm.train_step.info_scale.numpy()))
    assert scales == [0.25, 0.5, 0.75, 1.0, 1.0]
    with pytest.raises(ValueError, match="needs the update number"):
        warm.train_step(real_batch())


def test_without_the_info_term_q_gets_no_gradient(tmp_path):
    trainer = make_run(tmp_path, info_reg_coeff=0.0).trainer
    q_vars = trainer.model.networks.q_head.trainable_variables
    body_vars = trainer.model.networks.d_body.trainable_variables
    q_before, body_before = snapshot(q_vars), snapshot(body_vars)
    for _ in range(2):
        trainer.update(real_batch())
    assert not any(changed(q_before, q_vars))
    assert all(changed(body_before, body_vars))


def test_baseline_mode_trains_q_but_keeps_d_and_g_a_plain_gan(tmp_path):
    baseline = make_run(tmp_path / "b", info_reg_coeff=0.0, train_q=True).trainer
    plain = make_run(tmp_path / "p", info_reg_coeff=0.0).trainer
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
    model = make_run(tmp_path).trainer.model
    q_bn = next(lay for lay in model.networks.q_head.layers if isinstance(lay, keras.layers.BatchNormalization))
    before = q_bn.moving_mean.numpy().copy()
    without = model.discriminate(real_batch(), training=True, with_q=False)
    assert without.reg_dist_info is None and without.d.shape == (8,)
    np.testing.assert_array_equal(q_bn.moving_mean.numpy(), before)
    with_q = model.discriminate(real_batch(), training=True)
    assert with_q.reg_dist_info is not None and not np.array_equal(q_bn.moving_mean.numpy(), before)
