import keras
import numpy as np
import pytest
import tensorflow as tf

from infogan_tf import fast_layers
from infogan_tf.distributions import Bernoulli, Categorical, Uniform
from infogan_tf.latent_spec import MNIST_LATENT_SPEC
from infogan_tf.models import ModelConfig
from infogan_tf.networks import (
    PAPER_LEAK,
    FastBatchNormalization,
    LayerKit,
    apply_per_batch,
    build_networks,
    resolve_layer_kit,
)


def mnist_model(leak=0.01, spec=MNIST_LATENT_SPEC, **config):
    keras.utils.set_random_seed(0)
    return ModelConfig(spec, (28, 28, 1), leak=leak, **config).build()


@pytest.fixture(scope="module")
def model():
    return mnist_model()


def dense(n_in, n_out):
    return n_in * n_out + n_out


def conv(k, c_in, c_out):
    return k * k * c_in * c_out + c_out


def bn(c):
    return 2 * c


def trainable(m):
    return sum(int(np.prod(v.shape)) for v in m.trainable_variables)


def test_parameter_counts_follow_the_architecture(model):
    nets = model.networks
    assert trainable(nets.d_body) == conv(4, 1, 64) + conv(4, 64, 128) + bn(128) + dense(7 * 7 * 128, 1024) + bn(1024)
    assert trainable(nets.d_head) == dense(1024, 1)
    q_flat = 10 + 2 + 2  # categorical logits, then mean and (fixed) std logit per continuous code
    assert trainable(nets.q_head) == dense(1024, 128) + bn(128) + dense(128, q_flat)
    assert trainable(nets.generator) == (
        dense(74, 1024)
        + bn(1024)
        + dense(1024, 7 * 7 * 128)
        + bn(7 * 7 * 128)
        + conv(4, 128, 64)
        + bn(64)
        + conv(4, 64, 1)
    )


def test_output_shapes_and_ranges(model):
    z = model.latent_dist.sample_prior(16, tf.random.Generator.from_seed(0))
    assert z.shape == (16, 62 + 10 + 1 + 1)
    x, info = model.generate(z, training=True)
    assert x.shape == (16, 784) and np.all((x.numpy() >= 0) & (x.numpy() <= 1))
    np.testing.assert_array_equal(x, info["p"])
    out = model.discriminate(x, training=True)
    assert out.d.shape == out.d_logit.shape == (16,)
    assert model.reg_latent_dist.dist_flat_dim == 14
    assert sorted(out.reg_dist_info) == ["id_0_prob", "id_1_mean", "id_1_stddev", "id_2_mean", "id_2_stddev"]
    np.testing.assert_allclose(out.d, tf.sigmoid(out.d_logit), rtol=1e-6)


def test_initialisers_match_the_original(model):
    layers = model.networks.d_body.layers
    conv_kernel = next(lay for lay in layers if isinstance(lay, keras.layers.Conv2D)).kernel.numpy()
    assert np.abs(conv_kernel).max() <= 2 * 0.02 + 1e-7  # truncated normal
    assert abs(conv_kernel.std() - 0.02 * 0.88) < 0.004  # a 2-sigma truncation shrinks the std to 0.88
    gamma = next(lay for lay in layers if isinstance(lay, keras.layers.BatchNormalization)).gamma.numpy()
    assert abs(gamma.mean() - 1) < 0.01 and 0.01 < gamma.std() < 0.03
    dense_kernel = next(lay for lay in layers if isinstance(lay, keras.layers.Dense)).kernel.numpy()
    assert abs(dense_kernel.std() - 0.02) < 0.001 and np.abs(dense_kernel).max() > 3 * 0.02  # plain normal


def test_code_selection_matches_slicing(model):
    z = model.latent_dist.sample_prior(8, tf.random.Generator.from_seed(1)).numpy()
    np.testing.assert_array_equal(model.nonreg_z(z), z[:, :62])
    reg = model.reg_z(z)
    np.testing.assert_array_equal(reg, z[:, 62:])
    np.testing.assert_array_equal(model.disc_reg_z(reg), z[:, 62:72])
    np.testing.assert_array_equal(model.cont_reg_z(reg), z[:, 72:])
    np.testing.assert_array_equal(model.combine_reg_nonreg_z(reg, z[:, :62]), z)


