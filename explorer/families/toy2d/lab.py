"""The 2-D lab: a VAE trained live on points in the plane, every distribution drawn."""
import numpy as np
import streamlit as st
import torch

from explorer import live_decode
from explorer.families.toy2d import figures as lab_figures
from explorer.families.toy2d.lab_run import MAX_STEPS, LabRun
from explorer.page_decoder import export_network
from vae_core.families.toy2d import model as lab2d

OWN = "my own points (click to add)"
CANVAS = np.stack(np.meshgrid(np.linspace(-2, 2, 41), np.linspace(-2, 2, 41)), -1).reshape(-1, 2).astype(np.float32)

st.title("2-D lab")
st.markdown(
    "A VAE on points x in the plane, where every distribution can be drawn. The seed notes' figure 2 pushes "
    "samples of N(0, I) through g(z) = z/10 + z/‖z‖ to make a **ring**: a decoder is such a g, learned. Press "
    "**Play** and watch the decoder bend the latent grid onto the data (left), while the encoder's posteriors "
    "gather into the aggregate posterior q(z) (right), which should look like the prior. **Click a point** to see "
    "its q(z|x) as an ellipse and its reconstruction; then, paused, its log p(x) four ways below. β and the "
    "decoder's s can be changed while it trains.")
st.latex(r"p(x) = \int \mathcal N\big(x \mid f_\theta(z), s^2 I\big)\,\mathcal N(z \mid 0, I)\,dz,\qquad "
         r"\mathrm{ELBO}(x) = \mathbb E_{q(z|x)}[\log p(x\mid z)] - \mathrm{KL}(q(z\mid x)\,\|\,p(z))")

c = st.columns([3, 1, 2, 2, 1])
data_name = c[0].selectbox("Data", [*lab2d.DATASETS, OWN], key="lab_data")
latent_dim = c[1].radio("Latent z", [2, 1], key="lab_dim", format_func=lambda d: f"{d}-D")
beta = c[2].slider("β (weight of R)", 0.0, 4.0, 1.0, 0.1, key="lab_beta")
sigma = c[3].select_slider("decoder s", [0.02, 0.03, 0.05, 0.1, 0.2, 0.3, 0.5], value=0.05, key="lab_sigma")
learn = c[4].checkbox("learn s", key="lab_learn", help="Learn s with the rest, from the value set here.")

own = st.session_state.setdefault("lab_own", [])
points = np.array(own, np.float32).reshape(-1, 2) if data_name == OWN else lab2d.make_points(data_name, 1000)
signature = (data_name, latent_dim)
run: LabRun | None = st.session_state.get("lab_run")
if st.session_state.get("lab_signature") != signature or st.session_state.pop("lab_reset", False) or \
        (run is None and len(points) >= 10):
    st.session_state["lab_signature"] = signature
    run = LabRun(points, latent_dim, sigma=sigma, learn_sigma=learn, beta=beta) if len(points) >= 10 else None
    st.session_state["lab_run"] = run
    st.session_state.pop("lab_selected", None)
if run is not None:
    if len(run.points) != len(points):  # points added by clicking: training goes on with them
        run.add_points(points)
    run.beta = beta
    run.set_sigma(sigma, learn)

b = st.columns([1, 1, 1, 3])
playing = st.session_state.get("lab_playing", False) and run is not None and not run.done
if b[0].button("Pause" if playing else "Play", icon=":material/pause:" if playing else ":material/play_arrow:",
               key="lab_play", type="primary", disabled=run is None):
    st.session_state["lab_playing"] = not playing
    st.rerun()
if b[1].button("100 steps", icon=":material/skip_next:", key="lab_step", disabled=run is None or playing):
    run.train(max_steps=100, max_seconds=5.0)
if b[2].button("Reset", icon=":material/restart_alt:", key="lab_reset_button"):
    st.session_state["lab_reset"] = True
    st.session_state["lab_playing"] = False
    st.rerun()
