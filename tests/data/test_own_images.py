"""InfoGAN on the user's own images: a folder, an .npz, a tensorflow-datasets name; decoded, resized and refused."""

import json
import os
import re
import sys

import numpy as np
import pytest
import scipy.optimize
import tensorflow_datasets as tfds
from conftest import REPO, run_command
from PIL import Image

from infogan_tf.checkpoints import load
from infogan_tf.data import DataError, FashionMnistDataset, ImageOptions, MnistDataset, make_dataset
from infogan_tf.data.folder import FolderDataset
from infogan_tf.data.npz import NpzDataset
from infogan_tf.data.own import held_out
from infogan_tf.data.streaming import StreamedSplit
from infogan_tf.evaluation.report import categorical_predictions

WHOLE = ImageOptions(test_share=0.0)


@pytest.fixture(scope="module")
def mnist_test(mnist_dir):
    """MNIST's test split as the IDX files hold it: uint8 images and their labels."""
    test = MnistDataset(str(mnist_dir)).test
    return np.round(test.images * 255).astype(np.uint8).reshape(-1, 28, 28), test.labels


@pytest.fixture(scope="module")
def mnist_pngs(tmp_path_factory, mnist_test):
    """MNIST's test split as PNG files, one sub-folder per digit."""
    root = tmp_path_factory.mktemp("mnist_png")
    images, labels = mnist_test
    for digit in range(10):
        (root / str(digit)).mkdir()
    for index, (image, label) in enumerate(zip(images, labels)):
        Image.fromarray(image).save(root / str(label) / f"{index:05d}.png")
    return root


def in_training_order(images, labels):
    """The arrays in the order the folder dataset keeps them: the files' (by digit folder, then index), shuffled."""
    order = np.lexsort((np.arange(len(labels)), labels))[held_out(len(labels), 0.0)[0]]
    return images[order], labels[order]


def test_a_folder_of_mnist_pngs_decodes_to_the_idx_arrays_bit_for_bit(mnist_pngs, mnist_test):
    dataset = FolderDataset(str(mnist_pngs), WHOLE)
    images, labels = in_training_order(*mnist_test)
    assert dataset.image_shape == (28, 28, 1) and dataset.num_classes == 10
    assert (dataset.value_range, dataset.output_dist) == ((0.0, 1.0), "mean_bernoulli")  # grey, as MNIST
    np.testing.assert_array_equal(dataset.train._images, images.reshape(len(images), -1))
    np.testing.assert_array_equal(dataset.train.labels, labels)
    assert dataset.test is None
    assert np.bincount(dataset.train.labels[:1000], minlength=10).min() > 50  # any first images are a fair sample


def test_a_share_of_the_folder_is_held_out_with_its_labels_the_same_on_every_load(mnist_pngs, mnist_test):
    first, again = (FolderDataset(str(mnist_pngs)) for _ in range(2))
    assert (first.train.num_examples, first.test.num_examples) == (9000, 1000)
    np.testing.assert_array_equal(first.test.labels, again.test.labels)
    images, _ = mnist_test
    both = np.concatenate([first.train._images, first.test._images])  # every image once, in one split or the other
    assert sorted(map(bytes, both)) == sorted(map(bytes, images.reshape(len(images), -1)))
    assert np.bincount(first.test.labels, minlength=10).min() > 50  # every class among the held-out images
    assert first.labelled


def train_tiny(tmp_path, *flags):
    """Four updates of batch 16 through run_folder_exp.py, then its evaluation (a classifier cached in tmp_path)."""
    return run_command(
        [
            sys.executable,
            str(REPO / "launchers" / "run_folder_exp.py"),
            f"--root_log_dir={tmp_path / 'logs'}",
            f"--root_checkpoint_dir={tmp_path / 'ckt'}",
            "--exp_name=tiny",
            "--batch_size=16",
            "--updates_per_epoch=2",
            "--max_epoch=2",
            "--eval_samples=500",
            *flags,
        ],
        env=dict(os.environ, INFOGAN_CACHE_DIR=str(tmp_path / "cache")),
    )


