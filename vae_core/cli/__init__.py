"""The command lines: vae-train, vae-train-vq, vae-train-stage2, vae-evaluate, vae-sweep,
vae-import-examples (pyproject.toml); each is also ``python -m vae_core.cli.NAME``."""
