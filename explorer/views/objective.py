"""The objective's parts: KL per dimension, D against R per image, and a live beta slider."""
import math

import streamlit as st

from explorer import capabilities, figures, spatial, state, trained_objective, widgets, written_out
from vae_core.families.gaussian.evaluation import ACTIVE_THRESHOLD
from vae_core.families.gaussian.objectives import objective
from vae_core.family import GAUSSIAN_POSTERIOR, IMPORTANCE_WEIGHTED_BOUND

bundle = capabilities.require(GAUSSIAN_POSTERIOR, IMPORTANCE_WEIGHTED_BOUND)
arrays = state.probe(bundle)
recon, kl, labels = arrays["reconstruction"], arrays["kl"], arrays["labels"]
kl_mean = arrays["kl_per_dim"].mean(0)
active = arrays["active"]
trained_beta = float(bundle.train_config.beta)

st.title("β / KL versus reconstruction")
st.markdown(
    "The training loss is the **reconstruction term D** plus **β times the KL term R** (the rate). "
    "With β = 1 it is the negative ELBO; β > 1 presses q(z|x) towards the prior (fewer active units, "
    "blurrier reconstructions), β → 0 gives a plain autoencoder. For a Gaussian decoder with fixed σ, "
    "MSE + β·KL with β = 2σ² has the same optimum as the ELBO. All figures: nats per image, "
    f"averaged over the bundle's {len(recon):,} probe images.")
st.latex(r"\mathcal{L}_\beta(x) = D + \beta R = -\mathbb{E}_{q(z|x)}[\log p(x\mid z)] + "
         r"\beta\,\tfrac12\sum_j\left(\mu_j^2+\sigma_j^2-\log\sigma_j^2-1\right)")
trained_objective.show_iwae_note(bundle)

st.subheader("KL per latent dimension")
units = [spatial.unit_name(spatial.shape_of(bundle), j) for j in range(len(kl_mean))]
st.plotly_chart(figures.kl_per_dimension(kl_mean, active, units), key="kl_dims")
st.caption(f"{int(active.sum())} of {len(active)} active units: dimensions whose posterior mean varies "
           f"across images, Cov_x(μ_j) > {ACTIVE_THRESHOLD} (Burda et al. 2016). Trained with β = {trained_beta:g}.")
spatial.kl_section(bundle, kl_mean)  # a grid latent: the same KL as heat maps per channel and position

st.subheader("The objective as β moves")
widgets.start_at("beta", trained_beta, bundle.path)  # at the bundle's own β, unless a lesson step set one
beta = st.slider("β (weight of the KL term)", 0.0, max(10.0, trained_beta), step=0.1, key="beta")
d, r = float(recon.mean()), float(kl.mean())
tc = bundle.train_config
# The loss as this bundle was trained (its capacity C or free-bits floor λ), at the slider's β.
loss = float(objective(d, r, kl_mean, beta=beta, capacity=tc.capacity, free_bits=tc.free_bits))
penalty = ("β·|R − C|", f"capacity C = {tc.capacity:g} nats") if tc.capacity else (
    ("β·Σ max(R_j, λ)", f"free bits λ = {tc.free_bits:g} nats per dimension") if tc.free_bits else ("β·R", ""))
c = st.columns(5)
c[0].metric("D (nats/image)", f"{d:.2f}", help="reconstruction term, mean over the probe images")
c[1].metric("R = KL (nats/image)", f"{r:.2f}", help="KL term (rate), mean over the probe images")
c[2].metric(f"{penalty[0]} (nats/image)", f"{loss - d:.2f}", help="what the training loss adds to D"
            + (f", with the bundle's {penalty[1]}" if penalty[1] else ""))
c[3].metric(f"D + {penalty[0]} (nats/image)", f"{loss:.2f}", help="the training loss at this β")
c[4].metric("ELBO (nats/image)", f"{-(d + r):.2f}", help="ELBO = −(D + R); does not depend on β")
log_sigma = getattr(bundle.model.likelihood, "log_sigma", None)
if d < 0 and log_sigma is not None:  # a density, not a probability: D can be negative, the ELBO positive
    sigma = float(log_sigma.detach().exp())
    st.caption(f"D = {d:.2f} nats per image is below zero and the ELBO = {-(d + r):+.2f} above it, and nothing is "
               "wrong: this "
               "decoder is a Gaussian **density** on continuous pixels, and a density can exceed 1. With "
               f"σ = {sigma:.3f} its peak is 1/(σ√(2π)) = {1 / (sigma * (2 * math.pi) ** 0.5):.1f} per pixel, so "
               "log p(x|z) is positive wherever the reconstruction is close. A Bernoulli decoder's probabilities "
               "stay at most 1, so its D and −ELBO are always positive.")
st.plotly_chart(figures.objective_bar(d, r, beta), key="objective_bar")
st.caption("Moving β re-weights the same model's D and R; a model *trained* at another β would sit "
           "elsewhere on the rate–distortion plane.")

st.subheader("ELBO and the importance-weighted bound")
bounds = state.get_probe_bounds(bundle)
rows = [{"images": f"probe, first {bounds['n_images']}", "ELBO = L_1 (nats/image)": round(bounds["elbo"], 2),
         "L_k (nats/image)": round(bounds["log_likelihood"]["estimate"], 2), "k": bounds["log_likelihood"]["k"]}]
if bundle.metrics and "log_likelihood" in bundle.metrics:
    m = bundle.metrics
    rows.append({"images": f"test set, {m['n_images']:,} (metrics.json)", "ELBO = L_1 (nats/image)": round(m["elbo"], 2),
                 "L_k (nats/image)": round(m["log_likelihood"]["estimate"], 2), "k": m["log_likelihood"]["k"]})
st.dataframe(rows, hide_index=True)
st.caption("ELBO = L_1 ≤ L_k ≤ log p(x) (Burda et al. 2016): L_k − ELBO is a lower "
           "estimate of the gap KL(q(z|x) ‖ p(z|x)), how far the encoder is from the true posterior.")

written_out.section(bundle)

st.subheader("Reconstruction against KL, image by image")
st.plotly_chart(figures.reconstruction_vs_kl(recon[:2000], kl[:2000], labels[:2000], bundle.classes),
                key="recon_vs_kl")
st.caption("Dotted lines join points of equal ELBO (D + R = constant). Images up and to the left are "
           "poorly reconstructed with little information in z; down and to the right, well "
           "reconstructed at a high rate.")
