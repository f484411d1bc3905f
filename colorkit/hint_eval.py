"""Hint models measured as Zhang et al. 2017 (fig. 6): PSNR against the number of random ground-truth hints."""
from __future__ import annotations

from typing import Any, Sequence

import torch

from . import color
from .colorizer import Colorizer
from .data.imageset import image_tensor
from .hints import PATCH, hint_channels, random_hints
from .metrics import colorfulness, psnr

HINT_COUNTS = (0, 1, 2, 5, 10, 20, 50, 100)


@torch.no_grad()
def psnr_vs_hints(colorizer: Colorizer, test_set: Any, counts: Sequence[int] = HINT_COUNTS, full: bool = True,
                  seed: int = 0, batch_size: int = 256, patch: int = PATCH,
                  location: str = "gaussian") -> list[dict[str, Any]]:
    """Rows {hints, psnr, colorfulness} (means over the images) for n random ground-truth points per image.

    Each point is a patch mean of the true ab (colorkit.hints.random_hints, drawn from `seed` and the batch's first
    index); the "full" row gives the whole true ab as hints (mask 1 everywhere). An automatic colorizer (no
    hint_channels) is measured at 0 hints only. PSNR and colourfulness are of the Colorizer's RGB (its T, method).
    """
    if not isinstance(colorizer, Colorizer):
        raise TypeError(f"psnr_vs_hints: expected a Colorizer (ck.Colorizer(model)), got {type(colorizer).__name__}")
    model = colorizer.model
    images = image_tensor(test_set, "test_set", "psnr_vs_hints")
    if images.shape[0] == 0:
        raise ValueError("psnr_vs_hints: test_set is empty; expected at least one image")
    bad = [n for n in counts if isinstance(n, bool) or not isinstance(n, int) or n < 0]
    if bad or not counts:
        raise ValueError(f"psnr_vs_hints: counts must be ints >= 0, got {list(counts)!r}")
    guided = hint_channels(model) > 0
    plan: list[int | str] = list(counts) + (["full"] if full else []) if guided else [0]
    device = next(model.parameters()).device
    sums = {n: torch.zeros(2, dtype=torch.float64, device=device) for n in plan}  # psnr, colourfulness
    for start in range(0, images.shape[0], batch_size):
        batch = images[start:start + batch_size].to(device)
        rgb = color.uint8_to_float(batch)
        ab = color.rgb_to_lab(rgb)[:, 1:]  # (B, 2, H, W) true ab
        for n in plan:
            if not guided:
                hints = None
            elif n == "full":
                hints = (ab, torch.ones_like(ab[:, :1]))
            else:
                gen = torch.Generator(device=device).manual_seed(seed * 1_000_003 + start)
                hints = random_hints(ab, n, gen, patch, location)
            pred = colorizer(batch, batch_size=batch_size, hints=hints)  # (B, 3, H, W) in [0, 1]
            sums[n] += torch.stack([psnr(pred, rgb, reduction="none").double().sum(),
                                    colorfulness(pred, "none").double().sum()])
    count = images.shape[0]
    return [{"hints": n, "psnr": float(s[0]) / count, "colorfulness": float(s[1]) / count} for n, s in sums.items()]