adding = b[3].radio("A click on the data", ["inspects a point", "adds 10 points there"], horizontal=True,
                    key="lab_click", index=1 if data_name == OWN and len(points) < 10 else 0)


def on_pick() -> None:
    chosen = st.session_state["lab_data_plot"].selection.get("points", [])
    if not chosen or "customdata" not in chosen[0]:
        return
    value = int(chosen[0]["customdata"])
    if value >= 0:
        st.session_state["lab_selected"] = value
    else:  # the faint canvas: a small cluster where it was clicked
        centre = CANVAS[-1 - value]
        rng = np.random.default_rng(len(own))
        own.extend((centre + 0.04 * rng.standard_normal((10, 2))).tolist())
        st.session_state["lab_data"] = OWN
    st.session_state["lab_new_pick"] = True


@st.fragment(run_every=0.5 if playing else None)
def live() -> None:
    if st.session_state.pop("lab_new_pick", False):
        st.rerun()  # the whole page: the estimates below follow the clicked point
    run = st.session_state["lab_run"]
    if st.session_state.get("lab_playing") and run is not None and not run.done:
        run.train()
    selected = st.session_state.get("lab_selected")
    left, right = st.columns(2)
    if run is None:
        fig = lab_figures.data_space(lab2d.ToyVAE(latent_dim), points, None, samples=np.zeros((0, 2)), canvas=CANVAS)
        left.plotly_chart(fig, key="lab_data_plot", on_select=on_pick, selection_mode="points")
        right.info("Click at least once on the left (each click adds 10 points) to give the VAE data to learn.")
        return
    samples = run.model.sample(300, generator=torch.Generator().manual_seed(1)).numpy()
    fig = lab_figures.data_space(run.model, points, selected, samples=samples,
                                 canvas=CANVAS if adding.startswith("adds") else None)
    left.plotly_chart(fig, key="lab_data_plot", on_select=on_pick, selection_mode="points")
    right.plotly_chart(lab_figures.latent_space(run.model, points, selected), key="lab_latent_plot")
    st.plotly_chart(lab_figures.objective_curve(run.history), key="lab_objective")
    now = run.history[-1]
    st.caption(f"Step {run.steps:,} of at most {MAX_STEPS:,} (minibatches of 256, Adam); the whole data set now: "
               f"ELBO {now['ELBO']:.3f}, D {now['D']:.3f}, R {now['R']:.3f} nats per point; s = {run.model.sigma:.3f}. "
               + ("Training: the page redraws twice a second." if playing else "Paused."))


live()


def decoder_in_the_page(run: LabRun) -> None:
    """z under the pointer -> f(z) on the data plane, decoded in the browser (paused: while
    training, the weights change at every redraw)."""
    lim = float(max(2.0, np.abs(run.points).max() * 1.1))
    plane = {"lo": -lim, "hi": lim, "size": 320, "points": np.round(run.points, 3).tolist(), "sigma": run.model.sigma}
    if run.model.latent_dim == 2:
        with torch.no_grad():
            mu = run.model.posterior(torch.as_tensor(run.points)).mu.numpy()
        dots, _ = live_decode.class_points(mu, np.zeros(len(mu), int), 3.0, 1)
        mode, payload = "pad", {"z": [0.0, 0.0], "dims": [0, 1], "x_values": [-3, 3], "y_values": [-3, 3], "size": 320,
                                "points": dots, "colors": ["#7f7f7f"], "start": [0.5, 0.5], "plane": plane,
                                "axes_label": "z0 right, z1 up, from −3 to 3 (prior standard deviations); dots: "
                                              "the data's posterior means μ(x)"}
    else:
        mode, payload = "sliders", {"z": [0.0], "lo": -3, "hi": 3, "plane": plane,
                                    "dims": [{"index": 0, "offset": 0.0, "label": "z (prior standard deviations)"}]}
    live_decode.mount(export_network(run.model.decoder, run.model.latent_dim, [2, 1, 1]), mode, "lab_page_decoder",
                      payload)


