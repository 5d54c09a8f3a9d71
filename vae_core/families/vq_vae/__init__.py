"""VQ-VAE (van den Oord et al. 2017): a grid of codes from a learned codebook, and a PixelCNN
prior over the codes."""
from vae_core.families.vq_vae import model  # noqa: F401  (registers the family "vq-vae")
