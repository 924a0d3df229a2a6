"""The sampling command's files, and the exported models used where infogan_tf is not installed."""

import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from conftest import REPO, make_run, run_command
from PIL import Image

import infogan_tf
from infogan_tf import export


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("run")
    run = make_run(tmp_path, max_epoch=1, updates_per_epoch=3, snapshot_interval=3)
    run.start()
    run.train()
    yield run.checkpoint_dir
    shutil.rmtree(tmp_path, ignore_errors=True)


def launcher(script, *flags):
    cmd = [sys.executable, str(REPO / "launchers" / script), *flags]
    return run_command(cmd, timeout=300)


def test_sample_writes_a_grid_and_a_gif_per_code_at_the_promised_sizes(run_dir, tmp_path):
    out = tmp_path / "samples"
    args = [f"--checkpoint={run_dir}", f"--out={out}", "--code=categorical,1", "--steps=5", "--range=-1,1"]
    result = launcher("sample.py", *args)
    assert result.returncode == 0, result.stderr[-2000:]
    assert sorted(p.name for p in out.iterdir()) == ["code_0.gif", "code_0.png", "code_1.gif", "code_1.png"]
    assert np.asarray(Image.open(out / "code_0.png")).shape == (8 * 28, 10 * 28)  # 8 noise rows x 10 categories
    assert np.asarray(Image.open(out / "code_1.png")).shape == (8 * 28, 5 * 28)  # x 5 values of -1..1
    for name, frames in (("code_0.gif", 10), ("code_1.gif", 5)):
        gif = Image.open(out / name)
        assert gif.n_frames == frames and gif.size == (8 * 28, 8 * 28)
    gif = Image.open(out / "code_0.gif")
    first, last = np.asarray(gif.convert("L")), (gif.seek(9), np.asarray(gif.convert("L")))[1]
    assert np.abs(first.astype(int) - last).mean() > 0  # the code moves the images


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (
            ["--code=tilt"],
            "unknown code 'tilt'; this model's codes are 0 (categorical:10:reg), 1 (uniform:1:reg:fix_std)",
        ),
        (["--code=uniform"], "unknown code 'uniform'"),  # two uniform codes: the family does not name one
        (["--range=2,-2"], "--range must go from low to high"),
    ],
)
def test_sample_refuses_what_it_cannot_do_in_one_line(run_dir, tmp_path, flags, message):
    result = launcher("sample.py", f"--checkpoint={run_dir}", f"--out={tmp_path}", *flags)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert message in result.stderr


def test_sample_refuses_a_bad_checkpoint_in_one_line(tmp_path):
    result = launcher("sample.py", f"--checkpoint={tmp_path / 'nothing'}")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "is neither a checkpoint directory nor a checkpoint" in result.stderr


FRESH = """
import sys
import numpy as np
import tensorflow as tf
import keras
inputs = np.load(sys.argv[2])
exported = tf.saved_model.load(sys.argv[1] + "/saved_model")
codes = {k: tf.constant(inputs[k]) for k in inputs.files if k.startswith("code_")}
images = exported.signatures["generate"](noise=tf.constant(inputs["noise"]), **codes)["images"].numpy()
posterior = exported.signatures["encode"](images=tf.constant(images))
generator = keras.models.load_model(sys.argv[1] + "/generator.keras")
assert not any(m.startswith("infogan_tf") for m in sys.modules)
np.savez(sys.argv[3], images=images, keras_images=generator(inputs["z"], training=False).numpy(),
         **{k: v.numpy() for k, v in posterior.items()})
"""