def hungarian_error(tmp_path, dataset) -> float:
    """The categorical code's test error on ``dataset``'s held-out images, recomputed from the run's checkpoint."""
    categories = categorical_predictions(load(tmp_path / "ckt" / "tiny"), dataset.test.images)
    counts = np.zeros((10, dataset.num_classes), int)
    np.add.at(counts, (categories, dataset.test.labels), 1)
    rows, cols = scipy.optimize.linear_sum_assignment(-counts)
    return 1 - counts[rows, cols].sum() / counts.sum()


def test_the_folder_launcher_trains_and_scores_the_code_against_the_folders_labels(tmp_path, mnist_pngs):
    result = train_tiny(tmp_path, f"--data_dir={mnist_pngs}")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Data: folder, 9000 28x28x1 images; network: mnist" in result.stdout  # 28x28: the MNIST network
    results = json.loads((tmp_path / "logs" / "tiny" / "results.json").read_text())
    error = hungarian_error(tmp_path, FolderDataset(str(mnist_pngs)))
    assert results["unsupervised_error_hungarian"] == pytest.approx(error, abs=1e-9)
    assert results["dataset"] == "folder" and "frechet_distance" in results


def test_the_launcher_trains_on_an_npz_of_fashion_mnist_and_scores_the_code_against_its_labels(
    tmp_path, fashion_mnist_dir
):
    test = FashionMnistDataset(str(fashion_mnist_dir)).test
    images = np.round(test.images * 255).astype(np.uint8).reshape(-1, 28, 28)
    np.savez(tmp_path / "fashion.npz", images=images, labels=test.labels)
    result = train_tiny(tmp_path, "--dataset=npz", f"--data_dir={tmp_path / 'fashion.npz'}")
    assert result.returncode == 0, result.stderr[-3000:]
    results = json.loads((tmp_path / "logs" / "tiny" / "results.json").read_text())
    error = hungarian_error(tmp_path, make_dataset("npz", str(tmp_path / "fashion.npz")))
    assert results["unsupervised_error_hungarian"] == pytest.approx(error, abs=1e-9)
    assert results["dataset"] == "npz"
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    evaluate = [sys.executable, str(REPO / "launchers" / "evaluate.py"), f"--checkpoint={tmp_path / 'ckt' / 'tiny'}"]
    mnist = run_command([*evaluate, f"--root_log_dir={tmp_path / 'logs'}", f"--data_dir={fashion_mnist_dir}"])
    assert mnist.returncode == 1 and "Traceback" not in mnist.stderr, mnist.stderr[-3000:]
    assert mnist.stderr.strip().splitlines()[-1] == (
        f"error: the run in {tmp_path / 'ckt' / 'tiny'} trained on npz, not mnist; "
        "evaluate it with --dataset=npz (and its --data_dir)"
    )
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before


def test_an_npz_of_fashion_mnist_loads_its_arrays_and_labels(tmp_path, fashion_mnist_dir):
    test = FashionMnistDataset(str(fashion_mnist_dir)).test
    images = np.round(test.images * 255).astype(np.uint8).reshape(-1, 28, 28)
    np.savez(tmp_path / "fashion.npz", images=images, labels=test.labels)
    whole = make_dataset("npz", str(tmp_path / "fashion.npz"), WHOLE)
    assert isinstance(whole, NpzDataset) and whole.image_shape == (28, 28, 1) and whole.num_classes == 10
    order = held_out(len(images), 0.0)[0]
    np.testing.assert_array_equal(whole.train._images, images.reshape(len(images), -1)[order])
    np.testing.assert_array_equal(whole.train.labels, test.labels[order])
    held = make_dataset("npz", str(tmp_path / "fashion.npz"))
    assert (held.train.num_examples, held.test.num_examples) == (9000, 1000) and held.labelled


