"""A bundle as a static web page: ``vae-export-site BUNDLE [BUNDLE ...] --out DIR`` (and the model
card's download button) writes HTML, the page-side decoder, the decoder's weights and a few
probe images, which any static host serves to a class with no Python behind it (docs/site.md).

    from explorer.site.export import export_site
    sizes = export_site(["checkpoints/mnist-conv-z16", "checkpoints/mnist-vq"], "site")

Nothing is imported here, so the command line can quiet Streamlit's logging before the
explorer's modules load.
"""
