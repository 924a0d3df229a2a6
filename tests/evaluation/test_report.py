import json

import numpy as np
import pytest
import tensorflow as tf
from conftest import make_run

from infogan_tf.data import MnistDataset
from infogan_tf.evaluation import classifier, report, summary
from infogan_tf.invariance.term import Invariance


@pytest.fixture(scope="module")
def mnist(mnist_dir):
    return MnistDataset(str(mnist_dir))


@pytest.fixture(scope="module")
def tiny_classifier(mnist, tmp_path_factory):
    path = tmp_path_factory.mktemp("clf") / "mnist_classifier.keras"
    first = classifier.load_or_train(mnist, path, epochs=2, limit=10000)
    cached = classifier.load_or_train(mnist, path)  # the second call reads the cache
    assert cached.test_accuracy == first.test_accuracy and 0.95 < first.test_accuracy < 1
    return cached


def test_a_tiny_checkpoint_is_evaluated_end_to_end(tmp_path, mnist, tiny_classifier):
    trainer = make_run(tmp_path, dataset=mnist, max_epoch=2, updates_per_epoch=3, snapshot_interval=3)
    baseline = make_run(
        tmp_path / "gan", dataset=mnist, max_epoch=1, updates_per_epoch=3, info_reg_coeff=0.0, train_q=True
    )
    for run in (trainer, baseline):
        run.start()
        run.train()
    out = tmp_path / "eval"
    results = report.evaluate(
        trainer.checkpoint_dir,
        mnist,
        tiny_classifier,
        out,
        log_dir=trainer.log_dir,
        baseline=report.RunFiles(baseline.checkpoint_dir, baseline.log_dir),
        num_samples=300,
    )
    assert results["step"] == 6
    assert 0 <= results["unsupervised_error_hungarian"] <= 1 and 0 <= results["unsupervised_error_majority"] <= 1
    assert results["unsupervised_error_majority"] <= results["unsupervised_error_hungarian"]
    assert sorted(results["category_to_digit"].values()) == list(range(10))
    assert (
        1 <= results["classifier_score"] <= 10 and results["frechet_distance"] > results["frechet_distance_real_train"]
    )
    assert 0 <= results["code_digit_agreement"] <= 1
    counts = np.array(results["confusion"])  # rows: categories, columns: digits
    assert counts.shape == (10, 10) and counts.sum() == len(mnist.test.images)
    matched = sum(counts[c, d] for c, d in results["category_to_digit"].items())
    assert results["unsupervised_error_hungarian"] == pytest.approx(1 - matched / counts.sum())
    per_label = counts / counts.sum(axis=0, keepdims=True)
    spread = {d for d in range(10) if (per_label[:, d] >= 0.15).sum() > 1}
    assert set(results["split_labels"]) == spread  # each label the code spreads, with its parts' shares
    for digit, parts in results["split_labels"].items():
        assert [p["share"] for p in parts] == pytest.approx(sorted(per_label[per_label[:, digit] >= 0.15, digit])[::-1])
        assert all(counts[p["category"], digit] == round(p["share"] * counts[:, digit].sum()) for p in parts)
        assert all(-2 < p["slant"] < 2 for p in parts)
    assert results["mi_disc_at_1000"] == results["mi_disc_final"]  # 6 updates: the last record is within 1,000
    assert (
        results["mi_disc_final"]
        == json.loads((trainer.log_dir / "metrics.jsonl").read_text().splitlines()[-1])["MI_disc"]
    )
    assert results["wall_time_s"] >= results["train_step_time_s"] > 0
    assert "mi_invariance_final" not in results  # no invariance term, no I(c; c')
    assert "baseline_mi_disc_final" in results
    for name in ["results.json", "results.md", "confusion.png", "mutual_information.png", *results["figures"]]:
        assert (out / name).is_file(), name
    assert "baseline_traversal_image_0_Categorical.png" in results["figures"]
    assert json.loads((out / "results.json").read_text())["step"] == 6
    table = (out / "results.md").read_text()
    assert "| Test error, categorical code, Hungarian map | 5% |" in table
    assert ("Labels spread over several categories" in table) == bool(spread)
    earlier = report.evaluate(
        trainer.checkpoint_dir / "experiment-3", mnist, None, tmp_path / "eval3", log_dir=trainer.log_dir
    )
    first_epoch = json.loads((trainer.log_dir / "metrics.jsonl").read_text().splitlines()[0])
    assert earlier["step"] == 3 and first_epoch["step"] == 3
    assert earlier["mi_disc_final"] == first_epoch["MI_disc"]  # the log as it stood at that checkpoint
    assert earlier["wall_time_s"] == first_epoch["epoch_seconds"]


