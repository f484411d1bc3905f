"""A pix2pix-style U-Net generator: L -> ab regression, the GAN generator of notebook 05.

Encoder: `depth` 4x4 stride-2 convs (LeakyReLU 0.2 before each but the first, batch norm after each
but the first and the innermost). Decoder: per level ReLU, 4x4 stride-2 transposed conv, batch norm,
dropout on the innermost `dropout_levels`, then concatenation with the mirrored encoder features (the
skips carry edges straight to the output). Channels: base * 2**i, capped at max_channels.
The outermost transposed conv returns `base` channels at full resolution and the Head maps them to ab
(pix2pix maps straight to the image with its last transposed conv + tanh).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .heads import Colorizer, Head, scale_channels
from .registry import register


@dataclass(frozen=True)
class UNetConfig:
    """U-Net options; H, W must be divisible by 2**depth (depth 5: 32x32 -> 1x1 at the bottleneck)."""

    head: str = "tanh"
    width: float = 1.0
    depth: int = 5
    base: int = 64
    max_channels: int = 512
    dropout: float = 0.5
    dropout_levels: int = 3  # pix2pix: dropout in the 3 innermost decoder levels (the noise z)


class UNet(Colorizer):
    """L (B, 1, H, W) -> ab (B, 2, H, W) with skip connections at every scale."""

    def __init__(self, cfg: UNetConfig):
        super().__init__()
        if cfg.depth < 1:
            raise ValueError(f"UNet: depth must be >= 1, got {cfg.depth!r}")
        self.cfg = cfg
        ch = [scale_channels(min(cfg.base * 2 ** i, cfg.max_channels), cfg.width) for i in range(cfg.depth)]
        downs, c_in = [], 1
        for i, c in enumerate(ch):  # down i: (B, c_in, h, w) -> (B, ch[i], h/2, w/2)
            layers: list[nn.Module] = [] if i == 0 else [nn.LeakyReLU(0.2, inplace=False)]
            layers.append(nn.Conv2d(c_in, c, 4, stride=2, padding=1, bias=i in (0, cfg.depth - 1)))
            if 0 < i < cfg.depth - 1:
                layers.append(nn.BatchNorm2d(c))
            downs.append(nn.Sequential(*layers))
            c_in = c
        ups = []
        for i in reversed(range(cfg.depth)):  # up i: (B, c_in, h, w) -> (B, ch[i-1], 2h, 2w), then concat skip
            c_out = ch[i - 1] if i > 0 else ch[0]
            layers = [nn.ReLU(inplace=False), nn.ConvTranspose2d(c_in, c_out, 4, stride=2, padding=1, bias=i == 0)]
            if i > 0:
                layers.append(nn.BatchNorm2d(c_out))
                if cfg.depth - 1 - i < cfg.dropout_levels and cfg.dropout > 0:
                    layers.append(nn.Dropout(cfg.dropout))
            ups.append(nn.Sequential(*layers))
            c_in = 2 * c_out if i > 0 else c_out  # skip concatenation doubles the channels
        self.downs, self.ups = nn.ModuleList(downs), nn.ModuleList(ups)
        self.head = Head(cfg.head, c_in)
        self.input_multiple = 2 ** cfg.depth

    def features(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for down in self.downs:
            x = down(x)  # (B, ch[i], H / 2**(i+1), W / 2**(i+1))
            skips.append(x)
        skips = skips[-2::-1]  # encoder outputs from the second innermost to the outermost
        for j, up in enumerate(self.ups):
            x = up(x)
            if j < len(skips):
                x = torch.cat([x, skips[j]], dim=1)  # (B, 2 * c, h, w)
        return torch.relu(x)  # (B, base * width, H, W)


def _unet(head: str, width: float = 1.0, depth: int = 5, base: int = 64, max_channels: int = 512,
          dropout: float = 0.5, dropout_levels: int = 3) -> UNet:
    return UNet(UNetConfig(head, width, depth, base, max_channels, dropout, dropout_levels))


register("unet", head="tanh", description="pix2pix-style U-Net generator (GAN notebook 05)")(_unet)
