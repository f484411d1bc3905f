"""A fast CIFAR-10 classifier for the kit's pretrained judge, after the ideas of Keller Jordan's airbench.

Ideas taken (the code is ours): a frozen first layer that whitens 2x2 patches (its filters are the eigenvectors
of the training patches' covariance, scaled by 1/sqrt(eigenvalue), in both signs), three conv-pool-BN blocks
that keep the maps at 15x15 and 7x7 where the matrix units are fed, GELU, a global max-pool and a scaled
linear head. About 2 M parameters; 0.4 GFLOP forward per 32x32 image.

    net = AirNet(); net.init_whitening(uint8_images)   # (N, 3, 32, 32) uint8 training images
    logits = net(rgb)                                   # rgb in [0, 1], (B, 3, 32, 32) -> (B, 10)

With `AirNetConfig(inputs="ab")` the net still takes RGB in [0, 1] but sees only the image's Lab a and b channels
(the chroma judge: a grayscale image, ab = 0, carries nothing it can use).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn

from ..color import rgb_to_lab
from .vgg import CIFAR_MEAN, CIFAR_STD

INPUTS = ("rgb", "ab")
AB_INPUT_SCALE = 50.0  # Lab a/b units -> about unit spread (CIFAR-10's chroma std is ~15-20)


@dataclass(frozen=True)
class AirNetConfig:
    """Widths of the three blocks, the whitening patch size and the head's output scale."""

    widths: tuple[int, int, int] = (64, 256, 256)
    patch: int = 2  # whitening patch side: 2x2x3 = 12 dims -> 24 filters (both signs)
    head_scale: float = 1 / 9  # logits scaled down: the max-pooled features are large
    num_classes: int = 10
    inputs: str = "rgb"  # "rgb": normalised RGB; "ab": only Lab a, b (computed from the RGB given)

    def __post_init__(self) -> None:
        if self.inputs not in INPUTS:
            raise ValueError(f"AirNetConfig: inputs must be one of {', '.join(INPUTS)}, got {self.inputs!r}")
        if len(self.widths) != 3 or any(int(w) < 1 for w in self.widths):
            raise ValueError(f"AirNetConfig: widths must be three positive ints, got {self.widths!r}")


def conv_pool_block(c_in: int, c_out: int) -> nn.Sequential:
    """conv3x3 -> max-pool 2 -> BN -> GELU -> conv3x3 -> BN -> GELU (pooling early halves the second conv's cost)."""
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.MaxPool2d(2),
                         nn.BatchNorm2d(c_out), nn.GELU(),
                         nn.Conv2d(c_out, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.GELU())


class AirNet(nn.Module):
    """Whitening conv -> 3 conv-pool blocks -> global max-pool -> linear; RGB in [0, 1] in, logits out."""

    def __init__(self, cfg: AirNetConfig | None = None):
        super().__init__()
        self.cfg = cfg = cfg or AirNetConfig()
        self.in_channels = 3  # RGB in [0, 1], whatever the net looks at
        self.register_buffer("mean", torch.tensor(CIFAR_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(CIFAR_STD).view(1, 3, 1, 1), persistent=False)
        c_in = 3 if cfg.inputs == "rgb" else 2
        n_white = 2 * c_in * cfg.patch ** 2
        self.whiten = nn.Conv2d(c_in, n_white, cfg.patch, bias=True)  # frozen after init_whitening
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
        x = self.prepare(x.to(self.mean.device))  # (N, C, H, W), C = 3 (rgb) or 2 (ab)
        p, c = self.cfg.patch, x.shape[1]
        patches = x.unfold(2, p, 1).unfold(3, p, 1)  # (N, C, H', W', p, p)
        patches = patches.permute(0, 2, 3, 1, 4, 5).reshape(-1, c * p * p).double()  # (M, C p p)
        cov = torch.cov(patches.T)  # (C p p, C p p)
        eigval, eigvec = torch.linalg.eigh(cov)
        filters = (eigvec / (eigval + eps).sqrt()).T.reshape(-1, c, p, p)  # one filter per eigenvector
        self.whiten.weight.copy_(torch.cat([filters, -filters]).float())
        self.whiten.bias.zero_()

    def prepare(self, x: torch.Tensor) -> torch.Tensor:
        """What the net looks at: normalised RGB (B, 3, H, W), or Lab ab / AB_INPUT_SCALE (B, 2, H, W)."""
        if self.cfg.inputs == "ab":
            with torch.autocast(x.device.type, enabled=False):  # float32 colour maths: grey stays exactly ab = 0
                return rgb_to_lab(x.float())[:, 1:] / AB_INPUT_SCALE
        return (x - self.mean) / self.std

    def penultimate(self, x: torch.Tensor) -> torch.Tensor:
        """Pooled features (B, C) of RGB x in [0, 1], (B, 3, H, W)."""
        x = self.blocks(self.act(self.whiten(self.prepare(x))))  # (B, widths[-1], 3, 3) for 32x32 inputs
        return x.amax(dim=(2, 3))

    def logits(self, features: torch.Tensor) -> torch.Tensor:
        """Class logits (B, num_classes) from penultimate features (B, C)."""
        return self.fc(features) * self.cfg.head_scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits (B, num_classes) of RGB x in [0, 1]."""
        return self.logits(self.penultimate(x))