def area_resize(image: np.ndarray, size: int) -> np.ndarray:
    """An independent area resize: each output pixel the overlap-weighted mean of the input pixels under it."""

    def weights(n: int) -> np.ndarray:
        w = np.zeros((size, n))
        for i in range(size):
            low, high = i * n / size, (i + 1) * n / size
            for j in range(int(np.floor(low)), int(np.ceil(high))):
                w[i, j] = min(high, j + 1) - max(low, j)
        return w / w.sum(axis=1, keepdims=True)

    height, width = image.shape[:2]
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    square = image[top : top + side, left : left + side].astype(np.float64)
    w = weights(side)
    return np.einsum("ij,jkc,lk->ilc", w, square, w)


@pytest.mark.parametrize("size", [28, 32, 64])
def test_colour_images_of_mixed_sizes_are_cropped_and_resized_as_an_independent_resize(tmp_path, size):
    rng = np.random.default_rng(size)
    shapes = [(70, 90), (100, 64), (64, 64), (81, 200)]
    originals = [rng.integers(0, 256, (*shape, 3), dtype=np.uint8) for shape in shapes]
    for index, image in enumerate(originals):
        Image.fromarray(image).save(tmp_path / f"{index}.png")
    dataset = FolderDataset(str(tmp_path), ImageOptions(image_size=size, test_share=0.0))
    assert dataset.image_shape == (size, size, 3) and dataset.num_classes is None
    assert (dataset.value_range, dataset.output_dist) == ((-1.0, 1.0), "mean_tanh_gaussian")
    decoded = dataset.train._images.reshape(-1, size, size, 3)
    for got, index in zip(decoded, held_out(len(originals), 0.0)[0]):  # the dataset's fixed shuffled order
        original = originals[index]
        assert np.abs(got.astype(float) - area_resize(original, size)).max() <= 1.0


def test_npz_arrays_of_another_size_are_cropped_and_resized_and_grey_made_colour_on_asking(tmp_path):
    images = np.random.default_rng(1).integers(0, 256, (5, 40, 50), dtype=np.uint8)
    np.savez(tmp_path / "odd.npz", images=images)
    dataset = make_dataset("npz", str(tmp_path / "odd.npz"), WHOLE)
    assert dataset.image_shape == (32, 32, 1) and dataset.num_classes is None
    for got, original in zip(dataset.train._images.reshape(-1, 32, 32), images[held_out(len(images), 0.0)[0]]):
        assert np.abs(got - area_resize(original[..., None], 32)[..., 0]).max() <= 1.0
    colour = make_dataset("npz", str(tmp_path / "odd.npz"), ImageOptions(channels=3, image_size=64, test_share=0))
    decoded = colour.train._images.reshape(-1, 64, 64, 3)
    assert colour.value_range == (-1.0, 1.0) and (decoded == decoded[..., :1]).all()


def test_a_tfds_name_makes_a_run_name_without_a_colon():
    from infogan_tf.config import ExperimentConfig
    from infogan_tf.experiment import run_names

    base, [(_, name)] = run_names(ExperimentConfig(dataset="tfds:cifar10"))
    assert base == name and base.startswith("tfds_cifar10_") and ":" not in base


def test_the_size_follows_the_smallest_image_and_grey_follows_the_pixels(tmp_path):
    grey = np.random.default_rng(0).integers(0, 256, (40, 50), dtype=np.uint8)
    Image.fromarray(grey).save(tmp_path / "a.png")
    Image.fromarray(np.stack([grey[:, :45]] * 3, axis=-1)).save(tmp_path / "b.jpg", quality=100)  # grey, stored as RGB
    Image.fromarray(np.stack([grey] * 3, axis=-1)).save(tmp_path / "c.png")
    dataset = FolderDataset(str(tmp_path), WHOLE)
    assert dataset.image_shape == (32, 32, 1)  # 40 pixels cover 32 but not 64


