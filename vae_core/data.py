"""Named data sets as uint8 image tensors, and dynamic binarization.

Every data set comes back as an :class:`ImageSet`: ``images`` (N, C, H, W) uint8 in
[0, 255] and ``labels`` (N,) int64. Scaling to [0, 1] and binarization happen on the
training device, batch by batch, so the whole set is held once, as bytes.

MNIST and Fashion-MNIST are read with ``torchvision.datasets`` from a data directory in
torchvision's layout (``<dir>/MNIST/raw/*.gz``); ``digits`` is scikit-learn's embedded
8x8 set and needs no files; ``folder`` is a folder of the user's own images, read with
torchvision's ``ImageFolder`` (one sub-folder per class, or images directly in the folder),
resized to the model's (C, H, W), grey or RGB.
"""
from __future__ import annotations

import functools
import hashlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import torch

DATA_DIR_ENV = "VAE_DATA_DIR"
DEFAULT_DATA_DIR = Path.home() / ".cache" / "vae_core" / "data"

# name -> (torchvision class name, folder under the data dir, class names)
_TORCHVISION = {
    "mnist": ("MNIST", "MNIST", [str(i) for i in range(10)]),
    "fashion-mnist": ("FashionMNIST", "FashionMNIST",
                      ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                       "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]),
}
DATASETS = ("mnist", "fashion-mnist", "digits", "folder")
IMAGE_SHAPES = {"mnist": (1, 28, 28), "fashion-mnist": (1, 28, 28), "digits": (1, 8, 8)}  # (C, H, W)
_RAW_FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
              "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")


class DatasetNotFoundError(FileNotFoundError):
    """A data set's files are missing and could not be downloaded, or an image folder holds no
    images; the message says where to put them."""


class DatasetError(ValueError):
    """A data set's file cannot be read (e.g. a corrupt image); the message names the file."""


@dataclass(frozen=True)
class ImageSet:
    """Images and labels of one split.

    Attributes:
        images: (N, C, H, W) uint8 in [0, 255].
        labels: (N,) int64 class indices.
        classes: class names, indexed by label.
        name: the data set's name.
    """

    images: torch.Tensor
    labels: torch.Tensor
    classes: list[str]
    name: str

    def __len__(self) -> int:
        return self.images.shape[0]

    def subset(self, index: torch.Tensor) -> "ImageSet":
        return ImageSet(self.images[index], self.labels[index], self.classes, self.name)


# The share of a training split held out for the per-epoch validation figures: 5,000 of MNIST's
# 60,000 images (every family's trainer holds out the same images, seed permitting).
VAL_FRACTION = 1 / 12


def resolve_data_dir(data_dir: str | os.PathLike | None = None) -> Path:
    """The data directory: the argument, else ``$VAE_DATA_DIR``, else ``~/.cache/vae_core/data``."""
    if data_dir is None:
        data_dir = os.environ.get(DATA_DIR_ENV) or DEFAULT_DATA_DIR
    return Path(data_dir).expanduser()


def default_binarize(dataset: str, likelihood: str) -> bool:
    """Dynamic binarization is the convention for MNIST log-likelihoods (Burda et al. 2016)."""
    return dataset == "mnist" and likelihood == "bernoulli"


def load_dataset(name: str, split: str, data_dir: str | os.PathLike | None = None,
                 *, download: bool = True, folder: str | os.PathLike | None = None,
                 image_shape: tuple[int, int, int] = (1, 28, 28)) -> ImageSet:
    """Load split ``"train"`` or ``"test"`` of a named data set.

    For ``name="folder"``, ``folder`` is the image folder and ``image_shape`` the (C, H, W)
    every image is converted to (C = 1 grey, 3 RGB); a fixed random 10 % is the test split.

    Raises:
        ValueError: unknown ``name`` or ``split``.
        DatasetNotFoundError: MNIST or Fashion-MNIST files absent from the data directory
            and not downloadable (no network, or ``download=False``); an image folder that
            does not exist or holds fewer than two images.
        DatasetError: an image in the folder cannot be read.
    """
    if name not in DATASETS:
        raise ValueError(f"unknown data set {name!r}; choose one of {DATASETS}")
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    if name == "digits":
        return _load_digits(split)
    if name == "folder":
        images, labels, classes = _read_folder(str(Path(folder or "").expanduser().resolve()), tuple(image_shape))
        return _fixed_split(ImageSet(images, labels, classes, "folder"), split, test_fraction=0.1)
    return _load_torchvision(name, split, resolve_data_dir(data_dir), download)


