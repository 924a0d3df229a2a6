import json
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from infogan_tf.optimizers import FusedAdam, scaled_learning_rate


def numpy_adam(w, grads, lr, beta_1, beta_2, epsilon):
    """TF 0.9's ApplyAdam, written out: bias correction folded into the step size."""
    m, v = np.zeros_like(w), np.zeros_like(w)
    for t, g in enumerate(grads, start=1):
        m = beta_1 * m + (1 - beta_1) * g
        v = beta_2 * v + (1 - beta_2) * g * g
        w = w - lr * np.sqrt(1 - beta_2**t) / (1 - beta_1**t) * m / (np.sqrt(v) + epsilon)
    return w, m, v


def test_fused_adam_is_the_original_update():
    rng = np.random.default_rng(0)
    w0 = rng.normal(size=(30, 20)).astype(np.float32)
    grads = [rng.normal(scale=10.0**-k, size=w0.shape).astype(np.float32) for k in range(6)]
    var = tf.Variable(w0)
    opt = FusedAdam(1e-3, beta_1=0.5, epsilon=1e-8)
    step = tf.function(lambda g: opt.apply_gradients([(g, var)]))
    for g in grads:
        step(tf.constant(g))
    w, m, v = numpy_adam(w0.astype(np.float64), grads, 1e-3, 0.5, 0.999, 1e-8)
    np.testing.assert_allclose(var.numpy(), w, rtol=0, atol=1e-6)
    slots = {v.path.rsplit("_", 1)[1]: v.numpy() for v in opt.variables if v.path.endswith(("momentum", "velocity"))}
    np.testing.assert_allclose(slots["momentum"], m, rtol=1e-5, atol=1e-9)
    np.testing.assert_allclose(slots["velocity"], v, rtol=5e-5, atol=1e-12)  # float32 1 - 0.999 is 0.99998713e-3
    assert int(opt.iterations.numpy()) == len(grads)


def test_fused_adam_matches_keras_adam_and_shares_its_checkpoints(tmp_path):
    rng = np.random.default_rng(1)
    w0 = rng.normal(size=(64,)).astype(np.float32)
    runs = {}
    for name, cls in (("keras", keras.optimizers.Adam), ("fused", FusedAdam)):
        var, opt = tf.Variable(w0), cls(2e-4, beta_1=0.5, epsilon=1e-8)
        for k in range(5):
            opt.apply_gradients([(tf.constant(np.cos(w0 * k)), var)])
        runs[name] = (var, opt)
    np.testing.assert_allclose(runs["fused"][0].numpy(), runs["keras"][0].numpy(), atol=1e-7)
    path = tf.train.Checkpoint(opt=runs["keras"][1], var=runs["keras"][0]).write(str(tmp_path / "ckpt"))
    var, opt = tf.Variable(tf.zeros_like(w0)), FusedAdam(2e-4, beta_1=0.5, epsilon=1e-8)
    opt.build([var])
    tf.train.Checkpoint(opt=opt, var=var).read(path).assert_consumed()
    assert int(opt.iterations.numpy()) == 5
    for restored, saved in zip(opt.variables, runs["keras"][1].variables):
        np.testing.assert_array_equal(restored.numpy(), saved.numpy())


def test_fused_adam_refuses_amsgrad():
    with pytest.raises(ValueError, match="AMSGrad"):
        FusedAdam(amsgrad=True)


MIRRORED = """
import json, keras, numpy as np, tensorflow as tf
from infogan_tf.optimizers import FusedAdam, scaled_learning_rate
runs = {}
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
for cls in (keras.optimizers.Adam, FusedAdam):
    with strategy.scope():
        var = tf.Variable(np.arange(4, dtype=np.float32))
        opt = cls(1e-2, beta_1=0.5)
        opt.build([var])

    @tf.function
    def step():
        def replica_step():
            replica = tf.distribute.get_replica_context().replica_id_in_sync_group
            opt.apply_gradients([(tf.cast(replica + 1, tf.float32) * tf.ones(4), var)])

        strategy.run(replica_step)

    for _ in range(3):
        step()
    runs[cls.__name__] = [v.numpy().tolist() for v in var.values]
print(json.dumps(runs))
"""


def test_fused_adam_under_a_mirrored_strategy():
    """Two replicas (two logical CPUs, in a fresh process): same update on both, same as Keras Adam."""
    out = subprocess.run([sys.executable, "-c", MIRRORED], capture_output=True, text=True, timeout=300, check=True)
    runs = json.loads(out.stdout.strip().splitlines()[-1])
    keras_run, fused_run = np.array(runs["Adam"]), np.array(runs["FusedAdam"])
    np.testing.assert_array_equal(fused_run[0], fused_run[1])
    np.testing.assert_allclose(fused_run, keras_run, atol=1e-6)
    assert not np.allclose(fused_run[0], np.arange(4))


@pytest.mark.parametrize(
    ("batch_size", "rule", "factor"),
    [(128, "linear", 1.0), (512, "none", 1.0), (512, "sqrt", 2.0), (512, "linear", 4.0), (32, "sqrt", 0.5)],
)
def test_learning_rate_scales_with_the_batch_from_the_original_128(batch_size, rule, factor):
    assert scaled_learning_rate(1e-3, batch_size, rule) == pytest.approx(1e-3 * factor)


def test_an_unknown_scaling_rule_names_the_choices():
    with pytest.raises(ValueError, match=r"unknown learning-rate scaling 'cubic'; choose one of \['linear', 'none'"):
        scaled_learning_rate(1e-3, 256, "cubic")