def test_a_folder_forced_to_stream_gives_the_batches_of_the_in_memory_one(tmp_path, mnist_pngs):
    whole = FolderDataset(str(mnist_pngs))
    streamed = FolderDataset(str(mnist_pngs), ImageOptions(in_memory_limit_mb=0))
    assert isinstance(streamed.train, StreamedSplit) and streamed.streamed and not whole.streamed
    np.testing.assert_array_equal(streamed.test._images, whole.test._images)
    for start in (0, 600):  # 600 batches of 16 cross into the second epoch
        for a, b in zip(whole.train.batches(16, seed=3, start=start).take(3), streamed.train.batches(16, 3, start)):
            np.testing.assert_array_equal(a.numpy(), b.numpy())
    np.testing.assert_array_equal(streamed.train.head(5), whole.train.images[:5])
    with pytest.raises(DataError, match="stream from disk"):
        _ = streamed.train.images


def test_a_streamed_folder_trains_through_the_launcher(tmp_path, mnist_pngs):
    result = run_command(
        [
            sys.executable,
            str(REPO / "launchers" / "run_folder_exp.py"),
            f"--data_dir={mnist_pngs}",
            f"--root_log_dir={tmp_path / 'logs'}",
            f"--root_checkpoint_dir={tmp_path / 'ckt'}",
            "--exp_name=streamed",
            "--in_memory_limit_mb=0",
            "--batch_size=8",
            "--updates_per_epoch=2",
            "--max_epoch=1",
            "--noevaluate",
        ]
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "stream" in result.stdout
    assert (tmp_path / "ckt" / "streamed" / "streamed-2.index").is_file()


@pytest.mark.parametrize(
    ("name", "shape", "classes"),
    [("mnist", (28, 28, 1), 10), ("cifar10", (32, 32, 3), 10), ("celeb_a", (64, 64, 3), None)],
)
def test_a_tfds_dataset_by_name_finds_its_image_and_label_features(name, shape, classes):
    with tfds.testing.mock_data(num_examples=12):
        dataset = make_dataset(f"tfds:{name}", None, ImageOptions())
    assert dataset.image_shape == shape and dataset.num_classes == classes
    assert dataset.train.num_examples == 12 and dataset.test.num_examples == 12  # its own test split
    assert dataset.name == f"tfds:{name}"


def test_a_tfds_dataset_with_several_labels_takes_the_one_named(tmp_path):
    with tfds.testing.mock_data(num_examples=6):
        unlabelled = make_dataset("tfds:dsprites", None, ImageOptions())
        shapes = make_dataset("tfds:dsprites", None, ImageOptions(tfds_label_key="label_shape", channels=3))
    assert unlabelled.num_classes is None and unlabelled.image_shape == (64, 64, 1)
    assert shapes.num_classes == 3 and shapes.image_shape == (64, 64, 3)
    assert set(np.unique(shapes.train.labels)) <= {0, 1, 2}


# Refusals, each in one line that names the file or the setting.


def write_pngs(directory, count=3, shape=(30, 30)):
    directory.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        Image.fromarray(np.full(shape, i * 60, np.uint8)).save(directory / f"{i}.png")


def test_a_folder_without_images_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("no images here")
    with pytest.raises(DataError, match="no image files"):
        FolderDataset(str(tmp_path))


def test_an_undecodable_file_is_named(tmp_path):
    write_pngs(tmp_path)
    (tmp_path / "broken.png").write_bytes(b"\x89PNG not really")
    with pytest.raises(DataError, match="broken.png cannot be decoded"):
        FolderDataset(str(tmp_path))


def test_a_class_folder_without_images_is_named(tmp_path):
    write_pngs(tmp_path / "cats")
    write_pngs(tmp_path / "dogs")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="class folder .*empty holds no images"):
        FolderDataset(str(tmp_path))


def test_grey_and_colour_images_together_are_refused_unless_channels_are_given(tmp_path):
    write_pngs(tmp_path)
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (30, 30, 3), dtype=np.uint8)).save(tmp_path / "c.png")
    with pytest.raises(DataError, match=r"3 are grey and 1 colour .*channels=1 or .*channels=3"):
        FolderDataset(str(tmp_path))
    assert FolderDataset(str(tmp_path), ImageOptions(channels=3)).image_shape == (28, 28, 3)


