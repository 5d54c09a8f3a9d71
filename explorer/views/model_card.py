"""What this bundle is: configuration, data, training curve, metrics, and how to make it again."""
import json
from pathlib import Path

import streamlit as st

from explorer import figures, state

bundle = state.current()
m, t = bundle.model_config, bundle.train_config

st.title(f"Model card: {bundle.name}")
st.markdown(
    "Everything the bundle says about itself, read from its files: `config.json` (configuration, data "
    "set, the command that made it), `history.jsonl` (the training log) and `metrics.json` (held-out "
    "figures). All terms in nats per image; the ELBO is the negative of D + R.")
st.latex(r"\mathrm{ELBO} = -(D + R) \le \mathcal{L}_k \le \log p(x)")

if bundle.command:
    st.subheader("Reproduce it")
    st.code(bundle.command, language="bash", wrap_lines=True)
    st.caption(f"Recorded at training time by vae_core {bundle.package_version or '?'} on {bundle.created or '?'}. "
               "Seeds fix weights, data order and binarization; the same command on the same device type "
               "gives the same model up to floating-point reduction order."
               + (" It was then prepared with `python -m tools.ship_bundle` (precomputed PCA/t-SNE maps, and "
                  "float16 weights where `--half` was given and the ELBO stayed within 0.05 nats per image)."
                  if (Path(bundle.path) / "projections.safetensors").exists() else ""))

metrics = bundle.metrics or {}
if metrics:
    st.subheader("Held-out metrics")
    ll = metrics.get("log_likelihood")
    c = st.columns(5)
    c[0].metric("ELBO (nats/image)", f"{metrics['elbo']:.2f}")
    c[1].metric("D (nats/image)", f"{metrics['reconstruction']:.2f}")
    c[2].metric("R = KL (nats/image)", f"{metrics['kl']:.2f}")
    c[3].metric(f"L_{ll['k']} (nats/image)" if ll else "L_k", f"{ll['estimate']:.2f}" if ll else "—")
    c[4].metric("active units", f"{metrics['active_units']} of {metrics['latent_dim']}")
    st.caption(f"{metrics.get('split', 'test')} set, {metrics.get('n_images', '?'):,} images; binarization: "
               f"{metrics.get('binarization', 'none')}. Trained {metrics.get('epochs', '?')} epochs "
               f"(best held-out epoch {metrics.get('best_epoch', '?')}) in "
               f"{metrics.get('wall_time_s', 0) / 60:.0f} min on {metrics.get('device', '?')}.")
else:
    st.info("No metrics.json: run `python -m vae_core.evaluate " + str(bundle.path) + "`.")

history = bundle.history()
st.subheader("Training curve")
if history:
    st.plotly_chart(figures.training_curve(history), key="card_curve")
    st.caption("Thin lines: running means over training batches (one z per image, binarized afresh); "
               "lines with markers: the held-out split after each epoch. Nats per image.")
else:
    st.info("This bundle has no history.jsonl.")

left, right = st.columns(2)
for column, title, config in ((left, "Model", m), (right, "Training", t)):
    column.subheader(title)
    column.dataframe([{"setting": k, "value": json.dumps(v)} for k, v in config.to_dict().items()],
                     hide_index=True, width="stretch")
st.subheader("Data set")
st.json(bundle.dataset, expanded=False)
st.subheader("Files")
st.dataframe([{"file": p.name, "bytes": p.stat().st_size} for p in sorted(Path(bundle.path).iterdir())
              if p.is_file() and not p.name.startswith(".")], hide_index=True)
st.download_button("Download config.json", json.dumps(json.loads((Path(bundle.path) / "config.json").read_text()),
                                                      indent=2), "config.json", "application/json",
                   key="card_config", on_click="ignore", icon=":material/download:")
