"""What a static page holds of one bundle, as one JSON-ready dict: the decoder packed for the page
(explorer/page_decoder.py), a few probe images with their latents, D and R, the map of their
posterior means, a pool of second-stage or PixelCNN samples where the page cannot draw them
itself, the model card's figures, and the sections' words (explorer/texts.py) with their
equations as MathML, which browsers draw with no script and no font to fetch."""
from __future__ import annotations

import base64
import html
import re
from typing import Any

import numpy as np
import torch
from latex2mathml.converter import convert

from explorer import figures, page_decoder, state, texts
from vae_core import Bundle, analysis, maps
from vae_core.family import CODEBOOK, GAUSSIAN_POSTERIOR, SECOND_STAGE

POOL = 64  # second-stage codes or PixelCNN code grids drawn at export, for "New samples"


class CannotExport(Exception):
    """This bundle cannot become a static page; the message says why in one sentence."""


def kind(bundle: Bundle) -> str:
    """"vq", "two_stage" or "gaussian": which sections the page shows."""
    provides = bundle.model.provides
    if CODEBOOK in provides:
        return "vq"
    if GAUSSIAN_POSTERIOR not in provides:
        raise CannotExport(f"{bundle.name} is a {bundle.model.title}: the page shows Gaussian VAEs, "
                           "two-stage VAEs and VQ-VAEs")
    return "two_stage" if SECOND_STAGE in provides else "gaussian"


def markdown_html(text: str) -> str:
    """The leads' Markdown (``**bold**``, ``*italic*``) as HTML, everything else escaped."""
    text = html.escape(text, quote=False)
    text = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", text)
    return re.sub(r"\*(.+?)\*", r"<em>\1</em>", text)


def section(name: str, **fields) -> dict[str, Any]:
    """One section's title, lead (HTML) and equations (MathML), from explorer/texts.py."""
    spec = texts.SECTIONS[name]
    return {"title": spec.title, "lead": markdown_html(texts.lead(name, **fields)),
            # U+29F5, what \setminus becomes, is in few fonts; U+2216, the set minus, is in most.
            "equations": [convert(e, display="block").replace("&#x029F5;", "&#x02216;") for e in spec.equations]}


def _b64(array: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(array).tobytes()).decode("ascii")


def _rounded(array, digits: int) -> list:
    return np.round(np.asarray(array, dtype=np.float64), digits).tolist()


def _card(bundle: Bundle) -> dict[str, Any]:
    """The model card's figures with their units, and where they come from."""
    m = bundle.metrics or {}
    ll = m.get("log_likelihood") or {}
    figures = [("ELBO", m.get("elbo")), ("D, reconstruction", m.get("reconstruction")),
               (f"R = {bundle.model.rate_name}", m.get("kl"))]
    if ll:
        se = ll.get("standard_error")
        figures.append((f"L_{ll['k']}, importance-weighted bound" + (f" (± {se:.2f})" if se else ""), ll["estimate"]))
    rows = [{"name": name, "value": round(float(value), 2)} for name, value in figures if value is not None]
    frechet = m.get("frechet_distance") or {}
    return {
        "figures": rows, "units": "nats per image (summed over pixels and latent dimensions, averaged over images)",
        "split": m.get("split", "test"), "n_images": m.get("n_images"), "binarization": m.get("binarization"),
        "active_units": m.get("active_units"), "latent_dim": m.get("latent_dim"),
        "frechet": {k: round(float(v), 2) for k, v in frechet.items() if k.endswith("samples") or k == "reconstructions"},
        "frechet_note": frechet.get("features"),
        "command": bundle.command, "created": bundle.created, "version": bundle.package_version,
        "epochs": m.get("epochs"), "wall_time_min": round(m["wall_time_s"] / 60) if m.get("wall_time_s") else None,
        "device": m.get("device"),
    }


