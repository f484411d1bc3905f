"""Seed 002's baseline: a multi-layer perceptron that regresses a pixel's ab from the p x p patch of L around it.

The perceptron is applied at every pixel at once: its first layer (a Linear on the flattened p*p patch)
is a p x p conv with zero padding, its hidden layers are 1x1 convs. Each output pixel therefore sees
exactly its p x p neighbourhood of L and nothing else: no features, only local lightness.
"""
from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from .heads import Colorizer, Head, scale_channels
from .registry import register


@dataclass(frozen=True)
class MLPConfig:
    """Patch perceptron: odd `patch` side, hidden layer sizes (scaled by width), ReLU between them."""

    head: str = "tanh"
    patch: int = 7
    hidden: tuple[int, ...] = (256, 128)
    width: float = 1.0


class PatchMLP(Colorizer):
    """L (B, 1, H, W) -> ab (B, 2, H, W), each pixel from its own p x p patch."""

    def __init__(self, cfg: MLPConfig):
        super().__init__()
        if cfg.patch < 1 or cfg.patch % 2 == 0:
            raise ValueError(f"PatchMLP: patch must be an odd size >= 1, got {cfg.patch!r}")
        if len(cfg.hidden) == 0:
            raise ValueError("PatchMLP: hidden must list at least one layer size, got ()")
        self.cfg = cfg
        layers: list[nn.Module] = []
        c_in, k = 1, cfg.patch
        for h in cfg.hidden:
            c_out = scale_channels(h, cfg.width)
            # first layer: Linear(p*p -> h) on every patch == p x p conv; later: Linear(h -> h') == 1x1 conv
            layers += [nn.Conv2d(c_in, c_out, k, padding=k // 2), nn.ReLU(inplace=True)]
            c_in, k = c_out, 1
        self.body = nn.Sequential(*layers)  # (B, 1, H, W) -> (B, hidden[-1], H, W)
        self.head = Head(cfg.head, c_in)


def _mlp(head: str, patch: int = 7, hidden: tuple[int, ...] = (256, 128), width: float = 1.0) -> PatchMLP:
    return PatchMLP(MLPConfig(head, int(patch), tuple(int(h) for h in hidden), width))


register("mlp", head="tanh", description="seed 002 baseline: per-pixel perceptron on a 7x7 patch of L")(_mlp)
