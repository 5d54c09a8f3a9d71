"""One folder per model family, each registered with the contract of ``vae_core.family`` when
imported: ``gaussian`` (the VAE of Kingma & Welling 2014, β-VAE and its variants),
``two_stage`` (Dai & Wipf 2019), ``vq_vae`` (van den Oord et al. 2017), and ``toy2d`` (the 2-D
lab's tiny model, trained in the page, never bundled). docs/adding-a-family.md adds one."""
