"""Sample quality: a Fréchet distance between two image sets in the feature space of a small
classifier trained on the data set, computed by torchmetrics.

The papers' FID uses Inception-v3 features on 299 x 299 RGB images (Heusel et al. 2017); its
weights cannot be downloaded on the machines this project runs on, and MNIST digits are not
Inception's domain anyway. So each data set gets a small convolutional classifier of its own,
trained by ``python -m tools.train_classifier`` and shipped in ``vae_core/classifiers/`` as
safetensors with its test accuracy. Distances computed with it compare only with each other:
**it is not the Inception FID of papers**, and every figure says so.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import save_file
from torch import nn

CLASSIFIERS = Path(__file__).with_name("classifiers")
NOT_INCEPTION = ("Fréchet distance on this project's own classifier features, not comparable with the "
                 "Inception FID of papers")


class FeatureClassifier(nn.Module):
    """Two 3x3 convolutions (32 and 64 channels, ReLU, each followed by a 2x2 max-pool), a dense
    layer to ``num_features`` = 128 features (ReLU), and a linear layer to the class logits.

    ``forward`` returns the features, (B, 128), as torchmetrics' FrechetInceptionDistance calls a
    custom feature module; ``logits`` the (B, n_classes) class scores. Images are (B, C, H, W)
    float in [0, 1], H and W divisible by 4.
    """

    num_features = 128

    def __init__(self, channels: int = 1, n_classes: int = 10, side: int = 28):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(64 * (side // 4) ** 2, self.num_features), nn.ReLU())
        self.head = nn.Linear(self.num_features, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))


def classifier_path(dataset: str) -> Path:
    """Where the shipped classifier of ``dataset`` lies (it may not exist: digits has none)."""
    return CLASSIFIERS / f"{dataset}.safetensors"


def save_classifier(model: FeatureClassifier, path: str | Path, info: dict[str, Any]) -> None:
    """Weights as safetensors, ``info`` (data set, test accuracy, the command) as JSON metadata."""
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    save_file(state, str(path), metadata={"info": json.dumps(info)})


def load_classifier(dataset: str) -> tuple[FeatureClassifier, dict[str, Any]] | None:
    """The shipped classifier of ``dataset`` in eval mode and its info (test accuracy, ...), or
    None when the project ships none for it."""
    path = classifier_path(dataset)
    if not path.is_file():
        return None
    with safe_open(str(path), "pt") as f:
        info = json.loads((f.metadata() or {}).get("info", "{}"))
        state = {k: f.get_tensor(k) for k in f.keys()}
    side = round((state["body.7.weight"].shape[1] / 64) ** 0.5) * 4  # the dense layer reads 64 x (side/4)^2
    model = FeatureClassifier(channels=state["body.0.weight"].shape[1], n_classes=state["head.weight"].shape[0],
                              side=side)
    model.load_state_dict(state)
    return model.eval(), info


@torch.no_grad()
def frechet_distance(real: torch.Tensor, generated: torch.Tensor, features: nn.Module, *,
                     batch_size: int = 1000) -> float:
    """Fréchet distance between Gaussian fits of the ``features`` of two image sets, each
    (N, C, H, W) float in [0, 1] (Heusel et al. 2017, eq. 6, computed by torchmetrics'
    FrechetInceptionDistance with ``features`` as its feature module). 0 for equal sets; it
    grows as the sets' feature statistics part. Needs at least 2 images per set.

    Raises:
        ValueError: fewer than 2 images in a set, or images outside [0, 1].
    """
    from torchmetrics.image.fid import FrechetInceptionDistance

    for name, x in (("real", real), ("generated", generated)):
        if len(x) < 2:
            raise ValueError(f"{name}: a Fréchet distance needs at least 2 images, got {len(x)}")
        if x.min() < 0 or x.max() > 1:
            raise ValueError(f"{name}: images must be float in [0, 1]")
    metric = FrechetInceptionDistance(feature=features.eval(), normalize=True)
    for x, is_real in ((real, True), (generated, False)):
        for start in range(0, len(x), batch_size):
            metric.update(x[start:start + batch_size].float(), real=is_real)
    return float(metric.compute())


@torch.no_grad()
def report(model, test: torch.Tensor, train: torch.Tensor, classifier: nn.Module, info: dict[str, Any], *,
           n: int = 10_000, seed: int = 0) -> dict[str, Any]:
    """The Fréchet distances metrics.json records for a model that samples: each against the
    first ``n`` test images (N, C, H, W) float in [0, 1], of ``n`` training images (the floor:
    what two samples of the data themselves score), of the model's reconstructions of the test
    images, and of ``n`` decoder means of its prior samples (seed ``seed``). For a two-stage VAE
    the samples are ``stage1_samples`` (z ~ N(0, I)) and ``stage2_samples`` (u ~ N(0, I) -> z);
    for a VQ-VAE ``prior_samples`` (PixelCNN codes) and ``uniform_samples`` (uniform codes)."""
    from vae_core.analysis import reconstruct

    test, train = test[:n], train[:n]
    recon = torch.cat([reconstruct(model, test[i:i + 1000]) for i in range(0, len(test), 1000)])
    out = {"features": NOT_INCEPTION, "classifier_test_accuracy": info.get("test_accuracy"),
           "n_images": len(test), "seed": seed,
           "test_vs_train": frechet_distance(test, train, classifier),
           "reconstructions": frechet_distance(test, recon, classifier)}
    samplers = model.named_samplers()  # the family says which samplers it has (vae_core.family)
    device = next(model.parameters()).device
    for key, sampler in samplers.items():
        z = sampler(len(test), generator=torch.Generator(device=device).manual_seed(seed))
        images = torch.cat([model.decode_mean(z[i:i + 1000]).cpu() for i in range(0, len(z), 1000)])
        out[key] = frechet_distance(test, images, classifier)
    return out
