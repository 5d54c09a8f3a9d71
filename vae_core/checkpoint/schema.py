"""What the JSON files of a bundle may hold, checked before any view reads them: a stranger's
metrics.json of the wrong types, or JSON nested thousands deep, must end as one sentence
naming the key, not as a KeyError or RecursionError in a page. Each check returns the problem
in words, or None; the reader raises BundleError with it (vae_core.checkpoint.files)."""
from __future__ import annotations

import math
from typing import Any

MAX_JSON_DEPTH = 32  # the deepest shipped file is 3 levels; 1,000 levels crash Python's json

NUMBER, INTEGER, STRING, OBJECT = "a number", "an integer", "a string", "an object"
NUMBERS, INTEGERS = "a list of numbers", "a list of integers"

# Keys a view reads from metrics.json, with their types; other keys may hold any JSON.
METRICS = {
    "elbo": NUMBER, "reconstruction": NUMBER, "kl": NUMBER, "bits_per_dim": NUMBER, "wall_time_s": NUMBER,
    "eval_seconds": NUMBER, "uniform_rate": NUMBER, "uniform_elbo": NUMBER, "active_units_threshold": NUMBER,
    "n_images": INTEGER, "active_units": INTEGER, "latent_dim": INTEGER, "epochs": INTEGER,
    "best_epoch": INTEGER, "prior_epochs": INTEGER, "processes": INTEGER,
    "units": STRING, "split": STRING, "binarization": STRING, "device": STRING, "rate": STRING,
    "kl_per_dim": NUMBERS, "latent_shape": INTEGERS,
    "log_likelihood": OBJECT, "log_likelihood.estimate": NUMBER, "log_likelihood.k": INTEGER,
    "codebook": OBJECT, "codebook.counts": NUMBERS, "codebook.perplexity": NUMBER, "codebook.used": INTEGER,
    "codebook.used_share": NUMBER, "codebook.codebook_size": INTEGER,
    "frechet_distance": OBJECT, "stage2": OBJECT, "stage2.stage1_command": STRING,
}
REQUIRED_METRICS = ("elbo", "reconstruction", "kl")  # every family writes them; the sidebar shows the ELBO
# A Fréchet report and the stage-2 settings hold numbers and strings only (views format each one).
SCALAR_SECTIONS = ("frechet_distance", "stage2")


def _is(value: Any, kind: str) -> bool:
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == NUMBER:
        return number
    if kind == INTEGER:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == STRING:
        return isinstance(value, str)
    if kind == OBJECT:
        return isinstance(value, dict)
    item = NUMBER if kind == NUMBERS else INTEGER
    return isinstance(value, list) and all(_is(v, item) for v in value)


def depth(value: Any) -> int:
    """How deeply lists and objects nest in a parsed JSON value (a scalar is 0), without recursion."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, (list, dict)):
            deepest = max(deepest, level + 1)
            stack.extend((child, level + 1) for child in (node.values() if isinstance(node, dict) else node))
    return deepest


def metrics_problem(metrics: Any) -> str | None:
    """Why ``metrics`` (parsed metrics.json) cannot be shown, or None when it can."""
    if not isinstance(metrics, dict):
        return "expected a JSON object"
    missing = [k for k in REQUIRED_METRICS if k not in metrics]
    if missing:
        return f"missing {', '.join(map(repr, missing))} (every bundle's metrics give ELBO, D and R)"
    for key, kind in METRICS.items():
        head, _, tail = key.partition(".")
        value = metrics.get(head)
        if tail:
            value = value.get(tail) if isinstance(value, dict) else None
        if value is not None and not _is(value, kind):
            return f"{key!r} must be {kind}, got {_short(value)}"
    for section in SCALAR_SECTIONS:
        for name, value in (metrics.get(section) or {}).items():
            if not (_is(value, NUMBER) or _is(value, STRING) or value is None):
                return f"'{section}.{name}' must be a number or a string, got {_short(value)}"
    for key in REQUIRED_METRICS:
        if not (_is(metrics[key], NUMBER) and math.isfinite(metrics[key])):
            return f"{key!r} must be a finite number, got {_short(metrics[key])}"
    return None


def classes_problem(dataset: dict[str, Any]) -> str | None:
    """Why config.json's "dataset" section cannot label the probe images, or None."""
    classes = dataset.get("classes")
    if classes is not None and not (isinstance(classes, list) and all(isinstance(c, str) for c in classes)):
        return f"\"dataset\": \"classes\" must be a list of strings, got {_short(classes)}"
    return None


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
