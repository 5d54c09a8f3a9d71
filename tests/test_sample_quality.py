"""The Fréchet distance on our own classifier's features (not the Inception FID of papers)."""

import pytest
import torch

from vae_core.sample_quality import FeatureClassifier, frechet_distance, load_classifier


@pytest.fixture(scope="module")
def features():
    torch.manual_seed(0)
    return FeatureClassifier().eval()  # any fixed feature map shows the distance's behaviour


def test_a_set_against_itself_is_about_zero_and_the_distance_grows_with_a_shift(features):
    gen = torch.Generator().manual_seed(1)
    x = torch.rand(300, 1, 28, 28, generator=gen) * 0.5
    same = frechet_distance(x, x, features)
    assert abs(same) < 1e-6
    shifts = [frechet_distance(x, (x + s).clamp(0, 1), features) for s in (0.1, 0.2, 0.4)]
    assert same < shifts[0] < shifts[1] < shifts[2]
    halves = frechet_distance(x[:150], x[150:], features)  # two samples of one distribution: small
    assert halves < shifts[0]


def test_bad_input_is_refused(features):
    x = torch.rand(10, 1, 28, 28)
    with pytest.raises(ValueError, match="at least 2"):
        frechet_distance(x[:1], x, features)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        frechet_distance(x * 255, x, features)


@pytest.mark.parametrize("dataset, target", [("mnist", 0.99), ("fashion-mnist", 0.90)])
def test_the_shipped_classifiers_state_their_accuracy_and_it_holds(dataset, target, mnist_dir):
    """The stated test accuracy meets the target, and recomputing it on the test split agrees."""
    from tools.train_classifier import accuracy
    from vae_core.data import load_dataset

    loaded = load_classifier(dataset)
    assert loaded is not None, f"no classifier shipped for {dataset} (python -m tools.train_classifier)"
    model, info = loaded
    assert info["dataset"] == dataset and info["test_accuracy"] >= target and "DIR" in info["command"]
    folder = "FashionMNIST" if dataset == "fashion-mnist" else "MNIST"
    if not (mnist_dir / folder / "raw").is_dir():
        pytest.skip(f"{folder} not found under {mnist_dir}")
    test = load_dataset(dataset, "test", mnist_dir, download=False)
    assert accuracy(model, test.images, test.labels) == pytest.approx(info["test_accuracy"], abs=1e-9)
