"""A faithful re-implementation of the pytorch/examples VAE pipeline (vae/main.py), the
baseline of ``python -m bench.train_speed``.

As upstream: a 784-400-20 MLP (ReLU, sigmoid output), binary cross-entropy summed over pixels
plus the closed-form KL, a DataLoader over ``torchvision.datasets.MNIST`` with ``ToTensor``
(grey levels, no binarization), batch 128, shuffled, Adam with learning rate 1e-3, and a
``loss.item()`` every step. Upstream's DataLoader options are kept: one worker and pinned
memory on CUDA, none on the CPU. Losses are nats per image.
"""
from __future__ import annotations

import time

import torch
import torch.nn.functional as F
from torch import nn


class VAE(nn.Module):
    """pytorch/examples vae/main.py's model, layer for layer."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 400)
        self.fc21 = nn.Linear(400, 20)
        self.fc22 = nn.Linear(400, 20)
        self.fc3 = nn.Linear(20, 400)
        self.fc4 = nn.Linear(400, 784)

    def encode(self, x):
        h1 = F.relu(self.fc1(x))
        return self.fc21(h1), self.fc22(h1)

    def reparameterize(self, mu, logvar):
        std = torch.exp(0.5 * logvar)
        eps = torch.randn_like(std)
        return mu + eps * std

    def decode(self, z):
        h3 = F.relu(self.fc3(z))
        return torch.sigmoid(self.fc4(h3))

    def forward(self, x):
        mu, logvar = self.encode(x.view(-1, 784))
        z = self.reparameterize(mu, logvar)
        return self.decode(z), mu, logvar


def loss_function(recon_x, x, mu, logvar):
    """Upstream's loss: BCE summed over pixels and images, plus KL(q(z|x) || N(0, I))."""
    bce = F.binary_cross_entropy(recon_x, x.view(-1, 784), reduction="sum")
    kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return bce + kld


def loaders(data_dir: str, device: torch.device, batch_size: int = 128):
    from torchvision import datasets, transforms

    kwargs = {"num_workers": 1, "pin_memory": True} if device.type == "cuda" else {}
    train = torch.utils.data.DataLoader(
        datasets.MNIST(data_dir, train=True, download=False, transform=transforms.ToTensor()),
        batch_size=batch_size, shuffle=True, **kwargs)
    test = torch.utils.data.DataLoader(
        datasets.MNIST(data_dir, train=False, transform=transforms.ToTensor()),
        batch_size=batch_size, shuffle=False, **kwargs)
    return train, test


def train_epoch(model, optimizer, loader, device) -> tuple[float, int]:
    """One epoch as upstream's train(); returns (mean loss in nats per image, images seen)."""
    model.train()
    train_loss = 0.0
    for data, _ in loader:
        data = data.to(device)
        optimizer.zero_grad()
        recon_batch, mu, logvar = model(data)
        loss = loss_function(recon_batch, data, mu, logvar)
        loss.backward()
        train_loss += loss.item()  # upstream reads the loss back every step
        optimizer.step()
    return train_loss / len(loader.dataset), len(loader.dataset)


@torch.no_grad()
def test_loss(model, loader, device) -> float:
    """Upstream's test(): the negative ELBO with one z per image, nats per image."""
    model.eval()
    total = 0.0
    for data, _ in loader:
        data = data.to(device)
        recon_batch, mu, logvar = model(data)
        total += loss_function(recon_batch, data, mu, logvar).item()
    return total / len(loader.dataset)


def run(data_dir: str, epochs: int, device: torch.device, seed: int = 1) -> dict:
    """Train as upstream does (seed 1 is upstream's default); epoch times cover the training
    pass only, as upstream's own log does."""
    torch.manual_seed(seed)
    model = VAE().to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    train_loader, test_loader = loaders(data_dir, device)
    times, images = [], 0
    for _ in range(epochs):
        start = time.perf_counter()
        _, n = train_epoch(model, optimizer, train_loader, device)
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
        images += n
    return {"epoch_seconds": times, "images": images, "test_loss": test_loss(model, test_loader, device)}
