"""The aggregate posterior q(z) against the prior: why prior samples are worse than reconstructions."""
import streamlit as st
import torch

from explorer import aggregate_figures, capabilities, figures, spatial, state
from vae_core import aggregate, analysis
from vae_core.family import GAUSSIAN_POSTERIOR, SECOND_STAGE

bundle = capabilities.require(GAUSSIAN_POSTERIOR)
arrays = state.probe(bundle)
mu, logvar = torch.tensor(arrays["mu"]), torch.tensor(arrays["logvar"])
kl_mean, order = state.kl_by_dimension(bundle)
names = [spatial.unit_name(spatial.shape_of(bundle), j) for j in range(mu.shape[1])]  # z[c, row, column] in a grid

st.title("Aggregate posterior against the prior")
st.markdown(
    "Training pulls each q(z|x) towards the prior, but what sampling needs is their **average over the "
    "data**, the aggregate posterior q(z), to *be* the prior. Where q(z) misses N(0, I), a prior sample "
    "lands where the decoder never looked, and the image comes out blurred or mixed: why the Generation "
    "view looks worse than the Reconstructions (Dai & Wipf 2019, sec. 4). A **two-stage VAE** learns q(z) "
    "with a second VAE and samples from that instead.")
st.latex(r"q(z) = \frac1N\sum_{n=1}^N q(z\mid x_n) \;\overset{?}{=}\; p(z) = \mathcal N(0, I)")

pooled = aggregate.pooled_codes(mu, logvar, per_image=1, seed=0)
distance = aggregate.moment_kl_to_prior(pooled)
c = st.columns(3)
c[0].metric("KL(N(m, S) ‖ N(0, I)) of q(z)'s moments (nats)", f"{distance:.2f}",
            help="the Gaussian with q(z)'s mean m and covariance S against the prior; 0 when they share "
                 "their first two moments")
eig = aggregate.mean_covariance_eigenvalues(mu).numpy()
c[1].metric("directions used: eigenvalues of Cov_x(μ) > 0.01", f"{int((eig > 0.01).sum())} of {len(eig)}")
c[2].metric("probe images pooled", f"{len(mu):,}")

st.subheader("Each dimension: pooled z against N(0, 1)")
shown = order[:min(8, len(order))]
st.plotly_chart(aggregate_figures.marginals(pooled.numpy(), shown, [f"{names[j]} · KL {kl_mean[j]:.2f} nats" for j in
                                                                     range(len(names))]), key="agg_marginals")
st.caption("The dimensions with the largest average KL first. A histogram narrower or shifted against the red "
           "curve, or with several humps, is where prior samples leave the data.")

st.subheader("The leading pair of dimensions: where the holes are")
if len(order) < 2:
    st.info("This model has a one-dimensional latent space; the pair plot needs two dimensions.")
    st.stop()
dims = (order[0], order[1])
prior_z, log_q = aggregate.prior_samples_with_density(mu, logvar, list(dims), 300, seed=1)
fig = aggregate_figures.holes(pooled.numpy(), prior_z.numpy(), log_q.numpy(), dims, (names[dims[0]], names[dims[1]]))
left, right = st.columns([3, 1])
event = left.plotly_chart(fig, key="agg_holes", on_select="rerun", selection_mode="points")
clicked = [p for p in (event.selection.points if event else []) if p.get("curve_number") == 1]
pick = int(fig.data[1].customdata[clicked[0]["point_index"]][0]) if clicked else int(torch.argmin(log_q))
image = analysis.decode(bundle.model, prior_z[pick])
right.image(figures.to_uint8_grid(image[None, None].numpy(), scale=6), output_format="PNG",
            caption=f"prior sample {pick} decoded: log q = {float(log_q[pick]):.2f} nats "
                    + ("(clicked)" if clicked else "(the deepest hole; click another point)"))
right.caption(f"log q of all 300: median {float(log_q.median()):.2f}, lowest {float(log_q.min()):.2f} nats. "
              "Dark points sit where few codes are; their images are the poor samples.")
st.caption(f"Grey: one z ~ q(z|x) per probe image (z{dims[0]}, z{dims[1]}: the two dimensions with the most "
           "KL). Coloured: 300 prior samples, coloured by the log-density of q(z)'s marginal on this pair "
           "(a mixture of the probe images' posteriors), nats.")

st.subheader("How many dimensions the encoder uses")
st.plotly_chart(aggregate_figures.eigenvalues(eig), key="agg_eig")
st.caption("Eigenvalues of the covariance of the posterior means over the probe images. Dai & Wipf show that "
           "with a learned decoder γ the superfluous dimensions collapse (eigenvalues near 0, grey) while the "
           "used ones carry the data manifold.")

if SECOND_STAGE in bundle.model.provides:
    stage2 = bundle.model.stage2
    st.subheader("Stage 2: its latent u should look like the prior")
    with torch.no_grad():
        mu_u, logvar_u = stage2.encode(pooled)
    pooled_u = aggregate.pooled_codes(mu_u, logvar_u, seed=0)
    st.metric("KL(N(m, S) ‖ N(0, I)) of q(u)'s moments (nats)", f"{aggregate.moment_kl_to_prior(pooled_u):.2f}",
              help="the same distance for the second stage's codes u of the pooled z; near 0 when stage 2 "
                   "has turned q(z) into the prior it samples from")
    st.plotly_chart(aggregate_figures.marginals(pooled_u.numpy(), shown, [f"u{j}" for j in range(len(names))],
                                                label="q(u_j): pooled u ~ q(u|z), stage 2's codes"),
                    key="agg_u")
    st.caption(f"Compare with q(z) above: {distance:.2f} nats for z.")
