"""Every page of the explorer and what it needs of the open model, so that the navigation
lists only the pages that apply to it (app.py) and says in one line what other model
families would add.

A page needs capabilities (``vae_core.family``'s flags), never a family by name: a new family
that provides a Gaussian posterior gets the latent map, traversals and the rest with no edit
here. A family's own pages live in its folder, ``explorer/families/<name>/``, and are listed
by ``explorer.families.PAGES``.
"""
from __future__ import annotations

from dataclasses import dataclass

from vae_core.family import CODEBOOK, GAUSSIAN_POSTERIOR, IMPORTANCE_WEIGHTED_BOUND, PRIOR_SAMPLES


@dataclass(frozen=True)
class PageSpec:
    """One page. ``path`` is relative to explorer/ (Streamlit resolves it from app.py); its
    address is the file's name without .py. ``needs``: capabilities the model must provide,
    all of them; ``any_of``: at least one of these (a page that draws either kind of latent);
    ``bundle_free``: drawn with no bundle open (training, the 2-D lab, lessons);
    ``in_charge``: only for a session in charge of the server (explorer.serving: runs)."""

    path: str
    title: str
    icon: str
    section: str
    needs: frozenset[str] = frozenset()
    any_of: frozenset[str] = frozenset()
    bundle_free: bool = False
    default: bool = False
    in_charge: bool = False

    @property
    def address(self) -> str:
        return self.path.rsplit("/", 1)[-1].removesuffix(".py")

    def applies(self, provides: frozenset[str] | set[str]) -> bool:
        """Whether a model that provides ``provides`` has what this page shows."""
        return self.needs <= set(provides) and (not self.any_of or bool(self.any_of & set(provides)))


def _page(path: str, title: str, icon: str, section: str, **kw) -> PageSpec:
    return PageSpec(path, title, f":material/{icon}:", section, **kw)


TEACH, IMAGES, LATENT, OBJECTIVE, BETA, TRAINING = (
    "Teach a class", "Images", "Latent space", "Objective and model", "β experiments", "Training")
GAUSSIAN = frozenset({GAUSSIAN_POSTERIOR})

# The views every family shares, in the order of the navigation; a family's own pages are
# placed after the last page of their section (explorer.families).
SHARED = [
    _page("views/lessons.py", "Lessons", "school", TEACH, bundle_free=True),
    _page("views/own_image.py", "Your own image", "draw", TEACH),
    # A β family is a sweep of the KL weight of a Gaussian posterior (vae-sweep trains them).
    _page("views/beta_gesture.py", "β as one gesture", "swipe", TEACH, needs=GAUSSIAN),
    _page("views/reconstructions.py", "Reconstructions", "image", IMAGES, default=True),
    _page("views/posterior.py", "Posterior spread", "blur_on", IMAGES, needs=GAUSSIAN),
    _page("views/generation.py", "Generation", "auto_awesome", IMAGES, needs=frozenset({PRIOR_SAMPLES})),
    _page("views/latent_map.py", "Latent map", "scatter_plot", LATENT, needs=GAUSSIAN),
    _page("views/traversals.py", "Latent traversals", "tune", LATENT, needs=GAUSSIAN),
    _page("views/manifold.py", "Manifold grid", "grid_on", LATENT, needs=GAUSSIAN),
    _page("views/interpolation.py", "Interpolation", "linear_scale", LATENT,
          any_of=frozenset({GAUSSIAN_POSTERIOR, CODEBOOK})),
    _page("views/aggregate.py", "Aggregate posterior", "bubble_chart", LATENT, needs=GAUSSIAN),
    _page("views/objective.py", "β / KL vs reconstruction", "balance", OBJECTIVE,
          needs=frozenset({GAUSSIAN_POSTERIOR, IMPORTANCE_WEIGHTED_BOUND})),
    _page("views/model_card.py", "Model card", "badge", OBJECTIVE),
    _page("views/rate_distortion.py", "Rate–distortion plane", "show_chart", BETA, needs=GAUSSIAN),
    _page("views/compare.py", "Compare two bundles", "compare", BETA),
    _page("views/train.py", "Start a run", "play_circle", TRAINING, bundle_free=True, in_charge=True),
    _page("views/run_live.py", "Watch a run", "monitoring", TRAINING, bundle_free=True, in_charge=True),
]


def all_pages() -> list[PageSpec]:
    """The shared pages with every family folder's pages, each family's after the last page of
    its section (or at the end, in a section of its own)."""
    from explorer.families import PAGES as FAMILY_PAGES  # the family folders import views' helpers

    pages = list(SHARED)
    for page in FAMILY_PAGES:
        # After the last page of its section; a section of its own goes after the latent-space
        # pages (a family's latent), or before training when it needs no bundle (the 2-D lab).
        anchor = page.section if any(p.section == page.section for p in pages) else \
            TEACH if page.bundle_free else LATENT
        last = max(i for i, p in enumerate(pages) if p.section == anchor)
        if page.bundle_free and anchor == TEACH:
            last = min(i for i, p in enumerate(pages) if p.section == TRAINING) - 1
        pages.insert(last + 1, page)
    return pages


def addresses() -> set[str]:
    """Every page's address: what a lesson step may name as its ``view``."""
    return {page.address for page in all_pages()}


def by_section(pages: list[PageSpec]) -> dict[str, list[PageSpec]]:
    out: dict[str, list[PageSpec]] = {}
    for page in pages:
        out.setdefault(page.section, []).append(page)
    return out


def missing_note(provides: frozenset[str], families: dict[str, type]) -> str:
    """One line naming what other model families would add to the navigation: for each
    registered family (name -> model class with ``title`` and ``provides``) the pages that
    apply to it and not to a model that provides ``provides``. Empty when none."""
    adds: dict[tuple[str, ...], list[str]] = {}  # the pages added -> the families that add them
    for cls in families.values():
        extra = tuple(p.title for p in all_pages()
                      if not p.bundle_free and p.applies(cls.provides) and not p.applies(provides))
        if extra:
            adds.setdefault(extra, []).append(f"a {cls.title}")
    parts = [f"{' or '.join(who)} adds {', '.join(extra)}" for extra, who in adds.items()]
    return ("Other model families have more pages: " + "; ".join(parts) + ".") if parts else ""
