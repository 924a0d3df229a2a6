"""The invariance term in the update: its copies, its I(c; c′), its lead of Q and its over-clustering head."""

import types

import numpy as np
import pytest
import tensorflow as tf
from conftest import changed, make_run, real_batch, snapshot

from infogan_tf.invariance.term import Invariance
from infogan_tf.latent_spec import MNIST_LATENT_SPEC
from infogan_tf.models import Discrimination, ModelConfig


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
    with pytest.raises(ValueError, match="invariance term adds to the G step, which needs G's own batch"):
        make_run(tmp_path, invariance=Invariance(1.0, fakes=True), reuse_fake_batch=True)
