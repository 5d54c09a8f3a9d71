"""A person's own image (a drawing, an upload) prepared as the data set's images were.

Each shipped data set was made by its own recipe, and a model only understands inputs made
the same way:

- MNIST (LeCun et al. 1998): the digit's bounding box scaled, aspect kept, to fit 20 × 20
  with anti-aliasing (so grey levels appear), then placed in 28 × 28 with its centre of mass
  at the centre.
- Fashion-MNIST (Xiao et al. 2017): the product trimmed to its bounding box, its longer side
  resized to 28, centred in 28 × 28; light object on a dark background.
- scikit-learn's digits (UCI optdigits): the digit normalized into a 32 × 32 bitmap, whose
  4 × 4 blocks are counted: 8 × 8 images with values 0 to 16.

All of them are light ink on a dark background: an image whose border is mostly light (dark
ink on paper) is inverted first. Images are (H, W) float in [0, 1] here; ``prepare_for``
returns the (C, H, W) float in [0, 1] the model takes.
"""
from __future__ import annotations

import io

import numpy as np
import torch

MAX_UPLOAD_BYTES = 10 * 2**20
MAX_UPLOAD_PIXELS = 4096 * 4096
INK = 0.1  # a pixel brighter than this (after inversion) is ink


class ImageInputError(ValueError):
    """The input cannot be made into an image of the data set: blank, too large, not an image.
    The message is one sentence for the person who gave it."""


def to_grey(image: np.ndarray) -> np.ndarray:
    """(H, W), (H, W, 3) or (H, W, 4) uint8 or float in [0, 1] -> (H, W) float in [0, 1].

    Colour becomes its luminance (ITU-R 601, as PIL's "L"); a transparent pixel counts as
    background (alpha multiplies the value), which is what a canvas with no background gives."""
    a = np.asarray(image, dtype=np.float64)
    if a.dtype.kind in "ui" or a.max(initial=0) > 1.0:
        a = a / 255.0
    if a.ndim == 2:
        return np.clip(a, 0, 1)
    if a.ndim != 3 or a.shape[2] not in (3, 4):
        raise ImageInputError(f"an image must be (H, W), (H, W, 3) or (H, W, 4); this one is {a.shape}")
    grey = a[..., :3] @ np.array([0.299, 0.587, 0.114])
    return np.clip(grey * a[..., 3] if a.shape[2] == 4 else grey, 0, 1)


def light_on_dark(grey: np.ndarray) -> np.ndarray:
    """Invert an image whose border is mostly light (dark ink on white paper)."""
    border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
    return 1.0 - grey if np.median(border) > 0.5 else grey


def ink_box(grey: np.ndarray) -> tuple[slice, slice]:
    """Rows and columns of the bounding box of the ink. Raises ImageInputError when there is none."""
    rows, cols = np.nonzero(grey > INK)
    if len(rows) == 0:
        raise ImageInputError("There is nothing drawn: the image is blank. Draw a stroke or upload a picture.")
    return slice(rows.min(), rows.max() + 1), slice(cols.min(), cols.max() + 1)


def _fit(patch: np.ndarray, side: int) -> np.ndarray:
    """Resize so the longer side is ``side`` pixels, aspect kept, anti-aliased (PIL's Lanczos)."""
    from PIL import Image

    h, w = patch.shape
    scale = side / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    resized = Image.fromarray(patch.astype(np.float32), mode="F").resize(size, Image.Resampling.LANCZOS)
    return np.clip(np.asarray(resized, dtype=np.float64), 0, 1)


def _place(patch: np.ndarray, size: int, centre: tuple[float, float]) -> np.ndarray:
    """Put ``patch`` in a size × size field so that its point ``centre`` (row, col) lands on the
    field's centre, shifted by whole pixels; what falls outside is cut off."""
    out = np.zeros((size, size))
    top, left = round(size / 2 - centre[0]), round(size / 2 - centre[1])
    h, w = patch.shape
    r0, c0 = max(top, 0), max(left, 0)
    r1, c1 = min(top + h, size), min(left + w, size)
    out[r0:r1, c0:c1] = patch[r0 - top:r1 - top, c0 - left:c1 - left]
    return out


def centre_of_mass(grey: np.ndarray) -> tuple[float, float]:
    """(row, col) of the intensity-weighted mean pixel position (pixel centres at i + 0.5)."""
    from scipy import ndimage

    r, c = ndimage.center_of_mass(grey)
    return float(r) + 0.5, float(c) + 0.5


def mnist_style(grey: np.ndarray) -> np.ndarray:
    """MNIST's recipe: ink box fitted into 20 × 20, centre of mass at the centre of 28 × 28."""
    rows, cols = ink_box(grey)
    patch = _fit(grey[rows, cols], 20)
    return _place(patch, 28, centre_of_mass(patch))


def fashion_style(grey: np.ndarray) -> np.ndarray:
    """Fashion-MNIST's recipe: the object's box, longer side resized to 28, box centred."""
    rows, cols = ink_box(grey)
    patch = _fit(grey[rows, cols], 28)
    return _place(patch, 28, (patch.shape[0] / 2, patch.shape[1] / 2))


def digits_style(grey: np.ndarray) -> np.ndarray:
    """optdigits' recipe: the digit fitted into a 32 × 32 bitmap (ink above ½), box centred,
    then the ink pixels of each 4 × 4 block counted (0 to 16) and divided by 16."""
    rows, cols = ink_box(grey)
    patch = _fit(grey[rows, cols], 32)
    bitmap = (_place(patch, 32, (patch.shape[0] / 2, patch.shape[1] / 2)) > 0.5).astype(np.float64)
    return bitmap.reshape(8, 4, 8, 4).sum(axis=(1, 3)) / 16.0


