"""Named data sets and the error a user sees when one is missing."""
import pytest
import torch

from vae_core import DatasetNotFoundError, load_dataset
from vae_core.data import binarize, to_float


def test_digits_is_embedded_split_and_scaled_to_bytes():
    train, test = load_dataset("digits", "train"), load_dataset("digits", "test")
    assert train.images.dtype == torch.uint8 and train.images.shape[1:] == (1, 8, 8)
    assert len(train) + len(test) == 1797
    assert int(train.images.max()) == 255 and set(train.labels.unique().tolist()) == set(range(10))


def test_missing_dataset_names_the_files_and_where_to_put_them(tmp_path):
    with pytest.raises(DatasetNotFoundError) as info:
        load_dataset("fashion-mnist", "train", tmp_path, download=False)
    message = str(info.value)
    assert "train-images-idx3-ubyte.gz" in message
    assert str(tmp_path / "FashionMNIST" / "raw") in message


def test_unknown_dataset_is_refused():
    with pytest.raises(ValueError, match="unknown data set"):
        load_dataset("cifar10", "train")


def test_mnist_from_a_read_only_shared_folder(mnist_dir):
    test = load_dataset("mnist", "test", mnist_dir, download=False)
    assert test.images.shape == (10000, 1, 28, 28) and test.images.dtype == torch.uint8
    assert test.labels[:3].tolist() == [7, 2, 1]  # the first MNIST test digits


def test_dynamic_binarization_draws_fresh_binary_pixels():
    x = torch.full((2, 1, 50, 50), 0.3)
    a, b = binarize(x), binarize(x)
    assert set(a.unique().tolist()) <= {0.0, 1.0} and not torch.equal(a, b)
    assert abs(a.mean().item() - 0.3) < 0.03
    assert to_float(torch.tensor([0, 255], dtype=torch.uint8)).tolist() == [0.0, 1.0]


def _write_images(folder, n, size, mode, value=lambda i: i * 20):
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        colour = value(i) if mode == "L" else (value(i), 0, 255 - value(i))
        Image.new(mode, size, colour).save(folder / f"{i:03d}.png")


def test_an_image_folder_with_classes_is_resized_grey_and_split(tmp_path):
    _write_images(tmp_path / "cats", 12, (40, 30), "RGB")
    _write_images(tmp_path / "dogs", 8, (20, 20), "L")
    train = load_dataset("folder", "train", folder=tmp_path, image_shape=(1, 16, 16))
    test = load_dataset("folder", "test", folder=tmp_path, image_shape=(1, 16, 16))
    assert train.classes == ["cats", "dogs"] and len(train) == 18 and len(test) == 2
    assert train.images.dtype == torch.uint8 and train.images.shape[1:] == (1, 16, 16)
    both = torch.cat([train.labels, test.labels])
    assert sorted(both.tolist()) == [0] * 12 + [1] * 8


def test_a_flat_image_folder_in_rgb_keeps_its_colours(tmp_path):
    _write_images(tmp_path / "mine", 10, (8, 8), "RGB", value=lambda i: 200)
    data = load_dataset("folder", "train", folder=tmp_path / "mine", image_shape=(3, 4, 4))
    assert data.classes == ["mine"] and data.images.shape == (9, 3, 4, 4)
    assert data.images[:, :, 0, 0].tolist() == [[200, 0, 55]] * 9  # R, G, B as written


@pytest.mark.parametrize("make", ["missing", "empty", "no_images"])
def test_an_empty_or_missing_image_folder_says_what_layout_is_expected(tmp_path, make):
    folder = tmp_path / "photos"
    if make != "missing":
        (folder / "cats").mkdir(parents=True)
    if make == "no_images":
        (folder / "cats" / "notes.txt").write_text("not an image")
    with pytest.raises(DatasetNotFoundError) as info:
        load_dataset("folder", "train", folder=folder)
    assert str(folder) in str(info.value) and "ImageFolder" in str(info.value)


def test_an_unreadable_image_is_named(tmp_path):
    from vae_core.data import DatasetError

    _write_images(tmp_path / "a", 3, (8, 8), "L")
    (tmp_path / "a" / "broken.png").write_bytes(b"\x89PNG not really")
    with pytest.raises(DatasetError, match="broken.png"):
        load_dataset("folder", "train", folder=tmp_path, image_shape=(1, 8, 8))
