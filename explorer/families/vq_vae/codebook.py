"""A VQ-VAE's codebook: how much of it is used, where its vectors lie, what each code draws."""
import numpy as np
import streamlit as st
import torch

from explorer import capabilities, figures
from explorer.families.vq_vae import codes_cache as vq
from explorer.families.vq_vae import figures as vq_figures
from vae_core import analysis
from vae_core.families.vq_vae.evaluation import codebook_usage

bundle = capabilities.require(capabilities.CODEBOOK)
k_size, (h, w) = bundle.model_config.codebook_size, bundle.model.latent_shape
counts = vq.counts(bundle)
usage = codebook_usage(torch.tensor(vq.codes(bundle)), k_size)

st.title("Codebook")
st.markdown(
    f"The K = {k_size} codebook vectors e_k (each of dimension {bundle.model_config.embedding_dim}) are the whole "
    "vocabulary of the latent. A code no image picks is wasted capacity; **codebook collapse**, few codes doing "
    "all the work, is the VQ-VAE's common failure. The **perplexity** exp H(p) of the codes' frequencies counts "
    "the codes in effective use: K when all are used equally, 1 when one code is."
    + (" This model's codebook is an exponential moving average of the vectors assigned to each code, and "
       f"codes unused for {bundle.model_config.restart_after} steps were restarted on a batch vector."
       if bundle.model_config.ema else ""))
st.latex(r"\text{perplexity} = \exp\Big(-\sum_k p_k \log p_k\Big),\qquad p_k = \frac{\#\{(x, i, j): k_{ij}(x) = k\}}"
         r"{N h w}")
test = (bundle.metrics or {}).get("codebook")
c = st.columns(3)
c[0].metric("codes used (probe images)", f"{usage['used']} of {k_size}", f"{usage['used_share']:.0%}", delta_color="off")
c[1].metric("perplexity (probe images)", f"{usage['perplexity']:.1f}")
c[2].metric("perplexity (test set)", f"{test['perplexity']:.1f}" if test else "—",
            help=f"{test['used']} of {k_size} codes used on the test split" if test else "no metrics.json yet")
st.plotly_chart(vq_figures.usage_bars(counts, usage["perplexity"]), key="codebook_usage")
st.caption(f"{len(vq.codes(bundle)):,} probe images × {h * w} cells. The dotted line is what each code would get "
           "if all were used equally.")

st.subheader("Where the codebook vectors lie")
method = st.radio("Projection", ["PCA", "t-SNE"], horizontal=True, key="codebook_method")
vectors = bundle.model.quantizer.codebook.detach().cpu().numpy()
proj = analysis.project(vectors, "pca" if method == "PCA" else "tsne")
st.plotly_chart(vq_figures.codebook_map(proj.coords, counts, proj.axis_titles), key="codebook_map")
st.caption("Each point is one codebook vector e_k, labelled with its index; size and colour: how often the probe "
           "images pick it. Vectors close together decode to similar strokes (see below).")

st.subheader("Each code, everywhere")
st.markdown("The whole grid filled with one code and decoded: the texture or stroke that code stands for, "
            "when every cell says the same. Most used codes first.")
order = np.argsort(counts)[::-1]
pictures = vq.everywhere(bundle)[order]
per_row = 16
pad = (-len(order)) % per_row
cells = np.concatenate([pictures, np.ones((pad, *pictures.shape[1:]), pictures.dtype)])
st.image(figures.to_uint8_grid(cells.reshape(-1, per_row, *pictures.shape[1:]), scale=2), output_format="PNG",
         caption="Reading order: " + ", ".join(f"{k}" for k in order[:48]) + ("…" if len(order) > 48 else ""))
