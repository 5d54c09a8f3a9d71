"""ONNX bundles (vae_core.families.onnx): no pages of their own; the model card says where the
graphs came from and what likelihood D is computed under."""
import streamlit as st


def model_card_note(bundle) -> None:
    m = bundle.model_config
    sigma = f" with σ = {m.sigma:g}" if m.likelihood == "gaussian" else ""
    st.caption(f"Two ONNX graphs run by onnxruntime ({m.source or 'source not recorded'}). D is computed under a "
               f"{m.likelihood} likelihood{sigma} from the decoder's output ({m.decoder_output}), as config.json says; "
               f"R is {bundle.model.rate_name}.")


SECTIONS = {"model_card_note": model_card_note}
