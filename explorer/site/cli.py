"""The command line ``vae-export-site BUNDLE [BUNDLE ...] --out DIR`` (``python -m
explorer.site.cli``): a folder of static files that any web server, or a course site, serves to a
class with no Python behind it. Prints each page's size; exits 1, with one sentence, on a bundle
or folder it cannot use."""
from __future__ import annotations

import argparse
import logging
import sys

from vae_core.cli.options import Parser


def _parser() -> argparse.ArgumentParser:
    p = Parser(prog="vae-export-site",
               description="Write bundles as a static web site: traversals, the manifold pad, interpolation, the "
                           "latent map, samples and reconstructions, all decoded in the reader's browser. Serve the "
                           "folder from any static host (python -m http.server, GitHub Pages, a course site).")
    p.add_argument("bundles", nargs="+", help="bundle folders; two or more members of one β family also get a β page")
    p.add_argument("--out", required=True, help="folder to write (new, empty, or a site written here before)")
    p.add_argument("--images", type=int, default=300,
                   help="probe images per bundle, for reconstructions, the map and interpolation (default: %(default)s)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if not 10 <= args.images <= 2000:  # a map of fewer points shows nothing; more only costs bytes
        _parser().error("--images must be between 10 and 2000")
    logging.disable(logging.WARNING)  # Streamlit's "No runtime found": no server is needed here
    from explorer.site.export import CannotExport, export_site

    try:
        sizes = export_site(args.bundles, args.out, n_images=args.images)
    except CannotExport as exc:
        print(f"vae-export-site: {exc}", file=sys.stderr)
        return 1
    for name, size in sorted(sizes.items()):
        print(f"{name}: {size / 1e6:.2f} MB")
    print(f"total {sum(sizes.values()) / 1e6:.2f} MB in {args.out}; open {args.out}/index.html, or serve it: "
          f"python -m http.server --directory {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
