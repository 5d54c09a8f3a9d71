"""Bundles in, a static site out: what the command line and the model card's button both call."""
from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from explorer import beta_families, gesture_figure, page_decoder, state
from explorer.site import write
from explorer.site.content import CannotExport, bundle_content
from vae_core import Bundle, BundleError, analysis, load_bundle

MAP_POINTS = 1000  # the β page's PCA map, as the explorer's β gesture draws it


def _load(path: str | Path) -> Bundle:
    try:
        return load_bundle(path)
    except BundleError as exc:
        raise CannotExport(f"{exc.path}: {exc.problem}") from exc


def beta_family(bundles: list[Bundle]) -> list[dict[str, Any]]:
    """The members of the first β family among ``bundles`` (two or more trained alike but for β),
    sorted by β, each with its gesture picture (PNG, base64); [] when there is none."""
    groups = [g for g in beta_families.families([b.path for b in bundles]) if len(g) > 1]
    if not groups:
        return []
    by_path = {Path(b.path): b for b in bundles}
    members = [by_path[Path(p)] for p in groups[0]]
    points = [beta_families.point(b) for b in members]
    family = (tuple(p.rate for p in points), tuple(p.distortion for p in points), tuple(p.beta for p in points))
    out = []
    for k, (bundle, p) in enumerate(zip(members, points)):
        arrays = state.probe_arrays_of(bundle)
        proj = analysis.project(arrays["mu"][:MAP_POINTS], "pca")
        png = gesture_figure.member_panels(bundle, arrays, proj, family, k)
        out.append({"name": bundle.name, "beta": p.beta, "D": p.distortion, "R": p.rate, "elbo": p.elbo,
                    "active_units": p.active_units, "latent_dim": p.latent_dim, "source": p.source,
                    "png": write.png_b64(png)})
    return out


def _check_out(out: Path) -> None:
    """A folder to write into: absent, empty, or a site this command wrote before (replaced)."""
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / write.ASSETS / "site.js").exists())):
        raise CannotExport(f"{out} exists and is not an earlier site; give --out a new or empty folder")


def export_site(paths: list[str | Path], out: str | Path, *, n_images: int = 300) -> dict[str, int]:
    """Writes the static site of the bundles at ``paths`` into the folder ``out``: one page per
    bundle, an index, and a β-family page where two or more members of one family are among
    them. ``n_images`` probe images go with each bundle. Returns the bytes written per page
    folder ("assets": the scripts every page shares).

    Raises:
        ValueError: ``n_images`` < 10.
        CannotExport: a bundle that does not load, a family or decoder the page cannot show,
            two bundles with one name, or an ``out`` that holds something else.
    """
    if n_images < 10:
        raise ValueError(f"n_images must be at least 10 (a map of fewer shows nothing), got {n_images}")
    out = Path(out)
    _check_out(out)
    bundles = [_load(p) for p in paths]
    names = [b.name for b in bundles]
    if set(names) & write.RESERVED:
        raise CannotExport(f"a bundle folder named {sorted(set(names) & write.RESERVED)[0]!r} would take the site's own "
                           "name; rename the folder")
    if len(set(names)) != len(names):
        raise CannotExport(f"two bundles are named alike ({', '.join(names)}): each needs its own folder name")
    contents = []
    for bundle in bundles:
        try:
            contents.append(bundle_content(bundle, n_images))
        except page_decoder.Unsupported as exc:
            raise CannotExport(f"{bundle.name}: the page cannot run its decoder: {exc}") from exc
    return write.write_site(contents, beta_family(bundles), out)


def site_zip(path: str | Path, *, n_images: int = 300) -> bytes:
    """One bundle's static site as a zip, its files under a folder named ``<bundle>-site``.
    Raises CannotExport."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / f"{Path(path).name}-site"
        export_site([path], folder, n_images=n_images)
        return write.zip_folder(folder)
