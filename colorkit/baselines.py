"""The reference rows every results table carries: grayscale (ab = 0) and the training set's mean colour.

A colorizer that does not beat them on a metric has learnt nothing that this metric can see: on CIFAR-10 the
grayscale picture already has a high PSNR and SSIM, and one constant colour already has a low RMSE ab.
"""
from __future__ import annotations

from typing import Any, Callable

import torch

from .color import split_lab, uint8_to_float
from .data.imageset import image_tensor
from .device import default_device
from .metrics import colorizer_ab, evaluate_colorizer, rmse_ab
from .stats import mean_paired_bootstrap

GRAYSCALE = "grayscale (ab = 0)"
MEAN_COLOUR = "dataset-mean colour"


def mean_ab(images, batch_size: int = 1024) -> torch.Tensor:
    """The mean Lab (a, b) over every pixel of uint8 images (an ImageSet or a (N, 3, H, W) tensor): (2,) float64."""
    x = getattr(images, "images", images)
    if not isinstance(x, torch.Tensor) or x.dim() != 4 or x.shape[1] != 3 or x.dtype != torch.uint8 or len(x) == 0:
        got = f"shape {tuple(x.shape)}, dtype {x.dtype}" if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"mean_ab: expected at least one uint8 (N, 3, H, W) image, got {got}")
    total, count = torch.zeros(2, dtype=torch.float64), 0
    for i in range(0, x.shape[0], batch_size):
        ab = split_lab(uint8_to_float(x[i:i + batch_size]))[1]  # (b, 2, H, W)
        total += ab.double().sum(dim=(0, 2, 3)).cpu()
        count += ab[:, 0].numel()
    return total / count


def constant_colorizer(ab: torch.Tensor) -> Callable[[torch.Tensor], torch.Tensor]:
    """A colorizer that paints every pixel the colour ab (2,): L (B, 1, H, W) -> ab (B, 2, H, W)."""
    ab = torch.as_tensor(ab, dtype=torch.float64).flatten()
    if ab.shape != (2,):
        raise ValueError(f"constant_colorizer: expected ab as 2 numbers (a, b), got shape {tuple(ab.shape)}")
    return lambda L: ab.to(L).view(1, 2, 1, 1).expand(L.shape[0], 2, *L.shape[2:])


def baseline_rows(train, test, device: torch.device | str | None = None,
                  prior: torch.Tensor | None = None) -> list[dict]:
    """Results rows (as experiment rows, with params 0) of grayscale and of the training set's mean colour on test."""
    colorizers = {GRAYSCALE: constant_colorizer(torch.zeros(2)), MEAN_COLOUR: constant_colorizer(mean_ab(train))}
    return [{"model": name, **evaluate_colorizer(f, test, device=device, prior=prior), "params": 0}
            for name, f in colorizers.items()]


def per_image_rmse_ab(colorizer: Any, images, device: torch.device | str | None = None,
                      batch_size: int = 256) -> torch.Tensor:
    """RMSE ab of each image (N,) float64: colorizer is a Colorizer or a callable L (B, 1, H, W) -> ab."""
    x = image_tensor(images, "images", "per_image_rmse_ab", allow_empty=False)
    device = torch.device(device) if device is not None else default_device()
    out = []
    with torch.no_grad():
        for i in range(0, x.shape[0], batch_size):
            rgb = uint8_to_float(x[i:i + batch_size].to(device))  # (b, 3, H, W)
            L, ab = split_lab(rgb)
            out.append(rmse_ab(colorizer_ab(colorizer, rgb, L).to(ab), ab, reduction="none").double().cpu())
    return torch.cat(out)


def paired_difference(a: torch.Tensor, b: torch.Tensor, n_boot: int = 1000, seed: int = 0) -> dict[str, Any]:
    """Mean of a - b over the same images (per-image values) with its 95 % paired-bootstrap interval (colorkit.stats)."""
    return mean_paired_bootstrap(torch.as_tensor(a).double().numpy(), torch.as_tensor(b).double().numpy(),
                                 n_boot, seed)
