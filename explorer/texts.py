"""The words and equations of the views that a static page shows too, written once.

The explorer's views (explorer/views/) and the static page (explorer/site/) both take a
section's title, lead and equations from here, so the two cannot drift apart. A lead says
what the section shows and how to read it; what to click in one medium or the other stays
with that medium. ``{name}`` fields are filled by :func:`lead` (``dim``, for instance).
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Section:
    """``lead`` is Markdown (``**bold**`` only) with ``{fields}``; ``equations`` are LaTeX."""

    title: str
    lead: str
    equations: tuple[str, ...]


ELBO_GAUSSIAN = (r"-\mathrm{ELBO}(x) = \underbrace{-\mathbb{E}_{q(z|x)}[\log p(x\mid z)]}_{D}"
                 r" + \underbrace{\mathrm{KL}(q(z\mid x)\,\|\,p(z))}_{R}")

CARD_LEAD = ("What the bundle says about itself: its configuration, data set, the command that made it and its "
             "held-out figures. All terms in nats per image; the ELBO is the negative of D + R.")

SECTIONS: dict[str, Section] = {
    "reconstructions": Section(
        "Reconstructions",
        "Each column is a held-out image *x*, the input the model scores, and the decoder's mean at the "
        "posterior mean, E[x | z = μ(x)]. Below each: its **reconstruction term** D = −log p(x | z), "
        "z ~ q(z|x) (one sample, as in training), and its **KL term** R = KL(q(z|x) ‖ p(z)), both in "
        "nats per image; their sum is the image's −ELBO.",
        (ELBO_GAUSSIAN,)),
    "reconstructions_vq": Section(
        "Reconstructions",
        "Each column is a held-out image *x*, the input the model scores, and the decoder's mean at its "
        "quantized codes z_q(x) (the encoder's output snapped to the nearest codebook vectors, the same on "
        "every call). Below each: its **reconstruction term** D = −log p(x | z_q(x)) and its **rate** "
        "R = −log p(k(x)), the codes' cost under the PixelCNN prior, both in nats per image; their sum is "
        "the image's −ELBO.",
        (r"-\mathrm{ELBO}(x) = \underbrace{-\log p(x\mid z_q(x))}_{D}"
         r" + \underbrace{-\log p_{\mathrm{prior}}(k(x))}_{R}",)),
    "traversals": Section(
        "Latent traversals",
        "Start from an anchor z (an image's posterior mean, or the prior mean 0), move one coordinate "
        "z_j by t while holding the others, and decode. Dimensions are ordered by their average KL: "
        "those first carry information; one whose image does not change is a collapsed dimension "
        "(KL ≈ 0), which the decoder ignores.",
        (r"x_{j,t} = \mathbb{E}\left[x \mid z = \bar z + t\,e_j\right],\quad t \in [-3, 3]",)),
    "manifold": Section(
        "Manifold grid",
        "Two latent coordinates at a time: z_i runs along the columns and z_j up the rows, through the "
        "quantiles of the prior N(0, 1) from 5 % to 95 %, so every cell covers the same prior probability; "
        "every other dimension is held at the anchor. With a 2-D latent this is the whole learned manifold, "
        "as in Kingma & Welling (2014), figure 4.",
        (r"x_{ab} = \mathbb{E}\!\left[x \mid z_i = \Phi^{-1}(p_a),\ z_j = \Phi^{-1}(p_b),\ "
         r"z_{\setminus ij} = \bar z_{\setminus ij}\right],\quad p \in [0.05, 0.95]",)),
    "interpolation": Section(
        "Interpolation",
        "Walk from one image's posterior mean to another's and decode each step. A **linear** path "
        "cuts through the middle of the latent space, where points have a smaller norm than samples "
        "from the prior usually do; a **spherical** path turns the direction along a great circle "
        "(slerp of μ/‖μ‖) while the norm moves evenly from ‖μ_a‖ to ‖μ_b‖, staying where the decoder "
        "was trained (White 2016). If the images in between look like plausible images of the data set, the "
        "latent space is smooth between these two.",
        (r"z_t^{\text{lin}} = (1-t)\,\mu_a + t\,\mu_b",
         r"z_t^{\text{slerp}} = \big((1-t)\|\mu_a\| + t\|\mu_b\|\big)\left(\frac{\sin((1-t)\Omega)}{\sin\Omega}\,u_a"
         r" + \frac{\sin(t\Omega)}{\sin\Omega}\,u_b\right),\qquad u = \frac{\mu}{\|\mu\|},\quad \cos\Omega = u_a\cdot u_b")),
    "latent_map": Section(
        "Latent map",
        "Each point is one held-out image placed by its **posterior mean** μ(x), the centre of q(z|x), "
        "projected from {dim} dimensions to 2. PCA keeps the directions of largest variance (distances "
        "mean something); t-SNE and UMAP keep neighbourhoods (clusters mean something, distances between "
        "them do not). Colour is the true label, which the model never saw.",
        (r"q(z\mid x) = \mathcal{N}\big(\mu(x), \operatorname{diag}\sigma^2(x)\big),\qquad "
         r"\text{point} = \mathrm{proj}(\mu(x))",)),
    "generation": Section(
        "Generation",
        "A VAE is a generative model: draw z from the prior and decode. The **decoder mean** E[x|z] is the "
        "smooth picture usually shown; a **sample** x ~ p(x|z) adds the decoder's own noise (for a Bernoulli "
        "decoder every pixel becomes 0 or 1), which is what the model's likelihood actually describes. "
        "The **temperature** T scales the prior's spread: T < 1 stays near the centre (typical, less varied "
        "images), T > 1 reaches regions the decoder rarely saw.",
        (r"z \sim \mathcal{N}(0, T^2 I),\qquad x \sim p_\theta(x\mid z)\quad\text{or}\quad "
         r"\hat x = \mathbb{E}_{p_\theta(x|z)}[x]",)),
    "generation_two_stage": Section(
        "Stage 1 against stage 2",
        "A two-stage VAE (Dai & Wipf 2019) draws u ~ N(0, T²I) and takes it through stage 2, so z follows "
        "the aggregate posterior q(z), where stage 1's decoder was trained; stage 1 alone draws "
        "z ~ N(0, T²I), where the data may have left holes.",
        (r"\text{stage 1: } z \sim \mathcal N(0, T^2 I)\qquad\text{stage 2: } u \sim \mathcal N(0, T^2 I),\ "
         r"z = f_2(u) + \gamma_z\varepsilon\qquad x = \mathbb E[x\mid z]",)),
    "generation_vq": Section(
        "Generation",
        "A VQ-VAE generates in two steps: draw a grid of codes from the **prior over codes**, then decode it. "
        "During training the prior is uniform, so the rate is the same h·w·log K for every image and teaches "
        "the model nothing; afterwards a PixelCNN learns p(k) = ∏ p(k_ij | earlier cells) from the training "
        "set's grids. Codes drawn **uniformly**, each cell on its own, are grids the decoder can read, but "
        "almost none is a grid a digit produces.",
        (r"k \sim p(k) = \prod_{ij} p(k_{ij} \mid k_{<ij})\ \text{(PixelCNN)}\quad\text{vs}\quad "
         r"k_{ij} \sim \mathcal U\{0, \dots, K-1\},\qquad \hat x = \mathbb E[x \mid z_q(k)]",)),
    "code_edit": Section(
        "Edit the codes",
        "The decoder of a VQ-VAE reads nothing but the grid of code indices, so the grid can be written by "
        "hand: choose another code for one cell and the image is decoded again from the edited grid. The "
        "decoder is convolutional: a cell mostly changes the pixels above it and their neighbours, which is "
        "what makes discrete codes composable.",
        (r"\hat x = \mathbb{E}[x \mid z_q],\qquad (z_q)_{ij} = e_{k_{ij}},\quad k_{ij} \in \{0, \dots, K-1\}",)),
    "beta_gesture": Section(
        "β as one gesture",
        "Move β through a family of models trained alike except for β, and watch everything change at once: "
        "the reconstructions sharpen as β falls, the latent map gains structure as β rises towards 1 and "
        "loses it beyond, prior samples go from noise (β = 0, a plain autoencoder whose codes the prior "
        "does not describe) to blurred averages (large β), and the rate R moves along the family's "
        "rate–distortion curve.",
        (r"\min_{\theta,\phi}\; D + \beta R,\qquad D = -\mathbb{E}_{q}[\log p(x\mid z)],\quad "
         r"R = \mathrm{KL}(q(z\mid x)\,\|\,p(z))",)),
    "model_card": Section(
        "Model card",
        CARD_LEAD,
        (r"\mathrm{ELBO} = -(D + R) \le \mathcal{L}_k \le \log p(x)",)),
    "model_card_point": Section(  # a VQ-VAE: its posterior is a point mass on its codes, so no L_k
        "Model card",
        CARD_LEAD,
        (r"\mathrm{ELBO} = -(D + R) \le \log p(x)",)),
}


def lead(name: str, **fields) -> str:
    """The section's lead with its ``{fields}`` filled. Raises KeyError for an unknown section
    or a field left unfilled."""
    return SECTIONS[name].lead.format(**fields)


def header(name: str, *, title: str | None = None, **fields) -> None:
    """A view's title, lead and equations, as st.title, st.markdown and st.latex."""
    import streamlit as st

    section = SECTIONS[name]
    st.title(title or section.title)
    st.markdown(lead(name, **fields))
    for equation in section.equations:
        st.latex(equation)
