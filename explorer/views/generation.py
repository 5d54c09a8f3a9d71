"""Images from the prior: z ~ N(0, T² I), decoded as the mean or as a sample of p(x|z)."""
import numpy as np
import streamlit as st

from explorer import capabilities, families, texts, widgets
from vae_core import analysis
from vae_core.family import PRIOR_SAMPLES, SECOND_STAGE

bundle = capabilities.require(PRIOR_SAMPLES)
own = families.section(bundle, "generation")  # e.g. a VQ-VAE: codes from a PixelCNN, not z ~ N(0, T^2 I)
if own:
    own(bundle)
    st.stop()
likelihood = bundle.model_config.likelihood

texts.header("generation")
if note := families.section(bundle, "generation_note"):  # what its prior samples are (an AutoencoderKL's)
    note(bundle)

two_stage = SECOND_STAGE in bundle.model.provides
if two_stage:
    st.info("A two-stage VAE: these grids draw u ~ N(0, T²I) and take z through stage 2, so z follows the "
            "aggregate posterior q(z); stage 1's own samples, z ~ N(0, T²I), are compared with them below.")

c1, c2, c3, c4 = st.columns([2, 2, 2, 1])
temperature = c1.slider("Temperature T", 0.0, 2.0, 1.0, 0.1, key="gen_t")
show = c2.radio("Show", ["decoder mean E[x|z]", "sample x ~ p(x|z)", "both"], index=2, key="gen_show")
count = c3.select_slider("Images", [8, 16, 32, 64], value=32, key="gen_n")
if c4.button("New draw", key="gen_new", icon=":material/casino:"):
    st.session_state["gen_seed"] = st.session_state.get("gen_seed", 0) + 1
seed = st.session_state.get("gen_seed", 0)

means = analysis.prior_samples(bundle.model, count, temperature=temperature, seed=seed).numpy()
samples = analysis.prior_samples(bundle.model, count, temperature=temperature, seed=seed,
                                 sample_pixels=True).numpy()
per_row = 16 if count > 16 else count
grids = {"decoder mean E[x|z]": means, "sample x ~ p(x|z)": samples}
chosen = list(grids) if show == "both" else [show]
for name in chosen:
    images = grids[name].reshape(-1, per_row, *grids[name].shape[1:])
    widgets.picture_grid(images, name)
st.caption(f"{count} draws with seed {seed}; the same z in both grids, image for image. Decoder: {likelihood}"
           + (f", σ = {bundle.model_config.sigma:g}" if likelihood == "gaussian" else "") + ".")

if two_stage:  # the point of its second stage
    st.subheader("Stage 1 against stage 2, the same seed")
    st.markdown(texts.lead("generation_two_stage"))
    st.latex(texts.SECTIONS["generation_two_stage"].equations[0])
    frechet = (bundle.metrics or {}).get("frechet_distance", {})
    left, right = st.columns(2)
    for column, stage1, name, key in ((left, True, "stage 1: z ~ N(0, I)", "stage1_samples"),
                                      (right, False, "stage 2: z from u ~ N(0, I)", "stage2_samples")):
        grid = analysis.prior_samples(bundle.model, 16, temperature=temperature, seed=seed, stage1=stage1).numpy()
        widgets.picture_grid(grid.reshape(2, 8, *grid.shape[1:]), name, container=column)
        if key in frechet:
            column.metric("Fréchet distance to the test images", f"{frechet[key]:.2f}",
                          help=f"{frechet['n_images']:,} samples against as many test images; {frechet['features']}")
    st.caption("Stage 2 samples codes where the data put them (q(z)), stage 1 where the prior does; see the "
               "Aggregate posterior view. "
               + (f"Floor (training against test images): {frechet['test_vs_train']:.2f}; reconstructions "
                  f"{frechet['reconstructions']:.2f}. {frechet['features']}." if frechet else
                  "No Fréchet distances yet: vae-evaluate BUNDLE --frechet-only."))
both = np.concatenate([grids[n].reshape(-1, per_row, *means.shape[1:]) for n in chosen])
widgets.download_png(both, f"{bundle.name}-samples-T{temperature:g}.png", key="gen_png")
