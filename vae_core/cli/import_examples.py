"""Open foreign weights as a bundle: the pytorch/examples VAE (``vae/main.py``).

    vae-import-examples vae.pth --out checkpoints/examples-vae [--data-dir DIR]

That model is an MLP 784-400-20 with a Bernoulli decoder: ``fc1`` (400, 784), ``fc21`` (mu)
and ``fc22`` (logvar) (20, 400), ``fc3`` (400, 20), ``fc4`` (784, 400), ReLU between, a
sigmoid on the output. Its files are pickles, so they are read with
``torch.load(weights_only=True)`` only, which unpickles tensors and plain containers and
refuses anything else (a class, a function call), so a planted payload never runs.
"""
from __future__ import annotations

import pickle
import sys
from pathlib import Path

import torch
from torch import nn

from vae_core import checkpoint as ckpt
from vae_core.cli.options import Parser, recorded_command
from vae_core.config import ModelConfig, TrainConfig
from vae_core.data import DatasetNotFoundError, load_dataset, probe_subset
from vae_core.families.gaussian.model import VAE

KEYS = ("fc1.weight", "fc1.bias", "fc21.weight", "fc21.bias", "fc22.weight", "fc22.bias",
        "fc3.weight", "fc3.bias", "fc4.weight", "fc4.bias")


def read_examples_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """The state dict in ``path``, checked: exactly KEYS, float tensors of consistent shapes
    for 784 inputs, finite values.

    Raises:
        BundleError: the file is missing, too large, not a weights-only PyTorch file (any
            pickled object other than tensors and containers is refused unread), or does not
            hold this model's weights. The message names the file and the problem.
    """
    path = Path(path)
    if not path.is_file():
        raise ckpt.BundleError(path, "file is missing")
    if path.stat().st_size > ckpt.MAX_FILE_BYTES:
        raise ckpt.BundleError(path, f"file is over the {ckpt.MAX_FILE_BYTES} byte limit")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, OSError, AttributeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ckpt.BundleError(path, f"refused: not a weights-only PyTorch file ({first})") from None
    if not isinstance(state, dict) or set(state) != set(KEYS):
        found = sorted(state)[:12] if isinstance(state, dict) else type(state).__name__
        raise ckpt.BundleError(path, f"not a pytorch/examples VAE state dict: expected keys {list(KEYS)}, found {found}")
    hidden, latent = _shape(path, state, "fc1.weight", 2)[0], _shape(path, state, "fc21.weight", 2)[0]
    expected = {"fc1.weight": (hidden, 784), "fc1.bias": (hidden,), "fc21.weight": (latent, hidden),
                "fc21.bias": (latent,), "fc22.weight": (latent, hidden), "fc22.bias": (latent,),
                "fc3.weight": (hidden, latent), "fc3.bias": (hidden,), "fc4.weight": (784, hidden), "fc4.bias": (784,)}
    for key, shape in expected.items():
        tensor = state[key]
        if not isinstance(tensor, torch.Tensor) or tuple(tensor.shape) != shape or not tensor.is_floating_point():
            got = tuple(tensor.shape) if isinstance(tensor, torch.Tensor) else type(tensor).__name__
            raise ckpt.BundleError(path, f"{key} must be a float tensor of shape {shape}, got {got}")
        if not torch.isfinite(tensor).all():
            raise ckpt.BundleError(path, f"{key} holds NaN or infinite values")
    return {k: v.float() for k, v in state.items()}


def _shape(path: Path, state: dict, key: str, dims: int) -> tuple[int, ...]:
    tensor = state[key]
    if not isinstance(tensor, torch.Tensor) or tensor.dim() != dims:
        raise ckpt.BundleError(path, f"{key} must be a {dims}-D tensor")
    return tuple(tensor.shape)


def examples_vae(state: dict[str, torch.Tensor]) -> VAE:
    """Our VAE holding those weights: an MLP with one hidden layer of fc1's width, ReLU and a
    Bernoulli decoder whose logits are fc4's output (the reference's sigmoid is its mean).
    The encoder's last layer stacks fc21 over fc22, as our encoder outputs [mu, logvar]."""
    hidden, latent = state["fc1.weight"].shape[0], state["fc21.weight"].shape[0]
    config = ModelConfig(image_shape=(1, 28, 28), architecture="mlp", hidden=(hidden,), latent_dim=latent,
                         activation="relu", likelihood="bernoulli")
    model = VAE(config)
    # The examples' dense layers, in order, onto ours (found by type, so a change to the layer
    # indices of networks.py cannot break the import); encoder's last layer is [mu; logvar].
    encoder = [m for m in model.encoder.modules() if isinstance(m, nn.Linear)]
    decoder = [m for m in model.decoder.modules() if isinstance(m, nn.Linear)]
    pairs = [(encoder[0], state["fc1.weight"], state["fc1.bias"]),
             (encoder[1], torch.cat([state["fc21.weight"], state["fc22.weight"]]),
              torch.cat([state["fc21.bias"], state["fc22.bias"]])),
             (decoder[0], state["fc3.weight"], state["fc3.bias"]),
             (decoder[1], state["fc4.weight"], state["fc4.bias"])]
    if len(encoder) != 2 or len(decoder) != 2:
        raise RuntimeError(f"our one-hidden-layer MLP should have 2 dense layers each way, found "
                           f"{len(encoder)} and {len(decoder)}")
    with torch.no_grad():
        for layer, weight, bias in pairs:
            layer.weight.copy_(weight)
            layer.bias.copy_(bias)
    return model.eval()


def import_examples(path: str | Path, out: str | Path, *, data_dir: str | Path | None = None,
                    command: str | None = None, probe_size: int = 4000) -> Path:
    """Write a bundle in ``out`` from a pytorch/examples VAE state dict, with MNIST test
    images as its probe set (not binarized, as that example trains on grey levels).

    Raises:
        BundleError: see read_examples_state_dict; nothing is written then.
        DatasetNotFoundError: the MNIST test files are not in ``data_dir``.
    """
    model = examples_vae(read_examples_state_dict(path))
    test_set = load_dataset("mnist", "test", data_dir, download=False)
    probe = probe_subset(test_set, min(probe_size, len(test_set)))
    out = Path(out)
    dataset = {"name": "mnist", "image_shape": [1, 28, 28], "value_range": [0.0, 1.0], "classes": test_set.classes,
               "binarized": False, "likelihood": "bernoulli", "imported_from": f"pytorch/examples vae: {Path(path).name}"}
    ckpt.write_config(out, model.config, TrainConfig(dataset="mnist", binarize=False, device="cpu"), dataset, command)
    ckpt.write_probe(out, probe.images, probe.labels)
    ckpt.write_weights(out, model)
    return out


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = Parser(prog="vae-import-examples",
                                     description="Open a pytorch/examples VAE state dict (.pth) as a checkpoint bundle.")
    parser.add_argument("weights", help="the .pth file written by torch.save(model.state_dict(), ...)")
    parser.add_argument("--out", required=True, help="bundle folder to write")
    parser.add_argument("--data-dir", default=None, help="folder with MNIST/raw/*.gz, for the probe images")
    args = parser.parse_args(argv)
    try:
        out = import_examples(args.weights, args.out, data_dir=args.data_dir,
                              command=recorded_command("vae-import-examples", argv))
    except (ckpt.BundleError, DatasetNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {out}; score it with: vae-evaluate {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