def test_the_exported_model_reproduces_the_run_without_infogan_tf(run_dir, tmp_path):
    result = launcher("export.py", f"--checkpoint={run_dir}", f"--out={tmp_path / 'export'}")
    assert result.returncode == 0, result.stderr[-2000:]
    loaded = infogan_tf.load(run_dir)
    model = loaded.model
    z = model.latent_dist.sample_prior(6, tf.random.Generator.from_seed(4))
    parts = model.reg_latent_dist.split_var(model.reg_z(z))
    np.savez(tmp_path / "in.npz", z=z, noise=model.nonreg_z(z), **{f"code_{i}": p for i, p in enumerate(parts)})
    script = tmp_path / "fresh.py"
    script.write_text(FRESH)
    fresh = subprocess.run(  # a process of its own, not a fork of one that has infogan_tf loaded (run_command)
        [sys.executable, str(script), str(tmp_path / "export"), str(tmp_path / "in.npz"), str(tmp_path / "out.npz")],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert fresh.returncode == 0, fresh.stderr[-2000:]
    out = np.load(tmp_path / "out.npz")
    expected = loaded.generate(z).numpy()
    np.testing.assert_allclose(out["images"].reshape(6, -1), expected, atol=1e-5)
    np.testing.assert_allclose(out["keras_images"], model.networks.generator(z, training=False), atol=1e-5)
    posterior = loaded.encode(expected)
    assert sorted(k for k in out.files if k.startswith("code_")) == sorted(
        k.replace("id_", "code_", 1) for k in posterior
    )
    for key, value in posterior.items():
        np.testing.assert_allclose(out[key.replace("id_", "code_", 1)], value, atol=1e-5)


def tree(root):
    return {p.relative_to(root): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_a_re_export_replaces_an_export_whole_and_refuses_a_folder_that_is_not_one(run_dir, tmp_path):
    loaded = infogan_tf.load(run_dir)
    out = tmp_path / "export"
    written = export.export(loaded, out)
    assert export.is_export(out) and set(written) >= {"saved_model", "model.json", "generator.keras"}
    (out / "stale.txt").write_text("from before")
    export.export(loaded, out)
    assert export.is_export(out) and not (out / "stale.txt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export"]  # no .partial or .previous left
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    with pytest.raises(export.ExportError, match="holds files that are not an export"):
        export.export(loaded, mine)
    assert tree(mine) == {Path("notes.txt"): b"keep me"}
    (tmp_path / "a_file").write_text("x")
    with pytest.raises(NotADirectoryError):
        export.export(loaded, tmp_path / "a_file")


def test_an_export_that_fails_half_way_leaves_the_previous_one(run_dir, tmp_path, monkeypatch):
    loaded = infogan_tf.load(run_dir)
    out = tmp_path / "export"
    export.export(loaded, out)
    before = tree(out)
    real_write = export._write

    def write_then_fail(loaded, directory):
        real_write(loaded, directory)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(export, "_write", write_then_fail)
    with pytest.raises(OSError, match="No space left"):
        export.export(loaded, out)
    assert tree(out) == before and sorted(p.name for p in tmp_path.iterdir()) == ["export"]
    with pytest.raises(OSError, match="No space left"):
        export.export(loaded, tmp_path / "new")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export"]


def test_an_export_cut_between_its_two_renames_gets_the_previous_one_back(run_dir, tmp_path):
    loaded = infogan_tf.load(run_dir)
    out = tmp_path / "export"
    export.export(loaded, out)
    out.rename(tmp_path / ".export.previous")  # as a SIGKILL after the first rename leaves it
    export.export(loaded, out)
    assert export.is_export(out) and sorted(p.name for p in tmp_path.iterdir()) == ["export"]


def test_sigterm_during_an_export_ends_in_one_line_once_the_export_is_whole(run_dir, tmp_path):
    out = tmp_path / "export"
    cmd = [sys.executable, str(REPO / "launchers" / "export.py"), f"--checkpoint={run_dir}", f"--out={out}"]
    process = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO)
    partial = tmp_path / ".export.partial"
    deadline = time.monotonic() + 240
    while not partial.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)  # while TensorFlow traces and writes the export
    _, err = process.communicate(timeout=240)
    assert process.returncode == 128 + signal.SIGTERM, err[-2000:]
    assert "Traceback" not in err and f"stopped by SIGTERM once the export to {out} was whole" in err
    assert export.is_export(out) and sorted(p.name for p in tmp_path.iterdir()) == ["export"]
