"""Normalisation layers: RMSNorm, and L1 normalisation from the sub-8-bit training paper, which replaces the
root of a mean of squares by sqrt(pi/2) * mean |x| (equal to the standard deviation for Gaussian inputs):
no squares or square roots, so it stays cheap and well behaved in low-precision arithmetic."""

from __future__ import annotations

import math

import torch
from torch import nn

SQRT_HALF_PI = math.sqrt(math.pi / 2)


class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float = 1e-6):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.weight * x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)


class L1Norm(nn.Module):
    """y = gamma * (x - mu) / (sqrt(pi/2) * mean|x - mu| + eps) + beta with `center=True` (LayerNorm-style);
    y = gamma * x / (sqrt(pi/2) * mean|x| + eps) without (RMS-style, the default in the Llama blocks)."""

    def __init__(self, dim: int, eps: float = 1e-6, center: bool = False):
        super().__init__()
        self.eps = eps
        self.center = center
        self.weight = nn.Parameter(torch.ones(dim))
        self.bias = nn.Parameter(torch.zeros(dim)) if center else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.center:
            x = x - x.mean(-1, keepdim=True)
        y = self.weight * x / (SQRT_HALF_PI * x.abs().mean(-1, keepdim=True) + self.eps)
        return y + self.bias if self.bias is not None else y


def make_norm(kind: str, dim: int) -> nn.Module:
    if kind == "rms":
        return RMSNorm(dim)
    if kind == "l1":
        return L1Norm(dim)
    if kind == "l1_centered":
        return L1Norm(dim, center=True)
    raise ValueError(f"norm '{kind}': use rms, l1 or l1_centered")
