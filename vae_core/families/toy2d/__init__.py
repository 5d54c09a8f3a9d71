"""The 2-D lab's VAE: 2-D data, a 1-D or 2-D latent, trained live in the page (never bundled)."""
