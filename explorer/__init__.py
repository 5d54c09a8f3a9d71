"""The Streamlit explorer: ``streamlit run explorer/app.py``."""