def test_real_images_score_near_the_ceiling(mnist, tiny_classifier):
    from infogan_tf.evaluation.metrics import classifier_score

    probs, features = tiny_classifier.predict(mnist.test.images[:2000])
    assert classifier_score(probs) > 7  # ten balanced, confidently classified digits
    assert features.shape == (2000, 128)


def test_summary_over_seeds():
    results = {0: {"unsupervised_error_hungarian": 0.1, "mi_disc_final": 2.2}, 1: {"unsupervised_error_hungarian": 0.3}}
    results[2] = {"unsupervised_error_hungarian": 0.05, "mi_disc_final": 2.3}
    stats = summary.summarize(results)
    errors = np.array([0.1, 0.3, 0.05])
    assert stats["unsupervised_error_hungarian"]["mean"] == pytest.approx(errors.mean())
    assert stats["unsupervised_error_hungarian"]["median"] == pytest.approx(0.1)
    assert (stats["unsupervised_error_hungarian"]["min"], stats["unsupervised_error_hungarian"]["max"]) == (0.05, 0.3)
    assert stats["mi_disc_final"]["values"] == {0: 2.2, 2: 2.3}
    table = summary.summary_markdown(stats, [0, 1, 2])
    assert "| seed 0 | seed 1 | seed 2 | mean | median | min | max |" in table
    assert "| 10.00% | 30.00% | 5.00% | 15.00% | 10.00% | 5.00% | 30.00% |" in table


def test_a_run_with_the_invariance_term_reports_its_final_i_c_c_prime(tmp_path, mnist):
    trainer = make_run(tmp_path, dataset=mnist, max_epoch=1, updates_per_epoch=2, invariance=Invariance(1.0))
    trainer.start()
    trainer.train()
    results = report.evaluate(trainer.checkpoint_dir, mnist, None, tmp_path / "eval", log_dir=trainer.log_dir)
    last = json.loads((trainer.log_dir / "metrics.jsonl").read_text().splitlines()[-1])
    assert results["mi_invariance_final"] == last["MI_invariance"]
    assert 0 < results["mi_invariance_final"] <= np.log(10)


def test_the_misplaced_grid_shows_each_labels_images_that_another_labels_category_takes(tmp_path, mnist):
    test = mnist.test
    categories = test.labels.copy()
    sevens = np.flatnonzero(test.labels == 7)
    categories[sevens[:3]] = 9  # three 7s in the 9s' category; no other label loses an image
    path = tmp_path / "misplaced.png"
    report.write_misplaced(mnist, categories, {c: c for c in range(10)}, path)
    grid = tf.io.decode_png(tf.io.read_file(str(path))).numpy()[..., 0].astype(np.float64) / 255.0
    shown = report.MISPLACED_PER_LABEL
    assert grid.shape == (10 * 28, shown * 28)
    tiles = grid.reshape(10, 28, shown, 28).transpose(0, 2, 1, 3)
    expected = test.images[sevens[:3]].reshape(3, 28, 28)
    np.testing.assert_allclose(tiles[7, :3], expected, atol=0.5 / 255)
    assert not tiles[7, 3:].any() and not np.delete(tiles, 7, axis=0).any()
