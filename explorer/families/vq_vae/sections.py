"""The parts of the shared views (generation, interpolation, compare, model card) drawn for a
VQ-VAE bundle, whose latent is a grid of codes rather than a Gaussian vector."""
from __future__ import annotations

import numpy as np
import streamlit as st
import torch

from explorer import figures, live_decode, selection, state, texts, widgets
from explorer.families.vq_vae import figures as vq_figures
from vae_core import Bundle, analysis


@st.cache_data(show_spinner="Sampling codes from the PixelCNN prior…", max_entries=32)
def _samples(path: str, stamp: float, n: int, temperature: float, seed: int, uniform: bool) -> np.ndarray:
    model = state.get_bundle(path).model
    gen = torch.Generator().manual_seed(seed)
    sampler = model.sample_uniform if uniform else model.sample
    return analysis.decode(model, sampler(n, temperature=temperature, generator=gen)).numpy()


def samples(bundle: Bundle, n: int, *, temperature: float = 1.0, seed: int = 0, uniform: bool = False) -> np.ndarray:
    """(n, C, H, W) decoder means of code grids from the prior (or uniform codes)."""
    return _samples(str(bundle.path), state.stamp(bundle), n, temperature, seed, uniform)


def generation(bundle: Bundle) -> None:
    texts.header("generation_vq")
    st.markdown("Left: the PixelCNN's samples. Right: uniform codes. The **temperature** T divides the "
                "PixelCNN's logits: T < 1 favours its likeliest codes, T = 0 takes the likeliest at every cell.")
    c1, c2, c3 = st.columns([3, 2, 1])
    temperature = c1.slider("Temperature T of the prior", 0.0, 2.0, 1.0, 0.1, key="gen_t")
    count = c2.select_slider("Images", [8, 16, 32], value=16, key="gen_n")
    if c3.button("New draw", key="gen_new", icon=":material/casino:"):
        st.session_state["gen_seed"] = st.session_state.get("gen_seed", 0) + 1
    seed = st.session_state.get("gen_seed", 0)
    frechet = (bundle.metrics or {}).get("frechet_distance", {})
    per_row = 8
    left, right = st.columns(2)
    for column, uniform, name, key in ((left, False, f"PixelCNN prior, T = {temperature:g}", "prior_samples"),
                                       (right, True, "uniform codes", "uniform_samples")):
        grid = samples(bundle, count, temperature=temperature, seed=seed, uniform=uniform)
        widgets.picture_grid(grid.reshape(-1, per_row, *grid.shape[1:]), name, container=column)
        if key in frechet:
            column.metric("Fréchet distance to the test images (T = 1)", f"{frechet[key]:.2f}",
                          help=f"{frechet['n_images']:,} samples against as many test images; {frechet['features']}")
    if frechet:
        st.caption(f"Floor (training against test images): {frechet['test_vs_train']:.2f}; reconstructions: "
                   f"{frechet['reconstructions']:.2f}. {frechet['features']}.")
    m = bundle.metrics or {}
    if "uniform_rate" in m:
        st.caption(f"Rate of a test image: {m['kl']:.1f} nats under the PixelCNN prior, {m['uniform_rate']:.1f} "
                   "nats under the uniform one (h·w·log K): the prior's saving is what makes its samples digits.")


def interpolation(bundle: Bundle) -> None:
    arrays = state.probe(bundle)
    n = len(arrays["labels"])
    st.title("Interpolation")
    st.markdown(
        "In a Gaussian VAE the path between two images runs through the latent space itself. A VQ-VAE's latent "
        "is a grid of code indices, and there is no point halfway between code 3 and code 41. So interpolate "
        "the **encoder outputs before quantization**, z_e, and quantize each step: a cell keeps its code until "
        "the path crosses into another code's region, then jumps. The image changes in **discrete steps**, "
        "cell by cell, where a Gaussian VAE's glides. The top row decodes the unquantized path, which the "
        "decoder never saw in training.")
    st.latex(r"z_t = (1-t)\,z_e(x_a) + t\,z_e(x_b),\qquad k_{ij}(t) = \arg\min_k \lVert z_t{}_{ij} - e_k\rVert,\qquad "
             r"\hat x_t = \mathbb E[x \mid z_q(k(t))]")
    c1, c2, c3 = st.columns(3)
    a = selection.get(selection.FIRST, n)
    c1.markdown(f"**From:** the selected image, #{a}")
    b = selection.number_input(c2, "To: probe image", selection.SECOND, n)
    steps = c3.select_slider("Steps", [5, 7, 9, 11, 13], value=9, key="interp_steps")
    model = bundle.model
    with torch.no_grad():
        z = model.encode(torch.tensor(arrays["x"][[a, b]]))
        t = torch.linspace(0, 1, steps)[:, None, None, None]
        path = (1 - t) * z[0] + t * z[1]
        codes = model.quantizer.indices(path)
        rows = np.stack([model.likelihood.mean(model.decode_vectors(path)).numpy(), model.decode_mean(codes).numpy()])
    moved = [0] + (codes[1:] != codes[:-1]).flatten(1).sum(1).tolist()
    labels = [f"t = {v:.2f}<br>{c} cells switched" for v, c in zip(np.linspace(0, 1, steps), moved)]
    st.plotly_chart(figures.image_grid(rows, row_labels=["z_t, not quantized", "quantized z_q(k(t))"], col_labels=labels,
                                       scale=3, x_title="position t; cells whose code switched since the previous step"),
                    key="interp_grid")
    h, w = model.latent_shape
    st.caption(f"From #{a} to #{b}; of the {h * w} cells, {int((codes[0] != codes[-1]).sum())} have different codes at "
               "the two ends. Between two steps the quantized image changes only in the cells that switched; a step "
               "where none switched repeats the image before it.")
    scrub_codes(bundle, z, f"#{a}", f"#{b}")


