"""Print README's table of shipped checkpoints from the bundles themselves (config.json and
metrics.json), so every quoted figure comes from a file and a command.

    python -m tools.checkpoint_table [checkpoints]
"""
from __future__ import annotations

import sys
from pathlib import Path

from vae_core.checkpoint import find_bundles, read_configs, read_metrics


def row(folder: Path) -> tuple[str, str]:
    """One table row and the command that made the bundle."""
    _, train, command = read_configs(folder)
    m = read_metrics(folder)
    ll = m.get("log_likelihood", {})
    patience = train.patience
    stale = m["epochs"] - m["best_epoch"]
    stopped = (f"held-out ELBO flat for {stale} epochs" if patience and stale >= patience
               else f"stopped by --max-minutes, of {train.epochs:,}" if "stopped" in m else "epoch cap")
    data = f"{train.dataset}, {m['n_images']:,}, " + ("binarized" if m["binarization"].startswith("stochastic") else "grey levels")
    size = sum(f.stat().st_size for f in folder.iterdir() if f.is_file()) / 2**20
    return (f"| `{folder.name}` | {data} | {size:.1f} MB | {m['epochs']}, best {m['best_epoch']} ({stopped}) | {_duration(m['wall_time_s'])} "
            f"on {m['device']} | {m['elbo']:.2f} | {m['reconstruction']:.2f} | {m['kl']:.2f} | "
            f"{ll.get('estimate', float('nan')):.2f} (k = {ll.get('k', '-')}) | {m['active_units']} of "
            f"{m['latent_dim']} |"), f"- `{folder.name}`: `{command}`"


def vq_row(folder: Path) -> tuple[str, str]:
    """One row of the VQ-VAE table (vae_core.families.vq_vae.evaluation's figures) and its command."""
    _, train, command = read_configs(folder)
    m = read_metrics(folder)
    c, f = m["codebook"], m.get("frechet_distance") or {}
    size = sum(p.stat().st_size for p in folder.iterdir() if p.is_file()) / 2**20
    fd = f"{f['prior_samples']:.2f} / {f['uniform_samples']:.2f}" if f else "—"
    return (f"| `{folder.name}` | {train.dataset}, {m['n_images']:,} | {size:.1f} MB | {m['epochs']} + {m['prior_epochs']} | "
            f"{_duration(m['wall_time_s'])} on {m['device']} | {m['reconstruction']:.2f} | {m['kl']:.2f} | "
            f"{m['uniform_rate']:.2f} | {m['elbo']:.2f} | {c['used']} of {c['codebook_size']} ({c['perplexity']:.1f}) | "
            f"{fd} |"), f"- `{folder.name}`: `{command}`"


def imported_row(folder: Path) -> tuple[str, str]:
    """One row for a model trained elsewhere and imported (scored on its probe images)."""
    model, _, command = read_configs(folder)
    m = read_metrics(folder)
    size = sum(p.stat().st_size for p in folder.iterdir() if p.is_file()) / 2**20
    return (f"| `{folder.name}` | {model.source} | {m['n_images']:,} | {size:.1f} MB | {m['elbo']:.2f} | "
            f"{m['reconstruction']:.2f} | {m['kl']:.2f} | {m['active_units']} of {m['latent_dim']} |"), \
        f"- `{folder.name}`: `{command}`"


def frechet_row(folder: Path) -> str | None:
    """One row of the sample-quality table, or None when the bundle has no Fréchet distances."""
    f = (read_metrics(folder) or {}).get("frechet_distance")
    if not f or "uniform_samples" in f:  # a VQ-VAE's are in its own table
        return None
    samples = f.get("prior_samples", f.get("stage1_samples"))
    stage2 = f.get("stage2_samples")
    ratio = f"{stage2 / samples:.2f}" if stage2 is not None else ""
    return (f"| `{folder.name}` | {f['test_vs_train']:.2f} | {f['reconstructions']:.2f} | {samples:.2f} | "
            + (f"{stage2:.2f} | {ratio} |" if stage2 is not None else "| |"))


def _duration(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds >= 60 else f"{seconds:.0f} s"


def main() -> None:
    root = Path(sys.argv[1] if len(sys.argv) > 1 else "checkpoints")
    found = [folder for folder in find_bundles(root) if read_metrics(folder)]
    imported = [imported_row(folder) for folder in found if read_metrics(folder).get("split") == "probe"]
    finished = [folder for folder in found if read_metrics(folder).get("split") != "probe"]
    rows = [row(folder) for folder in finished if "codebook" not in read_metrics(folder)]
    vq = [vq_row(folder) for folder in finished if "codebook" in read_metrics(folder)]
    print("| bundle | data set, test images, pixels | size | epochs | wall time | test ELBO | reconstruction D | "
          "KL R | L_k | active units |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    print("\n".join(r for r, _ in rows))
    print("\nMade by:\n")
    print("\n".join(c for _, c in rows))
    frechet = [r for folder in find_bundles(root) if (r := frechet_row(folder))]
    if frechet:
        print("\nFréchet distances to the 10,000 test images, on this project's classifier features (not the "
              "Inception FID of papers):\n")
        print("| bundle | training images (floor) | reconstructions | prior samples (stage 1) | stage-2 samples | "
              "stage 2 / stage 1 |")
        print("| --- | --- | --- | --- | --- | --- |")
        print("\n".join(frechet))
    if vq:
        print("\nVQ-VAE bundles (nats per image; the rate is the PixelCNN prior's NLL of the codes; Fréchet distances "
              "on this project's classifier features):\n")
        print("| bundle | data set, test images | size | epochs (VQ-VAE + prior) | wall time | reconstruction D | "
              "prior NLL | uniform rate h·w·log K | test ELBO | codes used (perplexity) | Fréchet: prior / uniform samples |")
        print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
        print("\n".join(r for r, _ in vq))
        print("\nMade by:\n")
        print("\n".join(c for _, c in vq))
    if imported:
        print("\nModels trained elsewhere and imported, scored on their probe images (nats per image):\n")
        print("| bundle | source | probe images | size | probe ELBO | reconstruction D | KL R | active units |")
        print("| --- | --- | --- | --- | --- | --- | --- | --- |")
        print("\n".join(r for r, _ in imported))
        print("\nMade by:\n")
        print("\n".join(c for _, c in imported))


if __name__ == "__main__":
    main()
