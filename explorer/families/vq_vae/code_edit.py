"""Edit a VQ-VAE image's code grid cell by cell and watch the decoding change."""
import numpy as np
import streamlit as st
import torch

from explorer import capabilities, figures, live_decode, selection, state, texts
from explorer.families.vq_vae import codes_cache as vq
from explorer.families.vq_vae import figures as vq_figures
from vae_core.family import CODEBOOK

bundle = capabilities.require(CODEBOOK)
arrays = state.probe(bundle)
k_size, (h, w) = bundle.model_config.codebook_size, bundle.model.latent_shape
i = selection.get(selection.FIRST, len(arrays["labels"]))
edits = vq.edits(bundle, i)
usage = vq.counts(bundle)
by_use = [int(k) for k in np.argsort(usage)[::-1]]

texts.header("code_edit")
st.markdown(f"**Click a cell** of image #{i}'s grid (the sidebar's selected image) and **choose another code**.")

picked = tuple(st.session_state.get("edit_cell", (h // 2, w // 2)))
grid = vq.edited_grid(bundle, i)
fig = vq_figures.editable_grid(grid, k_size, picked, set(edits))


def on_click():
    points = st.session_state["edit_grid"].selection.get("points", [])
    if points:
        point = points[0]
        st.session_state["edit_cell"] = (int(point["y"]), int(point["x"]))
        st.session_state.pop("edit_code", None)  # the picker shows the new cell's code


left, right = st.columns([3, 4])
with left:
    st.plotly_chart(fig, key="edit_grid", on_select=on_click, selection_mode="points", width="content")
    r, c = picked
    original = int(vq.codes(bundle)[i][r, c])
    current = int(grid[r, c])
    st.session_state.setdefault("edit_code", current)
    code = st.selectbox(f"Code of cell (row {r}, column {c}); it was {original}", by_use, key="edit_code",
                        format_func=lambda k: f"code {k} ({usage[k] / usage.sum():.1%} of probe cells)",
                        help="Codes listed from the most used to the least used on the probe images.")
    if code != current:
        if code == original:
            edits.pop((r, c), None)
        else:
            edits[(r, c)] = int(code)
        st.rerun()
    if st.button("Undo every edit", key="edit_reset", icon=":material/undo:", disabled=not edits):
        edits.clear()
        st.session_state.pop("edit_code", None)
        st.rerun()
with right:
    before, after = vq.decode(bundle, vq.codes(bundle)[i][None])[0], vq.decode(bundle, grid[None])[0]
    picture = np.stack([[arrays["x"][i], before, after, np.abs(after - before)]])
    st.image(figures.to_uint8_grid(picture, scale=4), output_format="PNG",
             caption="input x · decoded from its own codes · decoded from the edited grid · |difference|")
    with torch.no_grad():
        nll = -float(bundle.model.prior.log_prob(torch.as_tensor(grid[None])))
    st.markdown(f"**{len(edits)}** cell{'s' if len(edits) != 1 else ''} edited; the edited grid's prior NLL "
                f"−log p(k) is **{nll:.1f}** nats, the original's **{arrays['kl'][i]:.1f}** (lower: more typical "
                "for the prior).")

st.subheader(f"Hover over a code to try it in cell (row {r}, column {c})")


def keep(value: dict) -> None:
    """A click on a code in the page: the cell takes it, as a choice in the list above does."""
    k = int(value["code"])
    if k == original:
        edits.pop((r, c), None)
    else:
        edits[(r, c)] = k
    st.session_state["edit_code"] = k


payload = {"grid": grid.ravel().tolist(), "cell": r * w + c, "row": r, "col": c, "candidates": by_use, "scale": 4}
if live_decode.mount(bundle, "codes", "edit_codes", payload, on_release=keep):
    st.caption(f"All {k_size} codes, from the most used to the least. The page decodes the grid with the code under "
               "the cursor at once, with no rerun; click a code to keep it.")

st.subheader(f"One cell, the {min(12, k_size)} most used codes")
strip = np.repeat(grid[None], min(12, k_size), 0)
strip[:, r, c] = by_use[:len(strip)]
st.plotly_chart(figures.image_grid(vq.decode(bundle, strip)[None], col_labels=[f"code {k}" for k in strip[:, r, c]],
                                   scale=3, x_title=f"cell (row {r}, column {c}) set to each code; all other cells as above"),
                key="edit_strip")
