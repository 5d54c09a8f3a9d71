"""Start a training run from the browser, list the runs of this machine, stop one, read its log."""
import datetime
from pathlib import Path

import streamlit as st

from explorer import launch, serving
from vae_core import ConfigError, runs
from vae_core.config import ARCHITECTURES, LIKELIHOODS

REGULARIZERS = ("none", "capacity annealing", "free bits")

st.title("Start a training run")
serving.require_in_charge("starting and stopping training runs")
st.markdown(
    "Train a VAE in the background with the same command a terminal would run, "
    "`vae-train ...`, then watch it on **Watch a run**. The defaults (the 8×8 digits, an MLP, "
    "a 2-D latent) finish in well under a minute on a 2-core CPU. The run goes on if this tab is closed; "
    "its bundle lands in "
    f"`{launch.runs_dir()}` and opens in every view. Losses in nats per image.")
st.latex(r"\text{loss} = D + \beta R\quad\text{or}\quad D + \beta\,|R - C|\ \text{(capacity)}\quad\text{or}"
         r"\quad D + \beta \textstyle\sum_j \max(R_j, \lambda)\ \text{(free bits)}")


def form() -> None:
    d = launch.RunRequest()
    datasets = launch.datasets()
    # The decoder and the KL constraint decide which fields apply, so they sit outside the form,
    # whose widgets only report on submit: σ for a Gaussian decoder, C for capacity, λ for free bits.
    c = st.columns([1, 3])
    likelihood = c[0].selectbox("Decoder p(x|z)", LIKELIHOODS, key="tr_likelihood",
                                help="Bernoulli (cross-entropy), Gaussian with fixed σ, or Gaussian with a "
                                     "learned σ (Dai & Wipf 2019)")
    regularizer = c[1].radio("KL constraint", REGULARIZERS, key="tr_reg", horizontal=True)
    gaussian = likelihood != "bernoulli"
    sigma, capacity, capacity_epochs, free_bits = d.sigma, 0.0, 0, 0.0
    with st.form("train_form"):
        c = st.columns(4)
        dataset = c[0].selectbox("Data set", datasets, key="tr_dataset",
                                 help="digits: scikit-learn's 8×8 set, no download; MNIST and Fashion-MNIST "
                                      "are read from $VAE_DATA_DIR")
        arch = c[1].selectbox("Architecture", ARCHITECTURES, index=ARCHITECTURES.index(d.arch), key="tr_arch")
        latent = c[2].number_input("Latent dimension d", value=d.latent_dim, step=1, key="tr_latent",
                                   help="2 to 256; 2 shows z itself on the map")
        epochs = c[3].number_input("Epochs", value=d.epochs, min_value=1, max_value=launch.MAX_EPOCHS, step=10,
                                   key="tr_epochs", help=f"at most {launch.MAX_EPOCHS} here, and "
                                                         f"{launch.MAX_MINUTES} minutes: the run then stops, keeping its best epoch")
        c = st.columns(4)
        beta = c[0].number_input("β", value=d.beta, step=0.5, key="tr_beta",
                                 help="weight of the KL term; 1 is the ELBO, 0 a plain autoencoder")
        warmup = c[1].number_input("KL warm-up (epochs)", value=d.warmup_epochs, step=1, key="tr_warmup",
                                   help="β rises linearly from 0 over this many epochs (Bowman et al. 2016)")
        if gaussian:
            sigma = c[2].number_input("σ (Gaussian decoder, pixel units)", value=d.sigma, step=0.05, format="%.3f",
                                      key="tr_sigma", help="fixed σ, or the initial σ when it is learned")
        if regularizer == REGULARIZERS[1]:
            c = st.columns(4)
            capacity = c[0].number_input("capacity C (nats per image)", value=5.0, step=1.0, key="tr_capacity",
                                         help="Burgess et al. 2018: minimise D + β|R − C|; use a large β, e.g. 20")
            capacity_epochs = c[1].number_input("C rises over (epochs)", value=100, step=10, key="tr_capacity_epochs",
                                                help="C grows linearly from 0; 0 keeps it constant")
        elif regularizer == REGULARIZERS[2]:
            free_bits = st.columns(4)[0].number_input(
                "free bits λ (nats per dimension)", value=0.5, step=0.1, key="tr_free_bits",
                help="Kingma et al. 2016: KL below λ in a dimension costs nothing")
        folder = image_size = color = None
        if launch.FOLDER in datasets:
            with st.expander("Your own images (data set 'folder')"):
                c = st.columns(3)
                folder = c[0].text_input("Folder of class sub-folders", key="tr_folder")
                image_size = c[1].number_input("Image size (pixels)", value=d.image_size, step=4, key="tr_size")
                color = c[2].radio("Colour", ("grey", "rgb"), horizontal=True, key="tr_color")
        name = st.text_input("Name (optional)", key="tr_name", placeholder="data set, body, d, β and the time",
                             help=f"the bundle's folder under {launch.runs_dir()}")
        submitted = st.form_submit_button("Start training", type="primary", icon=":material/play_arrow:")
    if not submitted:
        return
    request = launch.RunRequest(
        dataset=dataset, arch=arch, latent_dim=int(latent), likelihood=likelihood, sigma=float(sigma),
        beta=float(beta), warmup_epochs=int(warmup), epochs=int(epochs), name=name,
        capacity=float(capacity), capacity_epochs=int(capacity_epochs), free_bits=float(free_bits),
        **({"folder": folder, "image_size": int(image_size), "color": color} if folder is not None else {}))
    try:
        run = launch.start(request, owner=serving.owner(), paths=serving.in_charge(),
                           started_before=st.session_state.get("_runs_started", 0))
    except ConfigError as exc:
        st.error(f"Not started: {exc}. Nothing was lost; correct the value and press Start again.")
        return
    except (runs.RunLimitError, OSError) as exc:
        st.error(f"Not started: {exc}.")
        return
    st.session_state["_runs_started"] = st.session_state.get("_runs_started", 0) + 1
    st.session_state["watch_run"] = str(run.out)
    st.switch_page("views/run_live.py")


