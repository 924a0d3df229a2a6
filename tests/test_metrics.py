import numpy as np
import pytest

from infogan_tf.evaluation.metrics import classifier_score, clustering_errors, confusion, frechet_distance

RNG = np.random.default_rng(0)


def test_a_permuted_labelling_has_no_error():
    labels = RNG.integers(0, 10, 1000)
    permutation = RNG.permutation(10)
    result = clustering_errors(confusion(permutation[labels], labels, 10))
    assert result.hungarian_error == 0 and result.majority_error == 0
    assert result.hungarian_map == {int(permutation[d]): d for d in range(10)}
    assert result.shared_digits == {} and result.unclaimed_digits == []


def test_a_constant_prediction_has_the_majority_class_error():
    labels = RNG.integers(0, 10, 1000)
    result = clustering_errors(confusion(np.zeros(1000, int), labels, 10))
    expected = 1 - np.bincount(labels).max() / 1000
    assert result.hungarian_error == pytest.approx(expected) and result.majority_error == pytest.approx(expected)
    assert len(result.unclaimed_digits) == 9


def test_merged_and_split_digits_are_reported():
    labels = np.repeat(np.arange(10), 10)
    categories = labels.copy()
    categories[labels == 9] = 4  # the code calls every 9 a 4
    categories[np.flatnonzero(labels == 1)[:5]] = 9  # and splits the 1s over categories 1 and 9
    result = clustering_errors(confusion(categories, labels, 10))
    assert result.majority_error == pytest.approx(0.10)  # only the 9s are lost
    assert result.hungarian_error == pytest.approx(0.15)  # one-to-one also loses half the 1s
    assert result.shared_digits == {1: [1, 9]}
    assert result.unclaimed_digits == [9]


def test_classifier_score_bounds():
    assert classifier_score(np.full((100, 10), 0.1)) == pytest.approx(1.0)
    assert classifier_score(np.eye(10)[np.arange(100) % 10]) == pytest.approx(10.0, rel=1e-6)
    assert classifier_score(np.eye(10)[np.zeros(100, int)]) == pytest.approx(1.0)


def test_frechet_distance_is_zero_for_a_set_with_itself_and_grows_with_a_shift():
    x = RNG.normal(size=(2000, 8))
    assert frechet_distance(x, x) == pytest.approx(0.0, abs=1e-6)
    shift = np.full(8, 0.5)
    assert frechet_distance(x, x + shift) == pytest.approx(np.sum(shift**2), rel=1e-6)
    assert frechet_distance(x, x + 2 * shift) > frechet_distance(x, x + shift)
    scaled = frechet_distance(x, x * 2)  # mean shift |mu|^2 plus sum of (2 - 1)^2 * variances
    expected = np.sum(x.mean(axis=0) ** 2) + np.trace(np.cov(x, rowvar=False))
    assert scaled == pytest.approx(expected, rel=1e-6)
