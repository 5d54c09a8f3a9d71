"""The 2-D lab: a tiny VAE on 2-D data, trained live in the page (vae_core.families.toy2d)."""
from explorer.pages import PageSpec

PAGES = [PageSpec("families/toy2d/lab.py", "2-D lab: train live", ":material/science:", "2-D lab", bundle_free=True)]
