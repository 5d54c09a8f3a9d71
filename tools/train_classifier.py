"""Train the feature classifier that the Fréchet distance of a data set uses, and write it
where vae_core looks for it (vae_core/classifiers/NAME.safetensors), with its test accuracy.

    python -m tools.train_classifier --dataset mnist --data-dir DIR [--epochs 4]

Targets (issue 12): at least 99 % test accuracy on MNIST, 90 % on Fashion-MNIST. The tool
refuses to write a classifier below the target it is given (--min-accuracy).
"""
from __future__ import annotations

import argparse
import shlex
import sys
import time

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from vae_core.data import load_dataset, to_float
from vae_core.sample_quality import FeatureClassifier, classifier_path, save_classifier


@torch.no_grad()
def accuracy(model: FeatureClassifier, images: torch.Tensor, labels: torch.Tensor) -> float:
    model.eval()
    hits = sum(int((model.logits(to_float(images[i:i + 1000])).argmax(1) == labels[i:i + 1000]).sum())
               for i in range(0, len(images), 1000))
    return hits / len(images)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dataset", choices=("mnist", "fashion-mnist"), required=True)
    p.add_argument("--data-dir", default=None)
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--lr-step", type=int, default=0, help="multiply the learning rate by 0.2 every N epochs; 0 never")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--min-accuracy", type=float, default=0.0, help="write nothing below this test accuracy")
    args = p.parse_args(argv)
    torch.manual_seed(args.seed)
    train = load_dataset(args.dataset, "train", args.data_dir, download=False)
    test = load_dataset(args.dataset, "test", args.data_dir, download=False)
    model = FeatureClassifier(channels=train.images.shape[1], n_classes=len(train.classes), side=train.images.shape[-1])
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    started = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        model.train()
        for group in optimizer.param_groups:
            group["lr"] = args.lr * 0.2 ** ((epoch - 1) // args.lr_step) if args.lr_step else args.lr
        order = torch.randperm(len(train))
        for i in tqdm(range(0, len(order), args.batch_size), desc=f"epoch {epoch}/{args.epochs}", leave=False):
            batch = order[i:i + args.batch_size]
            loss = F.cross_entropy(model.logits(to_float(train.images[batch])), train.labels[batch])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        print(f"epoch {epoch}: test accuracy {accuracy(model, test.images, test.labels):.4f}", flush=True)
    acc = accuracy(model, test.images, test.labels)
    if acc < args.min_accuracy:
        print(f"error: test accuracy {acc:.4f} is below --min-accuracy {args.min_accuracy}", file=sys.stderr)
        return 1
    out = classifier_path(args.dataset)
    command = "python -m tools.train_classifier " + shlex.join(
        ["DIR" if prev == "--data-dir" else a for prev, a in zip(["", *argv], argv)])
    save_classifier(model, out, {"dataset": args.dataset, "test_accuracy": acc, "test_images": len(test),
                                 "epochs": args.epochs, "train_seconds": round(time.perf_counter() - started, 1),
                                 "command": command})
    print(f"wrote {out}: test accuracy {acc:.4f} on {len(test):,} test images")
    return 0


if __name__ == "__main__":
    sys.exit(main())
