"""The photo explorer of notebook 07: a model picker and a temperature slider that re-colour photos live."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import torch
import torch.nn.functional as F

from .colorize import colorize_images
from .colorizer import Colorizer
from .notebook import figure_widget
from .quantize import DEFAULT_T
from .viz import image_grid


def colorize_explorer(checkpoints: Sequence[str | os.PathLike], images: Sequence[torch.Tensor],
                      temperature: float = DEFAULT_T, device: str | torch.device | None = None,
                      display_size: int = 192):
    """A model picker (Dropdown) and a temperature slider (labelled T) that re-colour the photos below them.

    The photos are a picture (notebook.figure_widget), not an Output widget, so a headless run never waits on it.
    """
    import ipywidgets as w

    paths = [Path(p) for p in checkpoints]
    thumbs = [_thumbnail(img, display_size) for img in images]
    picker = w.Dropdown(options=[(p.stem, i) for i, p in enumerate(paths)], description="model")  # no paths shown
    slider = w.FloatSlider(value=temperature, min=0.01, max=1.0, step=0.01, description="T",
                           continuous_update=False, readout_format=".2f")
    colorizers: dict[int, Colorizer] = {}

    def draw():
        if picker.value not in colorizers:
            colorizers[picker.value] = Colorizer.from_checkpoint(paths[picker.value], device)
        colored = colorize_images(colorizers[picker.value].with_T(slider.value), thumbs)
        rows = {"photo": _square(thumbs, display_size), f"T = {slider.value:.2f}": _square(colored, display_size)}
        return image_grid(rows, n=len(thumbs), size=2.2)

    return figure_widget([picker, slider], draw)


def _thumbnail(image: torch.Tensor, size: int) -> torch.Tensor:
    """A uint8 (3, H, W) image shrunk (antialiased) so that its longer side is at most `size`."""
    h, w = image.shape[-2:]
    scale = min(1.0, size / max(h, w))
    small = F.interpolate(image[None].float(), size=(max(1, round(h * scale)), max(1, round(w * scale))),
                          mode="bilinear", antialias=True, align_corners=False)[0]
    return small.round().clamp(0, 255).to(torch.uint8)


def _square(images: Sequence[torch.Tensor], size: int) -> torch.Tensor:
    """Pad uint8 images (3, h, w) with h, w <= size onto white size x size squares -> (B, 3, size, size)."""
    padded = []
    for img in images:
        ph, pw = size - img.shape[1], size - img.shape[2]
        padded.append(F.pad(img, (pw // 2, pw - pw // 2, ph // 2, ph - ph // 2), value=255))
    return torch.stack(padded)
