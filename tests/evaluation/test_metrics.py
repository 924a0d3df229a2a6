import math

import numpy as np
import pytest

from infogan_tf.evaluation import metrics
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


def test_discrete_mutual_information_matches_the_definition():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 3, 500)
    b = (a + rng.integers(0, 2, 500)) % 4  # depends on a, with noise
    joint = np.zeros((3, 4))
    for x, y in zip(a, b):
        joint[x, y] += 1 / 500
    expected = sum(
        joint[x, y] * math.log(joint[x, y] / (joint[x].sum() * joint[:, y].sum()))
        for x in range(3)
        for y in range(4)
        if joint[x, y] > 0
    )
    assert metrics.discrete_mutual_information(a, b) == pytest.approx(expected, rel=1e-9)
    assert metrics.discrete_mutual_information(a, a) == pytest.approx(metrics.discrete_entropy(a), rel=1e-9)
    assert metrics.discrete_entropy(np.array([0, 1, 2, 3])) == pytest.approx(math.log(4))


def test_mig_is_one_for_codes_that_copy_the_factors_and_near_zero_for_noise():
    rng = np.random.default_rng(1)
    factors = np.stack([rng.integers(0, 3, 4000), rng.integers(0, 8, 4000)], axis=1)
    perfect = metrics.mutual_information_gap(factors[:, ::-1], factors, ["shape", "x"])
    # the other code is independent of each factor, up to the sample's small positive MI bias
    assert perfect.score == pytest.approx(1.0, abs=0.005)
    assert perfect.per_factor == pytest.approx({"shape": 1.0, "x": 1.0}, abs=0.005)
    both = np.stack([factors[:, 0], factors[:, 0]], axis=1)  # two codes know the shape equally well: no gap
    assert metrics.mutual_information_gap(both, factors, ["shape", "x"]).per_factor["shape"] == pytest.approx(0.0)
    noise = rng.integers(0, 10, (4000, 3))
    assert metrics.mutual_information_gap(noise, factors, ["shape", "x"]).score < 0.02
    constant = np.stack([factors[:, 0], np.zeros(4000, int)], axis=1)  # a factor with one value is left out
    assert set(metrics.mutual_information_gap(factors, constant, ["shape", "colour"]).per_factor) == {"shape"}


def test_discretize_uses_equal_width_bins_over_the_observed_range():
    values = np.array([[0.0], [0.49], [0.51], [1.0]])
    np.testing.assert_array_equal(metrics.discretize(values, bins=2)[:, 0], [0, 0, 1, 1])
    assert metrics.discretize(np.linspace(-3, 3, 1000)[:, None], bins=20).max() == 19


def test_slant_is_the_ink_weighted_slope_of_x_on_rows_going_up():
    rng = np.random.default_rng(0)
    line = np.zeros((3, 28, 28))
    for y in range(0, 21, 2):
        line[0, y, 10 + (20 - y) // 2] = 1.0  # leans right: half a column per row up
        line[1, y, 4 + y] = 1.0  # leans left: a column per row
        line[2, y, 14] = 1.0  # upright
    np.testing.assert_allclose(metrics.slant(line), [0.5, -1.0, 0.0], atol=1e-12)
    ink = rng.random((2, 28, 28)) ** 4
    rows, cols = np.mgrid[0:28, 0:28]
    for image, got in zip(ink, metrics.slant(ink)):
        slope = np.polyfit(rows.ravel(), cols.ravel(), 1, w=np.sqrt(image.ravel()))[0]
        assert got == pytest.approx(-slope, rel=1e-9)
    assert metrics.slant(np.zeros((1, 28, 28)))[0] == 0.0


def test_split_labels_lists_each_part_of_a_spread_label_with_how_it_leans():
    labels = np.array([4] * 10 + [7] * 10)
    categories = np.array([2] * 6 + [5] * 3 + [8] + [1] * 9 + [3])  # 4: 60% / 30% / 10%; 7: 90% / 10%
    slants = np.array([0.3] * 6 + [-0.2, -0.4, -0.3] + [0.0] + [0.1] * 10)
    split = metrics.split_labels(categories, labels, slants, min_share=0.15)
    assert list(split) == [4]  # 7's 10% in category 3 is below the share
    assert [part["category"] for part in split[4]] == [2, 5]
    assert split[4][0]["share"] == pytest.approx(0.6) and split[4][0]["slant"] == pytest.approx(0.3)
    assert split[4][1]["share"] == pytest.approx(0.3) and split[4][1]["slant"] == pytest.approx(-0.3)
    assert metrics.split_labels(categories, labels, slants, min_share=0.05)[7][1]["category"] == 3


def test_misplaced_lists_each_labels_first_images_in_another_labels_category():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, 200)
    categories = rng.integers(0, 4, 200)  # category 3 gets no label: all its images are misplaced
    hungarian = {0: 2, 1: 0, 2: 1}
    rows = metrics.misplaced(categories, labels, hungarian, num_labels=3, per_label=5)
    for label in range(3):
        expected = [i for i in range(200) if labels[i] == label and hungarian.get(categories[i]) != label][:5]
        assert rows[label].tolist() == expected and len(expected) == 5
    everything = metrics.misplaced(categories, labels, hungarian, num_labels=3, per_label=200)
    wrong = sum(len(r) for r in everything)
    assert wrong == np.sum([hungarian.get(c, -1) != y for c, y in zip(categories, labels)])
    assert metrics.misplaced(np.array([1, 0]), np.array([0, 1]), {0: 1, 1: 0}, 2, 5)[0].size == 0


def test_classifier_score_is_never_below_one():
    """Samples of one class score 1; float32 rounding of the mean KL must not take it below."""
    rng = np.random.default_rng(0)
    for _ in range(20):
        probs = np.tile(rng.dirichlet(np.ones(10)).astype(np.float32), (1000, 1))
        assert classifier_score(probs) >= 1.0
