"""One sentence for every view that reads D, R or the ELBO of a bundle that was not trained on
the ELBO: an importance-weighted autoencoder (``--objective iwae``, Burda et al. 2016)."""
from __future__ import annotations

import streamlit as st

from vae_core import Bundle


def iwae_note(bundle: Bundle) -> str | None:
    """Markdown saying that ``bundle`` trained on L_k and what its D and R still mean; None for
    a bundle trained on the ELBO or a variant of it (β, capacity, free bits)."""
    cfg = bundle.train_config
    if getattr(cfg, "objective", "elbo") != "iwae":
        return None
    k = cfg.mc_samples
    return (f"**Trained on the importance-weighted bound L_{k}, not the ELBO** (an IWAE: Burda et al. 2016, "
            f"k = {k} samples of z per image). D and R are still the two parts of this encoder's ELBO, and "
            f"−(D + R) still bounds log p(x) from below, in nats per image. But training maximised L_{k}, "
            f"which asks q(z|x) only to be a good proposal for {k} weighted samples, not to be close to the true "
            "posterior as the ELBO does. So D + β·R is not the loss this model trained, at any β, and its point "
            "on the rate–distortion plane is not where a β-VAE would sit: set it beside other models by L_k.")


def show_iwae_note(bundle: Bundle) -> None:
    """Draw iwae_note as a callout where it applies."""
    note = iwae_note(bundle)
    if note:
        st.info(note, icon=":material/info:")
