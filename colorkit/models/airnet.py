"""A fast CIFAR-10 classifier for the kit's pretrained judge, after the ideas of Keller Jordan's airbench.

Ideas taken (the code is ours): a frozen first layer that whitens 2x2 patches (its filters are the eigenvectors
of the training patches' covariance, scaled by 1/sqrt(eigenvalue), in both signs), three conv-pool-BN blocks
that keep the maps at 15x15 and 7x7 where the matrix units are fed, GELU, a global max-pool and a scaled
linear head. About 2 M parameters; 0.4 GFLOP forward per 32x32 image.

    net = AirNet(); net.init_whitening(uint8_images)   # (N, 3, 32, 32) uint8 training images
    logits = net(rgb)                                   # rgb in [0, 1], (B, 3, 32, 32) -> (B, 10)
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn

from .vgg import CIFAR_MEAN, CIFAR_STD


@dataclass(frozen=True)
class AirNetConfig:
    """Widths of the three blocks, the whitening patch size and the head's output scale."""

    widths: tuple[int, int, int] = (64, 256, 256)
    patch: int = 2  # whitening patch side: 2x2x3 = 12 dims -> 24 filters (both signs)
    head_scale: float = 1 / 9  # logits scaled down: the max-pooled features are large
    num_classes: int = 10


def conv_pool_block(c_in: int, c_out: int) -> nn.Sequential:
    """conv3x3 -> max-pool 2 -> BN -> GELU -> conv3x3 -> BN -> GELU (pooling early halves the second conv's cost)."""
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.MaxPool2d(2),
                         nn.BatchNorm2d(c_out), nn.GELU(),
                         nn.Conv2d(c_out, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.GELU())


class AirNet(nn.Module):
    """Whitening conv -> 3 conv-pool blocks -> global max-pool -> linear; RGB in [0, 1] in, logits out."""

    def __init__(self, cfg: AirNetConfig | None = None, in_channels: int = 3):
        super().__init__()
        self.cfg = cfg = cfg or AirNetConfig()
        self.in_channels = in_channels
        self.register_buffer("mean", torch.tensor(CIFAR_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(CIFAR_STD).view(1, 3, 1, 1), persistent=False)
        n_white = 2 * 3 * cfg.patch ** 2
        self.whiten = nn.Conv2d(3, n_white, cfg.patch, bias=True)  # frozen after init_whitening
        self.whiten.weight.requires_grad_(False)
        self.act = nn.GELU()
        c, blocks = n_white, []
        for w in cfg.widths:
            blocks.append(conv_pool_block(c, w))
            c = w
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(c, cfg.num_classes, bias=False)

    @torch.no_grad()
    def init_whitening(self, images: torch.Tensor, max_images: int = 5000, eps: float = 5e-4) -> None:
        """Set the first layer to whiten the 2x2 patches of `images` ((N, 3, H, W) uint8 or float in [0, 1])."""
        x = images[:max_images].float()
        x = x / 255 if images.dtype == torch.uint8 else x
        x = (x.to(self.mean.device) - self.mean) / self.std
        p = self.cfg.patch
        patches = x.unfold(2, p, 1).unfold(3, p, 1)  # (N, 3, H', W', p, p)
        patches = patches.permute(0, 2, 3, 1, 4, 5).reshape(-1, 3 * p * p).double()  # (M, 12)
        cov = torch.cov(patches.T)  # (12, 12)
        eigval, eigvec = torch.linalg.eigh(cov)
        filters = (eigvec / (eigval + eps).sqrt()).T.reshape(-1, 3, p, p)  # (12, 3, p, p): one per eigenvector
        self.whiten.weight.copy_(torch.cat([filters, -filters]).float())
        self.whiten.bias.zero_()

    def penultimate(self, x: torch.Tensor) -> torch.Tensor:
        """Pooled features (B, C) of RGB x in [0, 1], (B, 3, H, W)."""
        x = (x - self.mean) / self.std
        x = self.blocks(self.act(self.whiten(x)))  # (B, 256, 3, 3) for 32x32 inputs
        return x.amax(dim=(2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits (B, num_classes) of RGB x in [0, 1]."""
        return self.fc(self.penultimate(x)) * self.cfg.head_scale