st.subheader("Move through the latent space")
if run is None:
    st.info("Give the VAE data first.")
elif playing:
    st.info("Pause to move through the latent space: the decoder is then sent to your browser as it is.")
else:
    decoder_in_the_page(run)
    st.caption("Move the cursor over the latent plane (or the slider, for a 1-D z): the decoder mean f(z) is computed "
               "in your browser and drawn on the data plane with its circle of radius s, where p(x|z) puts its mass. "
               "Regions of z that no μ(x) reaches still decode somewhere: that is where prior samples go astray.")

st.header("log p(x) of the clicked point, four ways")
selected = st.session_state.get("lab_selected")
if run is None or selected is None or selected >= len(points):
    st.info("Click a data point above to estimate its log p(x).")
    st.stop()
if playing:
    st.info("Pause to estimate the clicked point's log p(x) for the model as it is.")
    st.stop()
st.markdown(
    "The exact value integrates p(x|z)p(z) over a fine grid of z, which only a 1-D or 2-D latent allows. The **naive** "
    "estimate averages p(x|z) over S samples from the prior: unbiased, but most z land where p(x|z) is almost 0, so "
    "it needs orders of magnitude more samples. **L_k** samples z from the encoder's q(z|x) instead and reweights "
    "(Burda et al. 2016): a lower bound, already close for small k, reaching log p(x) as k grows. The **ELBO** is L_1's "
    "expectation. This is why a VAE has an encoder.")
st.latex(r"\log\frac1S\sum_{s=1}^S p(x\mid z_s),\ z_s\sim p(z)\qquad\text{vs}\qquad "
         r"\mathcal L_k = \log\frac1k\sum_{i=1}^k \frac{p(x\mid z_i)\,p(z_i)}{q(z_i\mid x)},\ z_i\sim q(z\mid x)")
x = torch.as_tensor(points[selected][None])
counts = [1, 3, 10, 30, 100, 300, 1000, 3000, 10000, 30000, 100000]
gen = torch.Generator().manual_seed(0)
naive = np.array([[float(lab2d.log_px_naive(run.model, x, s, gen)) for s in counts] for _ in range(5)])
iw = np.array([[float(lab2d.iw_bound(run.model, x, k, gen)) for k in counts] for _ in range(5)])
exact, elbo = float(lab2d.log_px_exact(run.model, x)), float(lab2d.elbo(run.model, x, 10000, gen))
st.plotly_chart(lab_figures.four_ways(counts, np.maximum(naive, exact - 60), iw, elbo, exact), key="lab_four_ways")
st.caption(f"Point {selected} at ({points[selected][0]:.2f}, {points[selected][1]:.2f}); five repeats of each estimate "
           "(dots) and their mean (line); nats per point. Naive estimates below exact − 60 are drawn at that floor. "
           f"With S = 100: naive {naive[:, 4].mean():.3f}; with k = 100: L_k {iw[:, 4].mean():.3f}; exact {exact:.3f}.")

if st.button("Average over the data set", key="lab_average", icon=":material/functions:"):
    subset = torch.as_tensor(points[:: max(1, len(points) // 200)])
    st.dataframe([{"estimate": name, "mean over points (nats per point)": round(float(v.mean()), 4)} for name, v in (
        ("exact (grid integration)", lab2d.log_px_exact(run.model, subset)),
        ("naive, S = 1000", lab2d.log_px_naive(run.model, subset, 1000, gen)),
        ("L_k, k = 1000", lab2d.iw_bound(run.model, subset, 1000, gen)),
        ("ELBO", lab2d.elbo(run.model, subset, 1000, gen)))], hide_index=True)
    st.caption(f"{len(subset)} of the {len(points)} points (every {max(1, len(points) // 200)}th).")
