"""The two-stage VAE (Dai & Wipf 2019): a second VAE on the first one's codes, so that samples
follow the aggregate posterior q(z)."""
from vae_core.families.two_stage import model  # noqa: F401  (registers the family "two-stage")