def _vector_latent(bundle: Bundle, arrays: dict, n: int) -> dict[str, Any]:
    """Posterior means, KL per dimension, the map and, for a two-stage VAE, a pool of its codes."""
    mu = arrays["mu"][:n]
    kl_mean = arrays["kl_per_dim"].mean(0)
    dim = mu.shape[1]
    if dim == 2:
        coords, axes, method = mu, ("z0 (latent units)", "z1 (latent units)"), "z itself (a 2-D latent)"
    else:
        proj = analysis.project(mu, "pca")
        coords, axes, method = proj.coords, proj.axis_titles, "PCA"
    out = {"mu": _rounded(mu, 4), "kl_mean": _rounded(kl_mean, 4),
           "order": analysis.dimensions_by_kl(torch.tensor(kl_mean)),
           "map": {"coords": _rounded(coords, 4), "axes": list(axes), "method": method}}
    if dim > 2:  # the PCA map's plane in latent space: a point (a, b) is z = mean + a·u1 + b·u2
        mean, basis, _ = maps.pca_plane(mu)
        out["map"]["plane"] = {"origin": _rounded(mean, 5), "basis": _rounded(basis, 5)}
    out["manifold"] = _manifold(bundle, out["order"], dim)
    if SECOND_STAGE in bundle.model.provides:
        gen = torch.Generator().manual_seed(0)
        with torch.no_grad():
            out["stage2_pool"] = _rounded(bundle.model.sample(POOL, temperature=1.0, generator=gen), 4)
    return out


def _manifold(bundle: Bundle, order: list[int], dim: int, size: int = 15) -> dict[str, Any]:
    """The manifold grid over the two dimensions of largest KL, the others at 0: its picture
    (the pad's background, drawn by torch here) and the quantile table the pad's cursor reads,
    as the explorer's Manifold grid view has them."""
    i, j = order[0], order[1 % dim]
    images, _ = analysis.manifold_grid(bundle.model, torch.zeros(dim), (i, j), size)
    cells = torch.linspace(0, 1, 201) * size - 0.5  # the cursor's place in cell units
    p = (0.05 + cells / (size - 1) * 0.9).clamp(0.005, 0.995)  # the grid's quantiles, continued past its edges
    picture = figures.png_bytes(figures.to_uint8_grid(images.numpy(), scale=1))
    return {"dims": [i, j], "size": size, "values": _rounded(torch.distributions.Normal(0.0, 1.0).icdf(p), 4),
            "background": "data:image/png;base64," + base64.b64encode(picture).decode("ascii")}


def _codes(bundle: Bundle, arrays: dict, n: int) -> dict[str, Any]:
    """A VQ-VAE's code grids per image, a pool of PixelCNN samples and each code's use."""
    codes = arrays["mu"].astype(np.int64)
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        pool = bundle.model.sample(POOL, temperature=1.0, generator=gen)
    usage = np.bincount(codes.ravel(), minlength=bundle.model_config.codebook_size)
    return {"codes": codes[:n].tolist(), "prior_pool": pool.reshape(POOL, -1).tolist(),
            "by_use": [int(k) for k in np.argsort(usage, kind="stable")[::-1]]}


def bundle_content(bundle: Bundle, n_images: int = 300) -> dict[str, Any]:
    """Everything the page shows of ``bundle``. ``n_images`` probe images go with it (their
    thumbnails are most of its bytes after the decoder). Raises CannotExport, and
    page_decoder.Unsupported when the page cannot run the decoder."""
    family = kind(bundle)
    decoder = page_decoder.export(bundle.model)
    arrays = state.probe_arrays_of(bundle)
    n = min(n_images, len(arrays["labels"]))
    grey = bundle.probe_images[:n].numpy().astype(np.uint8)  # what a person recognises, binarized or not
    dim = arrays["mu"].shape[1]
    content: dict[str, Any] = {
        "name": bundle.name, "family": family, "title": bundle.model.title, "dataset": bundle.dataset,
        "image_shape": list(bundle.model_config.image_shape), "latent_shape": list(bundle.model.latent_shape),
        "likelihood": bundle.model_config.likelihood,
        "decoder": {"spec": decoder.spec, "weights": decoder.weights, "dtype": decoder.dtype,
                    "digest": decoder.digest, "nbytes": decoder.nbytes},
        "images": _b64(grey), "labels": arrays["labels"][:n].tolist(), "classes": list(bundle.classes),
        "D": _rounded(arrays["reconstruction"][:n], 2), "R": _rounded(arrays["kl"][:n], 2),
        "card": _card(bundle),
    }
    names = ["model_card", "reconstructions"]
    if family == "vq":
        content.update(_codes(bundle, arrays, n))
        content["codebook_size"] = int(bundle.model_config.codebook_size)
        names = ["model_card_point", "reconstructions_vq", "generation_vq", "code_edit"]
    else:
        content.update(_vector_latent(bundle, arrays, n))
        names += ["traversals", "manifold", "interpolation", "latent_map", "generation"]
        if family == "two_stage":
            names.append("generation_two_stage")
    content["sections"] = {name: section(name, dim=dim) for name in names}
    return content
