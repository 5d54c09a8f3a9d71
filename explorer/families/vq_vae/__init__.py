"""VQ-VAE pages (van den Oord et al. 2017): the code grids, the codebook, editing the codes;
and its drawing of the shared views whose Gaussian version does not apply (generation from
the PixelCNN prior, interpolation through the quantizer, the comparison, the model card)."""
from explorer.families.vq_vae import sections
from explorer.pages import PageSpec
from vae_core.family import CODEBOOK

_CODES = frozenset({CODEBOOK})
_SECTION = "Discrete latents (VQ-VAE)"
PAGES = [
    PageSpec("families/vq_vae/codes.py", "Code grids", ":material/grid_view:", _SECTION, needs=_CODES),
    PageSpec("families/vq_vae/codebook.py", "Codebook", ":material/dataset:", _SECTION, needs=_CODES),
    PageSpec("families/vq_vae/code_edit.py", "Edit the codes", ":material/edit:", _SECTION, needs=_CODES),
]


# Its drawing of shared views: a view asks explorer.families.section(bundle, name).
SECTIONS = {"generation": sections.generation, "interpolation": sections.interpolation,
            "model_card_metrics": sections.model_card_metrics, "sidebar_metrics": sections.sidebar_metrics,
            "training_curves": sections.training_curves}
