"""The Gaussian VAE (Kingma & Welling 2014): diagonal-Gaussian posterior, N(0, I) prior, Bernoulli
or Gaussian decoder; the β-VAE objective and its variants; the importance-weighted bound."""
from vae_core.families.gaussian import model  # noqa: F401  (registers the family "vae")