def _load_digits(split: str) -> ImageSet:
    from sklearn.datasets import load_digits

    digits = load_digits()
    # Values are 0..16; scale to bytes so every data set shares one convention.
    images = torch.from_numpy((digits.images * (255.0 / 16.0)).round()).to(torch.uint8).unsqueeze(1)
    labels = torch.from_numpy(digits.target).long()
    # A fixed permutation, then the last 20 % as the test split.
    order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(0))
    cut = int(0.8 * len(labels))
    index = order[:cut] if split == "train" else order[cut:]
    return ImageSet(images[index], labels[index], [str(i) for i in range(10)], "digits")


def _fixed_split(data: ImageSet, split: str, test_fraction: float) -> ImageSet:
    """A fixed random permutation (seed 0), its last ``test_fraction`` the test split."""
    order = torch.randperm(len(data), generator=torch.Generator().manual_seed(0))
    cut = len(data) - max(1, int(round(test_fraction * len(data))))
    return data.subset(order[:cut] if split == "train" else order[cut:])


@functools.lru_cache(maxsize=2)  # train and test splits of one run decode the folder once
def _read_folder(root: str, image_shape: tuple[int, int, int]) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    from PIL import Image
    from torchvision import transforms
    from torchvision.datasets import ImageFolder
    from torchvision.datasets.folder import IMG_EXTENSIONS, default_loader

    folder = Path(root)
    layout = (f"Put images ({', '.join(IMG_EXTENSIONS)}) in {folder}, directly or in one sub-folder per class "
              f"(torchvision's ImageFolder layout: {folder}/cats/001.png, {folder}/dogs/002.png, ...).")
    if folder.is_file():
        raise DatasetNotFoundError(f"{folder} is one file; give the folder that holds the images. {layout}")
    if not folder.is_dir():
        raise DatasetNotFoundError(f"image folder {folder} does not exist. {layout}")
    flat = sorted(str(p) for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMG_EXTENSIONS)
    if flat:
        samples, classes = [(p, 0) for p in flat], [folder.name]
    else:
        try:
            ds = ImageFolder(str(folder))
        except FileNotFoundError as exc:  # no class folders, or no image in any of them
            raise DatasetNotFoundError(f"no images found in {folder} ({exc}). {layout}") from None
        samples, classes = ds.samples, ds.classes
    if len(samples) < 2:
        raise DatasetNotFoundError(f"{folder} holds {len(samples)} image; at least 2 are needed "
                                   f"(one for the test split). {layout}")
    c, h, w = image_shape
    to_tensor = transforms.Compose([transforms.Grayscale(1)] * (c == 1) +  # the loader gives RGB
                                   [transforms.Resize((h, w)), transforms.PILToTensor()])
    images = torch.empty(len(samples), c, h, w, dtype=torch.uint8)
    for i, (path, _) in enumerate(samples):
        try:
            images[i] = to_tensor(default_loader(path))
        except (OSError, ValueError, Image.DecompressionBombError) as exc:  # UnidentifiedImageError is an OSError
            raise DatasetError(f"cannot read the image {path}: {exc}") from None
    return images, torch.tensor([label for _, label in samples]), classes