def test_selection_keeps_the_spec_order_when_codes_interleave():
    m = mnist_model(spec="categorical:3:reg,uniform:60,bernoulli:1:reg,uniform:10,uniform:1:reg")
    assert [type(d) for d in m.reg_latent_dist.dists] == [Categorical, Bernoulli, Uniform]
    assert [type(d) for d in m.reg_disc_latent_dist.dists] == [Categorical, Bernoulli]
    z = np.arange(75, dtype=np.float32)[None].repeat(2, axis=0)
    reg, nonreg = m.reg_z(z).numpy(), m.nonreg_z(z).numpy()
    np.testing.assert_array_equal(reg[0], np.r_[0:3, 63, 74])
    np.testing.assert_array_equal(nonreg[0], np.r_[3:63, 64:74])
    np.testing.assert_array_equal(m.disc_reg_z(reg)[0], np.r_[0:3, 63])
    np.testing.assert_array_equal(m.combine_reg_nonreg_z(reg, nonreg), z)
    info = m.latent_dist.prior_dist_info(2)
    reg_info = m.reg_dist_info(info)
    assert sorted(reg_info) == ["id_0_prob", "id_1_p", "id_2_mean", "id_2_stddev"]
    merged = m.combine_reg_nonreg_dist_info(reg_info, m.nonreg_dist_info(info))
    assert merged.keys() == info.keys()


def test_batch_norm_inference_mode_is_deterministic_and_differs_from_training(model):
    z = model.latent_dist.sample_prior(16, tf.random.Generator.from_seed(2))
    for _ in range(3):  # move the moving averages away from their initial values
        model.generate(z, training=True)
    a, _ = model.generate(z, training=False)
    b, _ = model.generate(z[:4], training=False)
    c, _ = model.generate(z, training=True)
    np.testing.assert_allclose(a[:4], b, atol=1e-6)  # no dependence on the rest of the batch
    assert np.abs(a.numpy() - c.numpy()).max() > 1e-3
    x = a
    d1, d2 = model.discriminate(x, training=False), model.discriminate(x, training=False)
    np.testing.assert_array_equal(d1.d_logit, d2.d_logit)


def test_leak_follows_the_flag():
    for leak in (0.01, PAPER_LEAK):
        nets = build_networks(
            "mnist", LayerKit(), image_shape=(28, 28, 1), latent_dim=74, q_flat_dim=14, output_flat_dim=784, leak=leak
        )
        layers = [*nets.d_body.layers, *nets.q_head.layers]
        slopes = [float(layer.negative_slope) for layer in layers if isinstance(layer, keras.layers.LeakyReLU)]
        assert slopes == pytest.approx([leak] * 4)  # conv, conv, FC in the body; FC in Q


def test_unknown_network_type_is_refused():
    with pytest.raises(ValueError, match="unknown network_type .svhm.; known: conv64, mnist, svhn"):
        build_networks("svhm", LayerKit(), image_shape=(28, 28, 1), latent_dim=74, q_flat_dim=14, output_flat_dim=784)


def test_the_layer_kit_chooses_the_kernels_and_auto_picks_by_device():
    assert resolve_layer_kit("auto") == ("keras" if tf.config.list_physical_devices("GPU") else "fast")
    kinds = {}
    for kit in ("fast", "keras"):
        layers = mnist_model(layer_kit=kit).networks.d_body.layers
        kinds[kit] = {type(layer) for layer in layers}
    assert fast_layers.Conv2D in kinds["fast"] and fast_layers.LeakyReLU in kinds["fast"]
    assert keras.layers.Conv2D in kinds["keras"] and keras.layers.LeakyReLU in kinds["keras"]
    assert not any(issubclass(k, fast_layers.FusedBatchNormalization) for k in kinds["keras"])
    with pytest.raises(ValueError, match="unknown layer kit 'gpu'"):
        resolve_layer_kit("gpu")


def test_mixed_bfloat16_computes_in_bfloat16_on_float32_variables():
    mixed = mnist_model(precision="mixed_bfloat16")
    assert all(v.dtype == "float32" for v in mixed.generator_variables + mixed.discriminator_variables)
    z = mixed.latent_dist.sample_prior(16, tf.random.Generator.from_seed(0))
    assert mixed.networks.generator(z).dtype == tf.bfloat16
    x, info = mixed.generate(z, training=True)
    out = mixed.discriminate(x, training=True)
    assert x.dtype == out.d_logit.dtype == out.reg_dist_info["id_0_prob"].dtype == tf.float32
    assert keras.config.dtype_policy().name == "float32"  # the global policy is left as it was
    full = mnist_model()
    x32, _ = full.generate(z, training=True)
    assert 0 < np.abs(x.numpy() - x32.numpy()).max() < 0.1  # same weights, bfloat16 rounding only


def batch_norm_state(model):
    return [
        v.numpy().copy()
        for m in model.networks.discriminator_models
        for layer in m.layers
        if isinstance(layer, keras.layers.BatchNormalization)
        for v in (layer.moving_mean, layer.moving_variance)
    ]


