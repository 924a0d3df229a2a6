"""The step and the loop: what one update moves, what a short run writes, and how a run stops."""

import io
import json
import types

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import RandomImages, changed, make_run, real_batch, snapshot

from infogan_tf.callbacks import ProgressBar
from infogan_tf.data import MnistDataset
from infogan_tf.invariance.term import Invariance
from infogan_tf.latent_spec import MNIST_LATENT_SPEC
from infogan_tf.losses import NonFiniteLossError
from infogan_tf.models import Discrimination, ModelConfig
from infogan_tf.trainer import Callback, StopTraining


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


def test_the_invariance_term_enters_ds_update_and_is_logged(tmp_path):
    """Same seed with and without it: the first update's D loss is the same (the term is not part of the original's
    logged loss), D's weights after it are not, and MI_invariance is logged."""
    runs = {}
    for coeff in (0.0, 1.0):
        run = make_run(tmp_path / str(coeff), invariance=Invariance(coeff), max_epoch=1, updates_per_epoch=1)
        run.start()
        runs[coeff] = (run.train(), run.trainer.model)
    (plain, plain_model), (invariant, invariant_model) = runs[0.0], runs[1.0]
    assert "MI_invariance" not in plain and 0.0 <= invariant["MI_invariance"] <= np.log(10)
    assert plain["discriminator_loss"] == invariant["discriminator_loss"]
    q_kernels = [v.numpy() for v in plain_model.networks.q_head.trainable_variables]
    assert not all(
        np.array_equal(a, b.numpy()) for a, b in zip(q_kernels, invariant_model.networks.q_head.trainable_variables)
    )


def test_the_invariance_term_needs_a_categorical_code(tmp_path):
    with pytest.raises(ValueError, match="needs a categorical code"):
        make_run(tmp_path, latent_spec="uniform:62,uniform:2:reg", invariance=Invariance(1.0))


def test_with_several_copies_the_joint_is_taken_over_every_pair():
    """IIC's sample repeats: each real image paired with each of its copies, one joint over all 2n pairs (numpy)."""
    model = ModelConfig(MNIST_LATENT_SPEC, (28, 28, 1)).build()
    width = model.reg_latent_dist.dist_flat_dim
    real, *copies = (
        Discrimination(None, None, model.reg_latent_dist.activate_dist(tf.random.stateless_normal([6, width], [i, 0])))
        for i in range(3)
    )
    probs = [model.categorical_probs(d.reg_dist_info)[0].numpy().astype(np.float64) for d in (real, *copies)]
    joint = np.vstack([probs[0], probs[0]]).T @ np.vstack(probs[1:]) / 12
    joint = (joint + joint.T) / 2
    expected = np.sum(joint * np.log(joint / (joint.sum(1, keepdims=True) * joint.sum(0, keepdims=True))))
    got = Invariance(1.0, copies=2).mutual_info(model, real, copies)
    np.testing.assert_allclose(got, expected, rtol=1e-4)


def test_copies_scaling_shear_distortion_deslant_and_erasing_change_ds_update(tmp_path):
    """Two scaled copies per image, a sheared, distorted, upright or erased copy train D unlike one plain copy."""
    q_weights = {}
    for name, invariance in {
        "one": Invariance(1.0),
        "two": Invariance(1.0, copies=2, max_scale=0.1),
        "sheared": Invariance(1.0, max_shear=0.3),
        "distorted": Invariance(1.0, elastic=34.0),
        "upright": Invariance(1.0, deslant=True),
        "erased": Invariance(1.0, erase=8),
    }.items():
        run = make_run(tmp_path / name, invariance=invariance, max_epoch=1, updates_per_epoch=1)
        run.start()
        logs = run.train()
        assert 0.0 <= logs["MI_invariance"] <= np.log(10)
        q_weights[name] = [v.numpy() for v in run.trainer.model.networks.q_head.trainable_variables]
    for other in ("two", "sheared", "distorted", "upright", "erased"):
        assert not all(np.array_equal(a, b) for a, b in zip(q_weights["one"], q_weights[other]))


def test_a_leading_invariance_term_trains_d_as_if_the_categorical_lambda_were_0_and_g_as_before(tmp_path):
    """D's update equals one with lambda 0 for the categorical code (and 1 for the continuous); G's does not."""
    models = {}
    for name, invariance, kwargs in (
        ("leads", Invariance(1.0, leads=True), {}),
        ("no_categorical_lambda", Invariance(1.0), dict(info_reg_coeff=0.0, continuous_info_reg_coeff=1.0)),
    ):
        run = make_run(tmp_path / name, invariance=invariance, max_epoch=1, updates_per_epoch=1, **kwargs)
        run.start()
        run.train()
        models[name] = run.trainer.model
    leads, reference = models.values()
    for a, b in zip(leads.discriminator_variables, reference.discriminator_variables):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6, atol=1e-7, err_msg=a.path)
    pairs = zip(leads.generator_variables, reference.generator_variables)
    assert not all(np.allclose(a.numpy(), b.numpy()) for a, b in pairs)


