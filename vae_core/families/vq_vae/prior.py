"""A PixelCNN (van den Oord et al. 2016, "Pixel Recurrent Neural Networks", section 3.5) over a
grid of discrete codes: the VQ-VAE's learned prior p(k) = prod_i p(k_i | k_<i), raster order.

Masked convolutions keep each output from seeing its own position and those after it: the
first layer (mask "A") sees only earlier positions, the later 3 x 3 layers (mask "B") also the
current one of the previous layer, which itself saw only earlier positions. Small on purpose:
a 7 x 7 grid of MNIST codes is 49 symbols.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class MaskedConv2d(nn.Conv2d):
    """A k x k convolution whose kernel is zero below the centre row and right of the centre
    (mask "A": the centre too). Shapes as nn.Conv2d, 'same' padding."""

    def __init__(self, c_in: int, c_out: int, kernel: int, mask_type: str):
        if mask_type not in ("A", "B") or kernel % 2 == 0:
            raise ValueError(f"mask_type must be 'A' or 'B' and the kernel odd, got {mask_type!r}, {kernel}")
        super().__init__(c_in, c_out, kernel, padding=kernel // 2)
        mask = torch.ones(kernel, kernel)
        centre = kernel // 2
        mask[centre, centre + (mask_type == "B"):] = 0
        mask[centre + 1:] = 0
        self.register_buffer("mask", mask, persistent=False)  # rebuilt from the type, not stored

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight * self.mask, self.bias, padding=self.padding)


class PixelCNN(nn.Module):
    """p(k) over (B, h, w) int64 grids of ``codes`` symbols: an embedding, a 7 x 7 mask-A layer,
    ``layers`` residual 3 x 3 mask-B layers of ``channels``, and 1 x 1 layers to logits."""

    def __init__(self, codes: int, channels: int = 64, layers: int = 4):
        super().__init__()
        # nn.Embedding's own init, drawn here so that it can be skipped on the meta device: the
        # loader builds a skeleton there to check shapes, and normal_ on meta imports torch's
        # compiler (2 s, on a VQ bundle's first opening). Same draw, same random stream.
        weight = torch.empty(codes, channels)
        if weight.device.type != "meta":
            nn.init.normal_(weight)
        self.embed = nn.Embedding(codes, channels, _weight=weight)
        self.first = MaskedConv2d(channels, channels, 7, "A")
        self.blocks = nn.ModuleList(MaskedConv2d(channels, channels, 3, "B") for _ in range(layers))
        self.head = nn.Sequential(nn.ReLU(), nn.Conv2d(channels, channels, 1), nn.ReLU(), nn.Conv2d(channels, codes, 1))

    def net(self, h: torch.Tensor) -> torch.Tensor:
        """(B, channels, h, w) embedded codes -> (B, codes, h, w) logits; output (i, j) depends
        only on inputs before (i, j) in raster order (tests check it by gradients)."""
        h = self.first(h)
        for block in self.blocks:
            h = h + block(F.relu(h))
        return self.head(h)

    def logits(self, indices: torch.Tensor) -> torch.Tensor:
        """(B, h, w) int64 -> (B, codes, h, w) logits of p(k_i | k_<i)."""
        return self.net(self.embed(indices).movedim(-1, 1))

    def log_prob(self, indices: torch.Tensor) -> torch.Tensor:
        """log p(k) of (B, h, w) grids: (B,), nats per grid (summed over its positions)."""
        return -F.cross_entropy(self.logits(indices), indices, reduction="none").flatten(1).sum(1)

    @torch.no_grad()
    def sample(self, n: int, grid: tuple[int, int], *, temperature: float = 1.0,
               generator: torch.Generator | None = None) -> torch.Tensor:
        """(n, h, w) int64 grids drawn position by position (h w passes); logits divided by
        ``temperature``, which 0 turns into the most likely code at each position.

        Raises:
            ValueError: temperature < 0.
        """
        if temperature < 0:
            raise ValueError(f"temperature must be >= 0, got {temperature}")
        device = self.embed.weight.device
        k = torch.zeros((n, *grid), dtype=torch.long, device=device)
        for i in range(grid[0]):
            for j in range(grid[1]):
                logits = self.logits(k)[:, :, i, j]
                if temperature == 0:
                    k[:, i, j] = logits.argmax(1)
                else:
                    probs = torch.softmax(logits / temperature, dim=1)
                    k[:, i, j] = torch.multinomial(probs, 1, generator=generator)[:, 0]
        return k