def _when(seconds) -> str:
    return datetime.datetime.fromtimestamp(seconds).strftime("%Y-%m-%d %H:%M:%S") if seconds else "?"


def run_list() -> None:
    all_runs = runs.list_runs()
    st.subheader("Runs on this machine")
    if not all_runs:
        st.info("No run yet. Runs started here or from a terminal (`vae-train`) are listed.")
        return
    st.dataframe([{"run": r.out.name, "state": r.state, "started": _when(r.started),
                   "minutes": round(((r.ended or datetime.datetime.now().timestamp()) - (r.started or 0)) / 60, 1)
                   if r.started else None, "folder": str(r.out), "note": r.error or ""} for r in all_runs],
                 hide_index=True, key="tr_table")
    by_out = {str(r.out): r for r in all_runs}
    out = st.selectbox("Run", list(by_out), key="tr_pick",
                       format_func=lambda p: f"{Path(p).name} · {by_out[p].state}")
    run = by_out[out]
    c = st.columns(3)
    if c[0].button("Watch it", key="tr_watch", icon=":material/monitoring:"):
        st.session_state["watch_run"] = out
        st.switch_page("views/run_live.py")
    if launch.training_enabled() and serving.may_stop(run):
        if c[1].button("Stop it", key="tr_stop", icon=":material/stop:"):
            if serving.stop(out):
                st.toast(f"Sent SIGTERM to {run.out.name}; it keeps its best epoch so far.")
    elif run.state == "running" and serving.class_mode() and run.owner != "teacher":
        c[1].caption("Not started by the teacher from this class: stop it where it was started.")
    st.code(run.command or "(command not recorded)", language="bash", wrap_lines=True)
    if run.log is not None:
        st.caption(f"Log ({run.log}), newest lines last:")
        st.code(runs.read_log(run) or "(empty)", language=None)
    else:
        st.caption("Started outside the explorer: its output went to the terminal that started it.")


if launch.training_enabled():
    form()
    st.caption(f"At most {launch.max_runs()} run(s) at once on this machine (`--max-runs`, ${runs.MAX_RUNS_ENV}).")
else:
    st.info(f"Starting and stopping runs is switched off on this explorer (`--no-training` or "
            f"${launch.NO_TRAINING_ENV}); runs on this machine can still be watched.")
st.fragment(run_every=3.0)(run_list)()