RECIPES = {"mnist": mnist_style, "fashion-mnist": fashion_style, "digits": digits_style}
RECIPE_SIZE = {"mnist": (28, 28), "fashion-mnist": (28, 28), "digits": (8, 8)}
RECIPE_TEXT = {
    "mnist": "as MNIST's digits were made: the ink's bounding box scaled into 20 × 20 pixels (aspect kept, "
             "anti-aliased), then placed in 28 × 28 with its centre of mass at the centre (LeCun et al. 1998)",
    "fashion-mnist": "as Fashion-MNIST's images were made: the object's bounding box, its longer side resized "
                     "to 28 pixels, centred in 28 × 28 (Xiao et al. 2017)",
    "digits": "as scikit-learn's 8 × 8 digits were made: the digit fitted into a 32 × 32 bitmap, then the ink "
              "pixels of each 4 × 4 block counted, 0 to 16 (UCI optdigits)",
}


def photo(image: np.ndarray, h: int, w: int) -> np.ndarray:
    """(H', W', 3) float in [0, 1] -> (3, h, w): the largest centred crop of the target's aspect,
    resized with antialiasing (PIL), colours kept: how a colour model's images are usually made."""
    from PIL import Image

    a = np.asarray(image, dtype=np.float64)[..., :3]
    rows, cols = a.shape[:2]
    scale = min(rows / h, cols / w)
    ch, cw = max(1, round(h * scale)), max(1, round(w * scale))
    top, left = (rows - ch) // 2, (cols - cw) // 2
    crop = Image.fromarray((a[top:top + ch, left:left + cw] * 255).round().astype(np.uint8))
    return np.asarray(crop.resize((w, h), Image.LANCZOS), dtype=np.float32).transpose(2, 0, 1) / 255.0


def prepare_for(dataset: str, image: np.ndarray, image_shape: tuple[int, int, int]) -> tuple[torch.Tensor, str]:
    """An image (see to_grey) as a model of ``dataset`` with inputs ``image_shape`` (C, H, W)
    takes it: (C, H, W) float32 in [0, 1], and a sentence saying how it was made.

    A colour picture (H, W, 3) for a colour model keeps its colours (``photo``). Data sets without
    a recipe of their own (a folder of images) get the ink box resized to (H, W) and centred.
    Raises ImageInputError for a blank image or an unusable array."""
    c, h, w = image_shape
    if c == 3 and np.ndim(image) == 3 and np.shape(image)[2] == 3:
        return (torch.from_numpy(photo(image, h, w)),
                f"in colour, its largest centred {h}:{w} crop resized to {h} × {w} (no inversion, no ink box)")
    grey = light_on_dark(to_grey(image))
    recipe = RECIPES.get(dataset)
    if recipe is not None and RECIPE_SIZE[dataset] == (h, w):
        out, text = recipe(grey), RECIPE_TEXT[dataset]
    else:
        rows, cols = ink_box(grey)
        patch = _fit(grey[rows, cols], min(h, w))
        out = _place(patch, max(h, w), (patch.shape[0] / 2, patch.shape[1] / 2))[:h, :w]
        text = f"its ink's bounding box resized to fit {h} × {w} and centred (this data set has no recipe of its own)"
    return torch.tensor(out, dtype=torch.float32).expand(c, h, w).clone(), text


def read_image(data: bytes, name: str = "the upload", colour: bool = False) -> np.ndarray:
    """Decode uploaded bytes (PNG, JPEG, …, anything PIL reads) to (H, W) float in [0, 1] grey,
    or with ``colour`` and a picture that has colour, (H, W, 3) RGB (transparency over white).
    Raises ImageInputError when the file is too large or not an image."""
    from PIL import Image, UnidentifiedImageError

    if len(data) > MAX_UPLOAD_BYTES:
        raise ImageInputError(f"{name} is {len(data) / 2**20:.1f} MB; an image of at most "
                              f"{MAX_UPLOAD_BYTES // 2**20} MB is enough (the model sees 28 × 28 pixels).")
    try:
        with Image.open(io.BytesIO(data)) as img:
            if img.width * img.height > MAX_UPLOAD_PIXELS:
                raise ImageInputError(f"{name} is {img.width} × {img.height} pixels; at most 4096 × 4096, please.")
            rgba = np.asarray(img.convert("RGBA"), dtype=np.float64) / 255.0
            if colour and np.ptp(rgba[..., :3], axis=2).max(initial=0) > 2 / 255:  # channels differ: colour
                alpha = rgba[..., 3:]
                return rgba[..., :3] * alpha + (1 - alpha)
            img = img.convert("LA")  # grey with alpha: transparency stays background
            a = np.asarray(img, dtype=np.float64) / 255.0
    except UnidentifiedImageError:  # PIL's message names a BytesIO object, which says nothing to a person
        raise ImageInputError(f"{name} is not a picture this page can read: PNG or JPEG, please.") from None
    except (OSError, Image.DecompressionBombError) as exc:  # a damaged file: PIL says what is wrong
        raise ImageInputError(f"{name} cannot be read as a picture ({exc}); PNG or JPEG, please.") from None
    grey, alpha = a[..., 0], a[..., 1]
    # Transparent pixels become background: white paper under dark ink, black under light ink.
    seen = grey[alpha > 0.5]
    paper = 1.0 if len(seen) and np.median(seen) < 0.5 else 0.0
    return grey * alpha + paper * (1 - alpha)
