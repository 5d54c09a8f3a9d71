"""The explorer's side of each model family: one folder each, holding the pages only that
family has and the sections it draws inside shared views where its latent differs.

A folder's ``__init__`` sets ``PAGES`` (``explorer.pages.PageSpec``s, listed where the open
model provides what they need) and ``SECTIONS`` (view name -> function of the bundle that
draws that view for this family). Shared views ask :func:`section`, never the family's name
or its attributes. Adding a family: a folder here and one line in ``FOLDERS``
(docs/adding-a-family.md).
"""
from __future__ import annotations

from typing import Callable

from explorer.families import autoencoder_kl, onnx, toy2d, vq_vae

# vae_core family name -> its explorer folder (the 2-D lab's toy model is not a bundle family).
FOLDERS = {"vq-vae": vq_vae, "toy2d": toy2d, "autoencoder-kl": autoencoder_kl, "onnx": onnx}  # the two-stage VAE needs no pages of its own
PAGES = [page for folder in FOLDERS.values() for page in getattr(folder, "PAGES", [])]


def section(bundle, view: str) -> Callable | None:
    """The open model's family's own drawing of ``view`` (e.g. "generation"), or None where
    the shared view draws it. Called as ``section(bundle)``."""
    folder = FOLDERS.get(bundle.model.family)
    return getattr(folder, "SECTIONS", {}).get(view) if folder else None