def _load_torchvision(name: str, split: str, data_dir: Path, download: bool) -> ImageSet:
    import torchvision

    class_name, folder, classes = _TORCHVISION[name]
    root = _writable_root(data_dir, folder)
    # With the .gz files in place, torchvision's "download" only checks their md5 and
    # extracts them; it goes online only for a missing or corrupt file.
    have_raw = all((root / folder / "raw" / f).exists() for f in _RAW_FILES)
    try:
        ds = getattr(torchvision.datasets, class_name)(root=str(root), train=(split == "train"),
                                                       download=download or have_raw)
    except Exception as exc:  # torchvision raises RuntimeError or URLError variants
        raise DatasetNotFoundError(_missing_message(name, folder, data_dir, exc)) from None
    return ImageSet(ds.data.unsqueeze(1).contiguous(), ds.targets.long(), classes, name)


def _writable_root(data_dir: Path, folder: str) -> Path:
    """torchvision extracts next to its .gz files, so a read-only data dir (a shared copy)
    is mirrored by links into the user's cache, where the extraction can happen."""
    raw = data_dir / folder / "raw"
    if os.access(data_dir, os.W_OK) and (not raw.exists() or os.access(raw, os.W_OK)):
        return data_dir
    # str hash() is salted per process; a stable digest keeps one mirror per source folder.
    digest = hashlib.sha1(str(data_dir.resolve()).encode()).hexdigest()[:12]
    mirror = DEFAULT_DATA_DIR / "mirror" / digest
    (mirror / folder / "raw").mkdir(parents=True, exist_ok=True)
    for src in raw.glob("*.gz") if raw.is_dir() else []:
        dst = mirror / folder / "raw" / src.name
        if not dst.exists():
            try:
                dst.symlink_to(src.resolve())
            except OSError:
                shutil.copyfile(src, dst)
    return mirror


def _missing_message(name: str, folder: str, data_dir: Path, exc: Exception) -> str:
    files = ", ".join(_RAW_FILES)
    return (f"data set {name!r} not found and could not be downloaded ({type(exc).__name__}: "
            f"{str(exc).splitlines()[0] if str(exc) else 'no detail'}). Put {files} in "
            f"{data_dir / folder / 'raw'}, or point --data-dir (or ${DATA_DIR_ENV}) at a folder "
            f"that has {folder}/raw/ with them.")


def to_float(images: torch.Tensor) -> torch.Tensor:
    """uint8 (..., C, H, W) in [0, 255] -> float32 in [0, 1], on the same device."""
    return images.float().div_(255.0)


def binarize(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Dynamic binarization: each pixel drawn as Bernoulli(intensity). ``x`` float in [0, 1]."""
    return torch.bernoulli(x, generator=generator)


def split_validation(train_set: ImageSet, fraction: float, seed: int) -> tuple[ImageSet, ImageSet]:
    """A fixed random ``fraction`` of the training split held out for the validation ELBO."""
    order = torch.randperm(len(train_set), generator=torch.Generator().manual_seed(seed))
    n_val = max(1, int(round(fraction * len(train_set))))
    return train_set.subset(order[n_val:]), train_set.subset(order[:n_val])


def probe_subset(test_set: ImageSet, size: int) -> ImageSet:
    """A fixed random subset of the test split (seed 0, so every bundle of a data set shares it)."""
    order = torch.randperm(len(test_set), generator=torch.Generator().manual_seed(0))
    return test_set.subset(order[:size].sort().values)


def prepare(images: torch.Tensor, binarized: bool, seed: int = 0) -> torch.Tensor:
    """uint8 (N, C, H, W) -> float in [0, 1]; binarized once with a fixed seed when asked, so
    the same images are scored on every call (a stochastically binarized test set)."""
    x = to_float(images)
    if binarized:
        x = binarize(x, torch.Generator(device=x.device).manual_seed(seed))
    return x


def binarization_note(binarize: bool, seed: int) -> str:
    if binarize:
        return f"stochastic: each pixel drawn once as Bernoulli(intensity), seed {seed}"
    return "none: pixel values in [0, 1]"