def test_an_invariance_term_that_leads_from_update_2_trains_as_without_the_lead_until_then(tmp_path):
    """Updates 0 and 1 equal a run without the lead, bit for bit; update 2 leaves Q's categorical L_I out of D's."""
    later = make_run(tmp_path / "later", invariance=Invariance(1.0, leads=True, leads_from=2)).trainer
    never = make_run(tmp_path / "never", invariance=Invariance(1.0)).trainer
    from_start = make_run(tmp_path / "from_start", invariance=Invariance(1.0, leads=True)).trainer
    shares = []
    for k in range(3):
        before = snapshot(later.model.discriminator_variables)
        for trainer in (later, never):
            trainer.update(real_batch())
        shares.append(float(later.train_step.terms[0].generator_only_share().numpy()))
        if k < 2:
            for a, b in zip(later.model.discriminator_variables, never.model.discriminator_variables):
                np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=a.path)
    assert shares == [0.0, 0.0, 1.0]
    assert from_start.train_step.terms[0].generator_only_share() is None
    assert any(changed(before, later.model.discriminator_variables))
    moved_apart = zip(later.model.discriminator_variables, never.model.discriminator_variables)
    assert not all(np.array_equal(a.numpy(), b.numpy()) for a, b in moved_apart)
    with pytest.raises(ValueError, match="leads_from. needs the update"):
        later.train_step(real_batch())


def test_a_leading_invariance_term_is_refused_where_it_cannot_train_q(tmp_path):
    with pytest.raises(ValueError, match="both lead"):
        Invariance(1.0, leads=True, fakes=True)
    with pytest.raises(ValueError, match="set leads too"):
        Invariance(1.0, leads_from=10)
    with pytest.raises(ValueError, match="from an update number"):
        Invariance(1.0, leads=True, leads_from=-1)
    with pytest.raises(ValueError, match="only categorical codes"):
        make_run(
            tmp_path,
            invariance=Invariance(1.0, leads=True),
            latent_spec="uniform:62,categorical:10:reg,bernoulli:2:reg,uniform:1:reg",
        )


def test_erased_copies_are_the_last_ones_and_the_others_are_the_plain_warps():
    """With 1 of 3 copies erased, copies 1-2 equal an unerased term's from the same seed; copy 3 equals its warp
    but for one square of blank pixels; with 0 (all), every copy has its square."""
    stand_in = types.SimpleNamespace(image_shape=(28, 28, 1), config=types.SimpleNamespace(output_range=(-1.0, 1.0)))
    x = tf.constant(np.random.default_rng(3).random((16, 784), dtype=np.float32) + 0.5)

    def copies(**kwargs):
        invariance = Invariance(1.0, copies=3, **kwargs)
        return [c.numpy() for c in invariance.transform(x, stand_in, tf.random.Generator.from_seed(4), 3)]

    plain, one, every = copies(), copies(erase=8, erased_copies=1), copies(erase=8)
    np.testing.assert_array_equal(one[0], plain[0])
    np.testing.assert_array_equal(one[1], plain[1])
    for erased, warped in ((one[2], plain[2]), *zip(every, plain)):
        changed_pixels = erased != warped
        assert np.all(erased[changed_pixels] == -1.0)
        assert np.all(changed_pixels.sum(axis=1) <= 64) and changed_pixels.sum(axis=1).max() > 16


@pytest.mark.parametrize(
    "bad",
    [
        dict(copies=0),
        dict(max_scale=1.0),
        dict(max_scale=-0.1),
        dict(max_shear=-0.1),
        dict(max_shear=1.5),
        dict(elastic=-1.0),
        dict(elastic_sigma=0.0),
        dict(erase=-1),
        dict(copies=3, erase=8, erased_copies=4),
        dict(erased_copies=1),
    ],
)
def test_an_impossible_invariance_setting_is_refused(bad):
    with pytest.raises(ValueError, match="invariance term"):
        Invariance(1.0, **bad)


def test_the_invariance_term_trains_the_over_clustering_head_and_logs_its_term(tmp_path):
    run = make_run(tmp_path, invariance=Invariance(1.0, overclusters=20), max_epoch=1, updates_per_epoch=2)
    head = run.trainer.model.heads["overcluster_head"]
    assert run.trainer.model.config.heads == {"overcluster_head": 20}
    before = [v.numpy() for v in head.trainable_variables]
    run.start()
    logs = run.train()
    assert 0.0 <= logs["MI_overcluster"] <= np.log(20)
    assert all(not np.array_equal(b, v.numpy()) for b, v in zip(before, head.trainable_variables))


def test_an_over_clustering_head_of_one_cluster_is_refused():
    with pytest.raises(ValueError, match="at least 2 clusters"):
        Invariance(1.0, overclusters=1)


def test_reading_the_code_through_transformed_fakes_changes_both_updates_and_is_logged(tmp_path):
    models = {}
    for name, invariance in {"plain": Invariance(1.0), "fakes": Invariance(1.0, fakes=True)}.items():
        run = make_run(tmp_path / name, invariance=invariance, max_epoch=1, updates_per_epoch=1)
        run.start()
        logs = run.train()
        models[name] = run.trainer.model
        assert ("MI_disc_transformed" in logs) == (name == "fakes")
    assert logs["MI_disc_transformed"] <= np.log(10)
    for stack in ("q_head", "generator"):
        pairs = zip(*(getattr(m.networks, stack).trainable_variables for m in models.values()))
        assert not all(np.array_equal(a.numpy(), b.numpy()) for a, b in pairs), stack


def test_reading_the_code_through_transformed_fakes_needs_gs_own_batch(tmp_path):
    with pytest.raises(ValueError, match="not reuse_fake_batch"):
        make_run(tmp_path, invariance=Invariance(1.0, fakes=True), reuse_fake_batch=True)
