"""Kernels cast once per phase in bfloat16 (``weight_copies``): the same update as Keras's cast at every read."""

import json
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import REPO, changed, make_run, real_batch, snapshot

from infogan_tf import optimizers, weight_copies


def _adam_after_a_cast(arguments):
    """Keras's path: the gradient cast to float32 by its own op, then ``ResourceApplyAdam``."""
    tf.raw_ops.ResourceApplyAdam(**{**arguments, "grad": tf.cast(arguments["grad"], arguments["beta1"].dtype)})


def _updated_weights(tmp_path, monkeypatch, copies: bool, **kwargs) -> list[np.ndarray]:
    if copies:
        monkeypatch.setattr(optimizers, "_adam_from_low_precision", _adam_after_a_cast)
    else:
        monkeypatch.setattr(weight_copies, "copyable", lambda models: [])
    run = make_run(tmp_path, config_overrides={"precision": "mixed_bfloat16"}, **kwargs)
    assert bool(run.trainer.train_step.copied) == copies
    for _ in range(3):
        run.trainer.update(real_batch())
    monkeypatch.undo()
    return snapshot(run.trainer.model.generator_variables + run.trainer.model.discriminator_variables)


@pytest.mark.parametrize("jit_compile", [False, True])
def test_updates_with_copies_equal_updates_with_a_cast_at_every_read(tmp_path, monkeypatch, jit_compile):
    """Same casts, same gradients: bit for bit, once Adam's arithmetic is the same (tested on its own below)."""
    with_copies = _updated_weights(tmp_path / "a", monkeypatch, copies=True, jit_compile=jit_compile)
    without = _updated_weights(tmp_path / "b", monkeypatch, copies=False, jit_compile=jit_compile)
    assert len(with_copies) == len(without)
    for got, want in zip(with_copies, without):
        np.testing.assert_array_equal(got, want)


def test_a_bfloat16_update_trains_every_weight_through_the_copies(tmp_path):
    run = make_run(tmp_path, config_overrides={"precision": "mixed_bfloat16"})
    variables = run.trainer.model.generator_variables + run.trainer.model.discriminator_variables
    before = snapshot(variables)
    run.trainer.update(real_batch())
    assert all(changed(before, variables))


def test_every_dense_kernel_is_copied_in_bfloat16_and_nothing_else(tmp_path):
    model = make_run(tmp_path, config_overrides={"precision": "mixed_bfloat16"}).trainer.model
    copied = weight_copies.copyable(model.keras_models.values())
    layers = [layer for m in model.keras_models.values() for layer in m._flatten_layers(include_self=False)]
    dense_kernels = [layer._kernel for layer in layers if isinstance(layer, keras.layers.Dense)]
    assert len(dense_kernels) == 6
    assert {id(v) for v in copied} == {id(v) for v in dense_kernels}
    assert max(v.numpy().size for v in copied) == 1024 * 7 * 7 * 128
    others = [{"precision": "float32"}, {"precision": "mixed_float16"}]  # float16's loss scale is undone in float32
    others.append({"precision": "mixed_bfloat16", "layer_kit": "keras"})  # Keras's own Dense reads no copies
    for i, overrides in enumerate(others):
        assert make_run(tmp_path / str(i), config_overrides=overrides).trainer.train_step.copied == []


def test_outside_the_step_layers_read_their_own_weights(tmp_path):
    """A copy is read only inside ``reading()``; elsewhere (evaluation, sampling) the weight itself is."""
    model = make_run(tmp_path, config_overrides={"precision": "mixed_bfloat16"}).trainer.model
    (kernel, *_) = weight_copies.copyable([model.networks.generator])
    layer = next(layer for layer in model.networks.generator.layers if getattr(layer, "_kernel", None) is kernel)
    copies = weight_copies.WeightCopies([kernel])
    with copies.reading():
        assert layer.kernel is copies.get(kernel)
        assert layer.kernel.dtype == tf.bfloat16
    assert layer.kernel is kernel
    np.testing.assert_array_equal(copies.get(kernel).numpy(), tf.cast(kernel.value, tf.bfloat16).numpy())


def test_adam_on_a_bfloat16_gradient_equals_adam_on_its_float32_cast():
    """The compiled update from a bfloat16 gradient is ``ResourceApplyAdam``'s, to a rounding of float32.

    Compiled, a multiply and an add may fuse into one rounding, so a value can differ in its last bit.
    """
    rng = np.random.default_rng(0)
    shape = (33, 17)
    start = rng.normal(size=shape).astype(np.float32)
    gradients = [tf.cast(rng.normal(size=shape).astype(np.float32) * 10.0**-k, tf.bfloat16) for k in range(4)]
    results = []
    for cast_first in (True, False):
        variable = tf.Variable(start)
        optimizer = optimizers.original_adam(2e-4)
        optimizer.build([variable])
        for gradient in gradients:
            optimizer.apply_gradients([(tf.cast(gradient, tf.float32) if cast_first else gradient, variable)])
        results.append((variable.numpy(), optimizer._momentums[0].numpy(), optimizer._velocities[0].numpy()))
    assert np.all(results[0][0] != start)
    for fused, compiled in zip(*results):
        np.testing.assert_array_max_ulp(compiled, fused, maxulp=2)


def _casts_of_large_kernels(run) -> list[tuple[str, str]]:
    graph = run.trainer.update.get_concrete_function(real_batch()).graph
    size = 1024 * 7 * 7 * 128
    return [
        (op.inputs[0].dtype.name, op.outputs[0].dtype.name)
        for op in graph.get_operations()
        if op.type == "Cast" and op.outputs[0].shape.num_elements() == size
    ]


def test_an_update_casts_each_large_kernel_once_per_phase_and_no_gradient(tmp_path, monkeypatch):
    """G's kernel once (both passes of G), D's twice (before and after its step); gradients reach Adam in bfloat16."""
    casts = _casts_of_large_kernels(make_run(tmp_path / "a", config_overrides={"precision": "mixed_bfloat16"}))
    assert casts == [("float32", "bfloat16")] * 3
    monkeypatch.setattr(weight_copies, "copyable", lambda models: [])
    keras_casts = _casts_of_large_kernels(make_run(tmp_path / "b", config_overrides={"precision": "mixed_bfloat16"}))
    assert len(keras_casts) > 5 and ("bfloat16", "float32") in keras_casts


def test_mirrored_updates_with_copies_equal_updates_without():
    """Two replicas sum their gradients in float32 with copies too (in a fresh process: the CPU is split first)."""
    script = REPO / "tests" / "scripts" / "mirrored_copies.py"
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=600, cwd=REPO)
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result == {"copied": 6, "max_difference": 0.0}
