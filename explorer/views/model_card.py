"""What this bundle is: configuration, data, training curve, metrics, and how to make it again."""
import json
from pathlib import Path

import streamlit as st

from explorer import families, figures, live_decode, serving, state, texts, trained_objective
from explorer.site import content as site_content
from vae_core.checkpoint import read_config
from vae_core.family import CODEBOOK, GAUSSIAN_POSTERIOR, IMPORTANCE_WEIGHTED_BOUND

bundle = state.current()
m, t = bundle.model_config, bundle.train_config

st.title(f"Model card: {bundle.name}")
st.markdown(
    "Everything the bundle says about itself, read from its files: `config.json` (configuration, data "
    "set, the command that made it), `history.jsonl` (the training log) and `metrics.json` (held-out "
    "figures). All terms in nats per image; the ELBO is the negative of D + R.")
if IMPORTANCE_WEIGHTED_BOUND in bundle.model.provides:
    st.latex(texts.SECTIONS["model_card"].equations[0])
else:  # no L_k (a VQ-VAE's posterior is a point mass on its codes)
    st.latex(texts.SECTIONS["model_card_point"].equations[0])
trained_objective.show_iwae_note(bundle)
if note := families.section(bundle, "model_card_note"):  # what a family's numbers mean (AutoencoderKL's σ)
    note(bundle)

if bundle.command:
    st.subheader("Reproduce it")
    first = ((bundle.metrics or {}).get("stage2") or {}).get("stage1_command")  # a two-stage bundle: both
    st.code(f"{first}\n{bundle.command}" if first else bundle.command, language="bash", wrap_lines=True)
    st.caption(f"Recorded at training time by vae_core {bundle.package_version or '?'} on {bundle.created or '?'}. "
               "Seeds fix weights, data order and binarization; the same command on the same device type "
               "gives the same model up to floating-point reduction order."
               + (" It was then prepared with `python -m tools.ship_bundle` (precomputed PCA/t-SNE maps, and "
                  "float16 weights where `--half` was given and the ELBO stayed within 0.05 nats per image)."
                  if (Path(bundle.path) / "projections.safetensors").exists() else ""))

metrics = bundle.metrics or {}
elsewhere = bundle.dataset.get("imported_from")  # a model trained elsewhere: no training facts of ours
own_metrics = families.section(bundle, "model_card_metrics")  # a family whose figures differ (VQ-VAE)
if metrics and own_metrics:
    st.subheader("Held-out metrics")
    own_metrics(bundle)
elif metrics:
    st.subheader("Held-out metrics")
    ll = metrics.get("log_likelihood")
    c = st.columns(5)
    c[0].metric("ELBO (nats/image)", f"{metrics['elbo']:.2f}")
    c[1].metric("D (nats/image)", f"{metrics['reconstruction']:.2f}")
    c[2].metric(f"R = {bundle.model.rate_name} (nats/image)", f"{metrics['kl']:.2f}")
    c[3].metric(f"L_{ll['k']} (nats/image)" if ll else "L_k", f"{ll['estimate']:.2f}" if ll else "—")
    units = metrics.get("active_units")  # a Gaussian posterior's; other families have none
    c[4].metric("active units", f"{units} of {metrics.get('latent_dim', '?')}" if units is not None else "—")
    trained = (f"Trained {metrics.get('epochs', '?')} epochs (best held-out epoch {metrics.get('best_epoch', '?')}) in "
               f"{metrics.get('wall_time_s', 0) / 60:.0f} min on {metrics.get('device', '?')}." if not elsewhere else
               f"Trained elsewhere ({elsewhere}): this project knows nothing of its training.")
    st.caption(f"{metrics.get('split', 'test')} set, {format(metrics['n_images'], ',') if 'n_images' in metrics else '?'} images; binarization: "
               f"{metrics.get('binarization', 'none')}. " + trained
               + (f" Stopped {metrics['stopped']}." if isinstance(metrics.get("stopped"), str) else "")
               + (f" L_{ll['k']} = {ll['estimate']:.2f} ± {ll['standard_error']:.2f} nats per image (standard error "
                  "over the images)." if ll and ll.get("standard_error") is not None else ""))
else:
    st.info(f"No metrics.json: run `vae-evaluate {bundle.name if serving.class_mode() else bundle.path}`.")

history = bundle.history()
stage1 = [r for r in history if r.get("stage", 1) == 1]  # a two-stage bundle logs both stages
stage2 = [r for r in history if r.get("stage") == 2]


