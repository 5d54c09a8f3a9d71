"""diffusers' AutoencoderKL: no pages of its own (its spatial latent is drawn by the shared views,
explorer.spatial); the model card says what its scaling factor is and where it applies."""
import streamlit as st


def model_card_note(bundle) -> None:
    m = bundle.model_config
    shift = f" after subtracting shift_factor = {m.shift_factor:g}" if m.shift_factor is not None else ""
    st.info(f"**scaling_factor = {m.scaling_factor:g}.** A latent diffusion model trained on this VAE works on "
            f"z × {m.scaling_factor:g}{shift}, which brings the latents to about unit variance. Every view here "
            "shows the VAE's own z, unscaled: the posterior q(z|x), the prior N(0, I) of R and the decoder all "
            f"read it as it is. **D assumes a Gaussian decoder with σ = {m.sigma:g}** (pixels in [0, 1]): the "
            "AutoencoderKL defines no likelihood (Stable Diffusion's trained on L1, LPIPS and a GAN loss, with a "
            "KL weight near 10⁻⁶), so its ELBO is a figure of this σ, not the literature's.")


def generation_note(bundle) -> None:
    st.info("These are z ~ N(0, T² I), the prior R is measured against, decoded. Stable Diffusion does not draw its "
            "VAE's latents this way: a diffusion model does, because that VAE trained with a KL weight near 10⁻⁶ and "
            "its latents are far from N(0, I) (scaled by scaling_factor for the diffusion model). A small one trained "
            "on the ELBO itself (β = 1, as this project's fashion-autoencoder-kl) gives images from its prior; the "
            "Aggregate posterior view shows how far its q(z) is from N(0, I).")


SECTIONS = {"model_card_note": model_card_note, "generation_note": generation_note}
