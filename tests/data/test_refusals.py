"""Files a loader cannot use are refused by name before training: undecodable images, odd arrays, MAT files."""

import numpy as np
import pytest
from PIL import Image
from scipy import io

from infogan_tf.data import DataError
from infogan_tf.data.chairs import ChairsDataset
from infogan_tf.data.dsprites import DSpritesDataset
from infogan_tf.data.svhn import SvhnDataset


def write_pngs(directory, count=3):
    directory.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        Image.fromarray(np.full((70, 90), i * 60, np.uint8)).save(directory / f"{i}.png")


def test_an_undecodable_image_is_named(tmp_path):
    write_pngs(tmp_path)
    assert ChairsDataset(str(tmp_path)).train.images.shape == (3, 64 * 64)
    (tmp_path / "b_text.png").write_text("not an image")
    with pytest.raises(DataError, match=r"b_text.png cannot be decoded as an image; remove or replace it"):
        ChairsDataset(str(tmp_path))


def test_several_undecodable_images_are_named_by_the_first_and_counted(tmp_path):
    write_pngs(tmp_path)
    (tmp_path / "a_empty.png").write_bytes(b"")
    Image.fromarray(np.full((70, 90, 3), 9, np.uint8)).save(tmp_path / "c_cut.jpg")
    whole = (tmp_path / "c_cut.jpg").read_bytes()
    (tmp_path / "c_cut.jpg").write_bytes(whole[: len(whole) // 2])
    (tmp_path / "d_text.png").write_text("not an image")
    with pytest.raises(DataError, match=r"a_empty.png \(and 2 more\) cannot be decoded"):
        ChairsDataset(str(tmp_path))


@pytest.mark.parametrize(
    ("images", "message"),
    [
        (np.zeros((0, 64, 64), np.uint8), "no images"),
        (np.zeros((2, 64, 64, 3), np.uint8), r"uint8 images of shape \(64, 64, 3\), expected uint8 \(64, 64, 1\)"),
        (np.zeros((2, 64, 64), np.float32), "float32 images"),
        (np.zeros((2, 4096), np.uint8), r"uint8 images of shape \(4096,\)"),
    ],
)
def test_an_images_array_of_the_wrong_size_shape_or_type_is_refused(tmp_path, images, message):
    np.savez(tmp_path / "images.npz", images=images)
    with pytest.raises(DataError, match=f"images.npz holds {message}"):
        ChairsDataset(str(tmp_path))


def test_an_images_array_with_a_channel_axis_loads(tmp_path):
    images = np.random.default_rng(0).integers(0, 256, (2, 64, 64, 1), dtype=np.uint8)
    np.savez(tmp_path / "images.npz", images=images)
    np.testing.assert_allclose(ChairsDataset(str(tmp_path)).train.images, images.reshape(2, -1) / 255.0, atol=1e-6)


def write_svhn(directory, x, y):
    for name in SvhnDataset.FILES.values():
        io.savemat(directory / name, {"X": x, "y": y})


SVHN_X = np.random.default_rng(0).integers(0, 256, (32, 32, 3, 5)).astype(np.uint8)
SVHN_Y = np.array([[10], [1], [2], [3], [4]])


def test_svhn_mat_files_load_with_ten_as_zero(tmp_path):
    write_svhn(tmp_path, SVHN_X, SVHN_Y)
    data = SvhnDataset(str(tmp_path))
    np.testing.assert_array_equal(data.train.labels, [0, 1, 2, 3, 4])


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", r"is not a readable .mat with X and y"),
        (b"hello, not a MAT file at all" * 10, r"is not a readable .mat with X and y"),
    ],
)
def test_a_svhn_file_that_is_not_a_mat_file_is_refused(tmp_path, content, message):
    write_svhn(tmp_path, SVHN_X, SVHN_Y)
    (tmp_path / "train_32x32.mat").write_bytes(content)
    with pytest.raises(DataError, match=f"train_32x32.mat {message}"):
        SvhnDataset(str(tmp_path))


@pytest.mark.parametrize(
    ("x", "y", "message"),
    [
        (SVHN_X / 255.0, SVHN_Y, "holds X as float64, expected the distributed uint8 pixels"),
        (SVHN_X.astype(np.int16) * 3, SVHN_Y, "holds X as int16"),
        (SVHN_X, np.array(["a", "b", "c", "d", "e"]), "holds labels y that are not digits 1 to 10"),
        (SVHN_X, np.array([[1.5], [1], [2], [3], [4]]), "holds labels y that are not digits 1 to 10"),
        (SVHN_X, np.array([[11], [1], [2], [3], [4]]), "holds labels y that are not digits 1 to 10"),
    ],
)
def test_svhn_pixels_or_labels_of_another_type_are_refused_not_cast(tmp_path, x, y, message):
    write_svhn(tmp_path, x, y)
    with pytest.raises(DataError, match=message):
        SvhnDataset(str(tmp_path))


@pytest.mark.parametrize(
    ("images", "classes", "message"),
    [
        (np.zeros((4, 64, 64), np.float32), np.zeros((4, 6), np.int64), "holds imgs as float32"),
        (np.zeros((4, 64, 64), np.uint8), np.zeros((4, 6), np.float64), "latents_classes as float64"),
    ],
)
def test_dsprites_arrays_of_another_type_are_refused_not_cast(tmp_path, images, classes, message):
    np.savez(tmp_path / DSpritesDataset.FILE, imgs=images, latents_classes=classes)
    with pytest.raises(DataError, match=message):
        DSpritesDataset(str(tmp_path))
