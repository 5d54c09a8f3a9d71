"""Follow a training run while it writes its bundle: the objective's parts over steps, the
schedules, KL per dimension over epochs, and the newest weights' reconstructions and map."""
import time
from pathlib import Path

import numpy as np
import streamlit as st

from explorer import figures, launch, live, run_figures, serving
from vae_core import analysis, read_history, runs

REFRESH_S = 2.0

st.title("Watch a training run")
serving.require_in_charge("watching the runs of this machine")
st.markdown(
    "A run started from the **Start a run** page or from a terminal on this machine, followed while it "
    "trains: this page re-reads the bundle's `history.jsonl` every few seconds. The loss is the "
    "reconstruction term **D** plus the KL penalty (β·R, or β·|R − C| with capacity annealing, or "
    "β·Σ max(R_j, λ) with free bits); ELBO = −(D + R). Nats per image throughout.")
st.latex(r"\text{loss} = D + \beta R,\qquad D = -\mathbb{E}_{q(z|x)}[\log p(x\mid z)],\qquad "
         r"R = \mathrm{KL}(q(z\mid x)\,\|\,p(z))")

all_runs = runs.list_runs()
if not all_runs:
    st.info("No training run on this machine yet. Start one on the **Start a run** page, or from a terminal "
            "with `vae-train ... --out runs/NAME`.")
    st.stop()
options = [str(r.out) for r in all_runs]
wanted = st.session_state.pop("watch_run", None)
if wanted in options:
    st.session_state["live_run"] = wanted
elif st.session_state.get("live_run") not in options:
    st.session_state["live_run"] = next((str(r.out) for r in all_runs if r.state == "running"), options[0])
states = {str(r.out): r.state for r in all_runs}
out = st.selectbox("Run", options, key="live_run", format_func=lambda p: f"{Path(p).name} · {p}",
                   help="Every run in this machine's run registry, newest first; its state is shown below.")


def _open_in_views(path: str) -> None:
    st.session_state["bundle_picker"] = st.session_state["bundle_path"] = path
    st.session_state["_goto_views"] = True


def status(run: runs.Run, history: list[dict], epochs_total: int | None) -> None:
    epochs = run_figures.epoch_records(history)
    last = epochs[-1] if epochs else None
    elapsed = (run.ended or time.time()) - (run.started or time.time())
    c = st.columns(5)
    c[0].metric("state", run.state)
    c[1].metric("epoch", f"{last['epoch'] if last else 0} of {epochs_total or '?'}")
    c[2].metric("held-out ELBO (nats/image)", f"{last['val_elbo']:.2f}" if last else "—")
    c[3].metric("active units", f"{last.get('val_active_units', '—')}" if last else "—")
    c[4].metric("time (s)", f"{elapsed:.0f}")
    if run.error and run.state != "finished":
        st.warning(run.error)


def newest_weights(b, history: list[dict]) -> None:
    st.subheader("The newest weights")
    best = run_figures.best_epoch(history)
    arrays = live.arrays(b)
    left, right = st.columns([2, 3])
    pairs = np.stack([arrays["x"], arrays["recon"]])  # (2, 16, C, H, W)
    left.image(figures.to_uint8_grid(pairs[:, :8], scale=4 if pairs.shape[-1] <= 8 else 2), output_format="PNG")
    left.image(figures.to_uint8_grid(pairs[:, 8:], scale=4 if pairs.shape[-1] <= 8 else 2), output_format="PNG")
    left.caption("Odd rows: held-out probe images; even rows: the decoder mean at z = μ(x). Weights of "
                 + (f"epoch {best}, the best held-out ELBO so far" if best else "the start (no epoch has ended)")
                 + "; model.safetensors is replaced whenever that improves.")
    method = "latent" if arrays["mu"].shape[1] == 2 else "pca"
    proj = analysis.project(arrays["mu"], method)
    right.plotly_chart(figures.latent_map(proj.coords, arrays["labels"], b.classes, proj.axis_titles),
                       key="live_map")
    right.caption(f"Posterior means μ(x) of {len(arrays['labels']):,} probe images"
                  + (", z itself" if method == "latent" else ", PCA") + ", coloured by label.")


def draw(out: str, was_running: bool) -> None:
    if st.session_state.pop("_goto_views", False):  # set by the button's callback, in this fragment's rerun
        st.switch_page("views/reconstructions.py")
    run = runs.get_run(out)
    if run is None:
        st.warning("This run is no longer in the registry.")
        return
    if was_running and run.state != "running":
        st.rerun()  # it ended: draw the final state once more, without refreshing
    b, why = live.bundle(out)
    history = read_history(out)  # a half-written last line is skipped
    status(run, history, b.train_config.epochs if b else None)
    buttons = iter(st.columns([1, 1, 3]))
    if launch.training_enabled() and serving.may_stop(run):
        if next(buttons).button("Stop this run", key="live_stop", icon=":material/stop:"):
            # the run records itself as stopped; the next refresh shows it
            serving.stop(out)
    if b is not None:
        next(buttons).button("Open in every view", key="live_open", on_click=_open_in_views, args=(out,),
                             icon=":material/open_in_new:")
    if not history:
        st.info(f"Waiting for the first record in history.jsonl ({why or 'training has begun'}).")
        return
    st.subheader("The objective, step by step")
    dim = b.model_config.latent_dim if b else None
    st.plotly_chart(run_figures.objective_breakdown(history, dim), key="live_breakdown")
    st.caption("Top: the parts of the loss, stacked (their sum is what was minimised), with the unweighted KL R "
               "dashed. Bottom: the ELBO. Training lines are running means over each epoch's batches; the "
               "held-out ELBO is measured on 1/12 of the training split after every epoch.")
    st.subheader("Schedules")
    st.plotly_chart(run_figures.schedules(history), key="live_schedules")
    st.subheader("KL per latent dimension, epoch by epoch")
    st.plotly_chart(run_figures.kl_heatmap(history), key="live_heatmap")
    st.caption("Held-out KL of each dimension after each epoch: dimensions that wake up turn bright; those that "
               "stay dark are collapsed (q(z_j|x) = p(z_j)) and carry no information.")
    if b is not None:
        newest_weights(b, history)
    if run.log is not None:
        with st.expander("Log"):
            st.code(runs.read_log(run) or "(empty)", language=None)


running = states[out] == "running"
st.fragment(draw, run_every=REFRESH_S if running else None)(out, running)
if not running:
    st.caption(f"This run is {states[out]}; the page stops refreshing once a run has ended.")