@pytest.mark.parametrize(
    ("arrays", "message"),
    [
        ({"images": np.zeros((4, 28, 28), np.float32)}, "holds float32 images"),
        ({"images": np.zeros((4, 784), np.uint8)}, r"of shape \(784,\)"),
        ({"images": np.zeros((0, 28, 28), np.uint8)}, "holds no images"),
        ({"pixels": np.zeros((4, 28, 28), np.uint8)}, "not an .npz with an 'images' array"),
        ({"images": np.zeros((4, 28, 28), np.uint8), "labels": np.zeros(3, int)}, "expected 4 integers"),
        ({"images": np.zeros((4, 28, 28), np.uint8), "labels": np.full(4, 0.5)}, "'labels' of float64"),
    ],
)
def test_an_npz_of_the_wrong_arrays_is_refused(tmp_path, arrays, message):
    np.savez(tmp_path / "x.npz", **arrays)
    with pytest.raises(DataError, match=message):
        make_dataset("npz", str(tmp_path / "x.npz"))


def test_an_npz_that_is_no_zip_archive_or_numbers_its_classes_past_its_images_is_refused(tmp_path):
    arrays = {"images": np.zeros((4, 28, 28), np.uint8), "labels": np.full(4, 10**12)}
    np.savez(tmp_path / "whole.npz", **arrays)
    with pytest.raises(DataError, match=r"holds label 1000000000000 among 4 images; number the classes 0, 1, 2"):
        make_dataset("npz", str(tmp_path / "whole.npz"))
    whole = (tmp_path / "whole.npz").read_bytes()
    for name, content in (("cut.npz", whole[: len(whole) // 2]), ("text.npz", b"hi"), ("empty.npz", b"")):
        (tmp_path / name).write_bytes(content)
        with pytest.raises(DataError, match=rf"{name} is not an .npz \(a zip archive of arrays\); replace it"):
            make_dataset("npz", str(tmp_path / name))


def test_a_path_of_the_wrong_kind_or_a_link_to_nothing_is_named_as_such(tmp_path):
    write_pngs(tmp_path / "images")
    with pytest.raises(DataError, match=r"npz file .*images is a directory, not a file"):
        make_dataset("npz", str(tmp_path / "images"))
    with pytest.raises(DataError, match=r"directory .*0.png is a file, not a directory"):
        make_dataset("folder", str(tmp_path / "images" / "0.png"))
    (tmp_path / "images" / "gone.png").symlink_to(tmp_path / "nowhere.png")
    with pytest.raises(DataError, match=r"gone.png is a link to nothing; remove it or restore what it points to"):
        make_dataset("folder", str(tmp_path / "images"))


def test_a_tfds_name_that_does_not_exist_or_is_not_prepared_is_refused(tmp_path):
    with pytest.raises(DataError, match="tensorflow-datasets has no dataset 'no_such_images'"):
        make_dataset("tfds:no_such_images", None)
    for name, reason in (
        ("../x", "Parsing builder name string ../x failed."),
        ("mnist/3.0.1", "BuilderConfig 3.0.1 not found"),
        ("mnist:9.9.9", "cannot be loaded at version 9.9.9"),
    ):
        with pytest.raises(DataError, match=rf"cannot build '{re.escape(name)}': .*{re.escape(reason)}") as refused:
            make_dataset(f"tfds:{name}", None)
        assert "\n" not in str(refused.value) and "tfds:NAME[/CONFIG][:VERSION]" in str(refused.value)
    with pytest.raises(DataError, match=r"tfds:mnist is not prepared in .*tfds build mnist"):
        make_dataset("tfds:mnist", None, ImageOptions(tfds_data_dir=str(tmp_path)))


def test_a_tfds_dataset_with_several_image_features_asks_for_one():
    with tfds.testing.mock_data(num_examples=4), pytest.raises(DataError, match="several image features"):
        make_dataset("tfds:smallnorb", None)
