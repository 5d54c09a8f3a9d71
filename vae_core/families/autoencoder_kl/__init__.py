"""diffusers' AutoencoderKL as a model family (docs/diffusers.md): ``model`` builds it with
diffusers, ``importer`` turns a folder written by ``save_pretrained`` (or a pipeline's ``vae/``)
into a bundle. Needs the "diffusers" extra: pip install 'vae-explorer[diffusers]'."""
from vae_core.families.autoencoder_kl.config import AutoencoderKLConfig  # noqa: F401
from vae_core.families.autoencoder_kl.model import AutoencoderKLVAE  # noqa: F401