def test_one_pass_over_real_and_fake_equals_two_discriminate_calls():
    """Same outputs, gradients and BatchNorm moving averages as the two calls it replaces."""
    two, one = mnist_model(), mnist_model()
    rng = np.random.default_rng(5)
    real = tf.constant(rng.uniform(size=(16, 784)).astype(np.float32))
    fake = tf.constant(rng.uniform(size=(16, 784)).astype(np.float32) ** 3)  # other statistics than real

    def run(model, pass_):
        with tf.GradientTape() as tape:
            r, f = pass_(model)
            loss = (
                tf.reduce_sum(r.d_logit)
                - 2 * tf.reduce_sum(f.d_logit)
                + tf.reduce_sum(f.reg_dist_info["id_1_mean"] ** 2)
            )
        return r, f, tape.gradient(loss, model.discriminator_variables)

    r2, f2, g2 = run(
        two, lambda m: (m.discriminate(real, training=True, with_q=False), m.discriminate(fake, training=True))
    )
    r1, f1, g1 = run(one, lambda m: m.discriminate_real_and_fake(real, fake, training=True))
    assert r1.reg_dist_info is None
    np.testing.assert_allclose(r1.d_logit, r2.d_logit, atol=1e-4)
    np.testing.assert_allclose(f1.d_logit, f2.d_logit, atol=1e-4)
    for key in f1.reg_dist_info:
        np.testing.assert_allclose(f1.reg_dist_info[key], f2.reg_dist_info[key], atol=1e-4)
    for a, b in zip(g1, g2):
        np.testing.assert_allclose(a, b, atol=1e-4, rtol=1e-3)
    for a, b in zip(batch_norm_state(one), batch_norm_state(two)):
        np.testing.assert_allclose(a, b, atol=1e-6, rtol=1e-5)
    assert not np.allclose(batch_norm_state(one)[0], 0.0)  # the moving averages did move


@pytest.mark.parametrize("functional", [False, True])
def test_apply_per_batch_equals_one_call_per_batch(functional):
    def stack():
        keras.utils.set_random_seed(0)
        layers = [keras.layers.Dense(5), FastBatchNormalization(), keras.layers.ReLU()]
        sequential = keras.Sequential([keras.Input((6,)), *layers])
        return keras.Model(sequential.inputs, sequential.outputs) if functional else sequential

    joint, separate = stack(), stack()
    a = tf.random.uniform([8, 6], seed=1)
    b = 5.0 + 3.0 * tf.random.uniform([4, 6], seed=2)  # another size and other statistics
    out_a, out_b = apply_per_batch(joint, [a, b], training=True)
    np.testing.assert_allclose(out_a, separate(a, training=True), atol=1e-5)
    np.testing.assert_allclose(out_b, separate(b, training=True), atol=1e-5)

    def norm(model):
        return next(layer for layer in model.layers if isinstance(layer, FastBatchNormalization))

    for u, v in zip(norm(joint).weights, norm(separate).weights):
        np.testing.assert_allclose(u.numpy(), v.numpy(), atol=1e-6)
    unknown = tf.TensorSpec([None, 6], tf.float32)  # batch sizes known only at run time
    traced = tf.function(lambda x, y: apply_per_batch(joint, [x, y], False), input_signature=[unknown, unknown])
    out_a, out_b = traced(a, b)
    np.testing.assert_allclose(out_b, joint(b, training=False), atol=1e-5)
    assert out_a.shape == (8, 5)
    stock = keras.Sequential([keras.Input((6,)), keras.layers.BatchNormalization(name="stock_bn")], name="stock")
    with pytest.raises(TypeError, match="stock has stock ones: stock_bn"):
        apply_per_batch(stock, [a, b], True)


def test_an_extra_head_is_a_dense_layer_on_ds_body_that_d_trains_and_checkpoints_keep():
    config = ModelConfig(MNIST_LATENT_SPEC, (28, 28, 1), heads={"clusters": 30})
    model = config.build()
    head = model.keras_models["clusters"]
    assert head.count_params() == 1024 * 30 + 30
    assert all(any(v is w for w in model.discriminator_variables) for v in head.trainable_variables)
    real, fake, copy = (tf.constant(np.random.default_rng(i).random((4, 784), dtype=np.float32)) for i in range(3))
    r, f, c = model.discriminate_real_fake_and_copies(real, fake, [copy], training=True)
    body = model.networks.d_body(copy, training=True)
    np.testing.assert_allclose(c.heads["clusters"].numpy(), head(body).numpy(), rtol=1e-5, atol=1e-6)
    assert r.heads["clusters"].shape == (4, 30)
    assert f.heads is None
    assert config.architecture()["heads"] == {"clusters": 30}
    assert ModelConfig.from_json(config.to_json()) == config
    assert "clusters" not in mnist_model().keras_models  # the original's model: four stacks


def test_a_head_without_outputs_is_refused():
    with pytest.raises(ValueError, match="at least one output"):
        ModelConfig(MNIST_LATENT_SPEC, (28, 28, 1), heads={"clusters": 0})