def scrub_codes(bundle: Bundle, z_e, start: str, end: str, points: int = 201) -> None:
    """A scrubber along the quantized path, decoded in the page: the grid jumps where cells switch."""
    st.subheader("Scrub along the quantized path")
    with torch.no_grad():
        t = torch.linspace(0, 1, points)[:, None, None, None]
        codes = bundle.model.quantizer.indices((1 - t) * z_e[0] + t * z_e[1]).flatten(1)
    payload = {"paths": {"quantized z_q(k(t))": codes.tolist()}, "t": 0.5, "from": start, "to": end, "scale": 6}
    if live_decode.mount(bundle, "path", "vq_path", payload):
        st.caption(f"Drag t: the page decodes the code grid quantized at the nearest of {points} steps, with no rerun. "
                   "The image holds still, then jumps when a cell's code switches.")


def model_card_metrics(bundle: Bundle) -> None:
    """The model card's held-out figures of a VQ-VAE: D, the prior's rate, codebook use."""
    m = bundle.metrics
    st.latex(r"R = -\log p_{\text{prior}}(k(x))\ \text{(the PixelCNN's NLL of the image's codes)}")
    c = st.columns(5)
    c[0].metric("ELBO (nats/image)", f"{m['elbo']:.2f}")
    c[1].metric("D (nats/image)", f"{m['reconstruction']:.2f}")
    c[2].metric("R = prior NLL (nats/image)", f"{m['kl']:.2f}", help=m.get("rate"))
    c[3].metric("uniform rate h·w·log K (nats/image)", f"{m['uniform_rate']:.2f}")
    c[4].metric("codes used", f"{m['codebook']['used']} of {m['codebook']['codebook_size']}",
                f"perplexity {m['codebook']['perplexity']:.1f}", delta_color="off")
    st.caption(f"{m.get('split', 'test')} set, {m.get('n_images', 0):,} images; binarization: {m.get('binarization')}. "
               f"{m.get('epochs', '?')} VQ-VAE epochs, then {m.get('prior_epochs', '?')} prior epochs, in "
               f"{m.get('wall_time_s', 0) / 60:.0f} min on {m.get('device', '?')}. −ELBO = D + R is an upper bound "
               "on −log p(x).")


def training_curves(history: list[dict]) -> None:
    """The model card's curves of a VQ-VAE run: both phases."""
    st.subheader("Training curves")
    st.plotly_chart(vq_figures.vq_training_curves(history), key="card_vq_curves")
    st.caption("Left and middle: the VQ-VAE, per epoch (training batches' mean and the held-out split); right: "
               "the PixelCNN prior trained afterwards on the training images' code grids. Nats per image.")


def sidebar_metrics(bundle: Bundle) -> None:
    """The sidebar's test-set figures of a VQ-VAE: D, the prior's NLL as its rate, codebook use."""
    m = bundle.metrics
    st.sidebar.markdown(
        f"**Test set** ({m['n_images']:,} images)  \n"
        f"D **{m['reconstruction']:.2f}**, prior NLL **{m['kl']:.2f}** nats/image  \n"
        f"ELBO **{m['elbo']:.2f}** nats/image  \n"
        f"codes used **{m['codebook']['used']}** of {m['codebook']['codebook_size']}, perplexity "
        f"{m['codebook']['perplexity']:.1f}")