def gaussian_curves() -> None:
    st.subheader("Training curve" + (" of stage 1" if stage2 else ""))
    if not history:
        st.info("This bundle has no history.jsonl.")
        return
    st.plotly_chart(figures.training_curve(stage1), key="card_curve")
    st.caption("Thin lines: running means over training batches (one z per image, binarized afresh); "
               "lines with markers: the held-out split after each epoch. Nats per image.")
    if any(r.get("sigma") is not None and r.get("kind") == "epoch" for r in stage1) and m.likelihood == "gaussian-learned":
        st.plotly_chart(figures.learned_sigma_curve(stage1), key="card_gamma")
        st.caption("The decoder's learned standard deviation γ: Dai & Wipf (2019) show it falls towards 0 as "
                   "the decoder fits the data manifold, and that dimensions the data do not need then "
                   "collapse to the prior.")
    if stage2:
        st.subheader("Stage 2: the VAE on stage-1 codes")
        st.plotly_chart(figures.stage2_curve(stage2), key="card_stage2")
        st.plotly_chart(figures.learned_sigma_curve(stage2, "gamma_z", "stage-2 γ_z (latent units)"), key="card_gamma_z")
        st.caption("Stage 2 learns q(z), the distribution of stage-1 codes, so that u ~ N(0, I) → z → x "
                   "samples where stage 1's decoder was trained (Dai & Wipf 2019). Nats per code, summed over "
                   "its dimensions.")


own_curves = families.section(bundle, "training_curves")
if own_curves:
    own_curves(history)
else:
    gaussian_curves()

# The Gaussian objective's settings, which a family with a point posterior (a VQ-VAE) never reads.
GAUSSIAN_OBJECTIVE = ("beta", "warmup_epochs", "capacity", "capacity_epochs", "free_bits", "mc_samples", "eval_k")


def unused(model: dict, train: dict) -> set[str]:
    """Settings the config holds that this model never used: σ of a Bernoulli decoder, the other
    body's widths, the Gaussian objective's settings for a family without a Gaussian posterior,
    a codebook size of 0."""
    likelihood = str(getattr(m, "likelihood", model.get("likelihood", "")))  # a family's may be a property
    left_out = set() if likelihood.startswith("gaussian") else {"sigma"}
    left_out |= {"codebook_size"} if model.get("codebook_size") == 0 else set()
    left_out |= {"conv": {"hidden"}, "mlp": {"channels", "fc_hidden"}}.get(model.get("architecture"), set())
    if GAUSSIAN_POSTERIOR not in bundle.model.provides:
        left_out |= set(GAUSSIAN_OBJECTIVE)
    elif not train.get("capacity"):
        left_out.add("capacity_epochs")
    return left_out


model_settings, train_settings = m.to_dict(), t.to_dict()
left_out = unused(model_settings, train_settings)
left, right = st.columns(2)
tables = [(left, "Model", model_settings)] + ([(right, "Training", train_settings)] if not elsewhere else [])
if elsewhere:  # the training config a bundle must hold is this project's defaults, not the model's
    right.subheader("Training")
    right.caption(f"Trained elsewhere ({elsewhere}); its training settings are not known here. config.json's "
                  "\"train\" section holds this project's defaults, which it never used.")
for column, title, config in tables:
    column.subheader(title)
    column.dataframe([{"setting": k, "value": json.dumps(v)} for k, v in config.items() if k not in left_out],
                     hide_index=True, width="stretch")
if left_out & (set(model_settings) | set(train_settings)):
    st.caption("Left out, as this model never used them (config.json keeps them): "
               + ", ".join(sorted(left_out & (set(model_settings) | set(train_settings)))) + ".")
st.subheader("Data set")
st.json(bundle.dataset, expanded=False)
st.subheader("Files")
st.dataframe([{"file": p.name, "bytes": p.stat().st_size} for p in sorted(Path(bundle.path).iterdir())
              if p.is_file() and not p.name.startswith(".")], hide_index=True)
st.download_button("Download config.json", json.dumps(read_config(bundle.path),
                                                      indent=2), "config.json", "application/json",
                   key="card_config", on_click="ignore", icon=":material/download:")


@st.cache_data(show_spinner=False, max_entries=4)
def site_zip(path: str, stamp: float) -> bytes:
    """The bundle's static site (explorer/site/), 0.2-3 MB, built once per weights for every
    visitor: a class pressing the button at once costs one build, not thirty."""
    from explorer.site.export import site_zip as build

    return build(path)


st.subheader("Publish it as a static page")
try:
    site_content.kind(bundle)  # a family the page shows
    site_problem = live_decode.page_decoder(bundle)  # a decoder the page runs, or why not
except site_content.CannotExport as exc:
    site_problem = str(exc)
if isinstance(site_problem, str):
    st.caption(f"This bundle cannot become a static page: {site_problem}.")
else:
    st.markdown(
        "A folder of plain files (HTML, the page-side decoder, its weights and a few test images) that shows this "
        + ("VQ-VAE's reconstructions, samples and code editing" if CODEBOOK in bundle.model.provides else
           "model's reconstructions, traversals, manifold pad, interpolation, latent map and samples")
        + ", all decoded in the reader's browser: unzip it on any static host (a course site, GitHub Pages, `python -m http.server`) "
        "and a class of hundreds needs no Python behind it. `vae-export-site` makes the same from the command line, "
        "several bundles at once (docs/site.md).")
    st.download_button("Download as a static web page (zip)", lambda: site_zip(str(bundle.path), state.stamp(bundle)),
                       f"{bundle.name}-site.zip", "application/zip", key="card_site", on_click="ignore",
                       icon=":material/public:")
