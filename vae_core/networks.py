"""Encoder and decoder bodies. Sizes come from the ModelConfig; nothing is hard-coded.

Encoders map (B, C, H, W) -> (B, 2 * latent_dim), the concatenation of mu and logvar.
Decoders map (B, latent_dim) -> (B, C, H, W), the decoder's output parameter (Bernoulli
logits or Gaussian mean before the likelihood's link).
"""
from __future__ import annotations

from torch import nn

from vae_core.config import ModelConfig


def _act(name: str) -> nn.Module:
    return nn.ReLU() if name == "relu" else nn.Tanh()


def _mlp(widths: list[int], activation: str) -> list[nn.Module]:
    layers: list[nn.Module] = []
    for w_in, w_out in zip(widths[:-1], widths[1:]):
        layers += [nn.Linear(w_in, w_out), _act(activation)]
    return layers


def build_encoder(cfg: ModelConfig) -> nn.Module:
    c, h, w = cfg.image_shape
    if cfg.architecture == "mlp":
        widths = [c * h * w, *cfg.hidden]
        return nn.Sequential(nn.Flatten(), *_mlp(widths, cfg.activation),
                             nn.Linear(widths[-1], 2 * cfg.latent_dim))
    layers: list[nn.Module] = []
    for c_in, c_out in zip([c, *cfg.channels[:-1]], cfg.channels):
        # (B, c_in, H, W) -> (B, c_out, H/2, W/2)
        layers += [nn.Conv2d(c_in, c_out, 4, stride=2, padding=1), _act(cfg.activation)]
    flat = cfg.channels[-1] * (h // 2 ** len(cfg.channels)) * (w // 2 ** len(cfg.channels))
    head = [nn.Flatten()]
    if cfg.fc_hidden:
        head += [nn.Linear(flat, cfg.fc_hidden), _act(cfg.activation)]
        flat = cfg.fc_hidden
    return nn.Sequential(*layers, *head, nn.Linear(flat, 2 * cfg.latent_dim))


def build_decoder(cfg: ModelConfig) -> nn.Module:
    c, h, w = cfg.image_shape
    if cfg.architecture == "mlp":
        widths = [cfg.latent_dim, *reversed(cfg.hidden)]
        return nn.Sequential(*_mlp(widths, cfg.activation), nn.Linear(widths[-1], c * h * w),
                             nn.Unflatten(1, (c, h, w)))
    n = len(cfg.channels)
    h0, w0 = h // 2 ** n, w // 2 ** n
    chans = list(reversed(cfg.channels))
    stem: list[nn.Module] = []
    width = cfg.latent_dim
    if cfg.fc_hidden:
        stem += [nn.Linear(width, cfg.fc_hidden), _act(cfg.activation)]
        width = cfg.fc_hidden
    stem += [nn.Linear(width, chans[0] * h0 * w0), _act(cfg.activation),
             nn.Unflatten(1, (chans[0], h0, w0))]
    layers: list[nn.Module] = []
    for i, (c_in, c_out) in enumerate(zip(chans, [*chans[1:], c])):
        # (B, c_in, h, w) -> (B, c_out, 2h, 2w); no activation after the last layer.
        layers.append(nn.ConvTranspose2d(c_in, c_out, 4, stride=2, padding=1))
        if i < n - 1:
            layers.append(_act(cfg.activation))
    return nn.Sequential(*stem, *layers)

