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
