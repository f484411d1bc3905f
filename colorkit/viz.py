"""Plots the notebooks share: image grids, the ab plane, distributions over the 313 bins, curves."""
from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch

from .color import lab_to_rgb, uint8_to_float

GRID = 10  # the bins' spacing in the ab plane
AB_LIMIT = 115  # half-width of the plotted ab square


def to_numpy_images(images: torch.Tensor) -> np.ndarray:
    """(B, 3, H, W) uint8 or float [0, 1] tensor -> (B, H, W, 3) float numpy for imshow."""
    if images.dtype == torch.uint8:
        images = uint8_to_float(images)
    return images.detach().float().clamp(0, 1).permute(0, 2, 3, 1).cpu().numpy()


def image_grid(rows: dict[str, torch.Tensor], n: int = 8, size: float = 1.3, titles: Sequence[str] | None = None):
    """Rows of images, one row per named batch (B, 3, H, W) (gray (B, 1, H, W) is shown as gray)."""
    fig, axes = plt.subplots(len(rows), n, figsize=(n * size, len(rows) * size), squeeze=False)
    for r, (label, batch) in enumerate(rows.items()):
        batch = batch.repeat(1, 3, 1, 1) if batch.shape[1] == 1 else batch
        pictures = to_numpy_images(batch[:n])
        for c in range(n):
            ax = axes[r, c]
            ax.set_xticks([]), ax.set_yticks([])
            if c < len(pictures):
                ax.imshow(pictures[c], interpolation="nearest")
            else:
                ax.axis("off")
            if c == 0:
                ax.set_ylabel(label, rotation=0, ha="right", va="center", fontsize=9)
            if r == 0 and titles is not None and c < len(titles):
                ax.set_title(titles[c], fontsize=8)
    fig.subplots_adjust(wspace=0.03, hspace=0.03)
    return fig


def ab_plane_image(values: torch.Tensor, bins: torch.Tensor) -> np.ndarray:
    """Place one value per bin (313,) on the ab grid: a (H, W) array with NaN outside the gamut."""
    cells = int(2 * AB_LIMIT // GRID) + 1
    grid = np.full((cells, cells), np.nan)
    ij = ((bins.cpu().numpy() + AB_LIMIT) // GRID).astype(int)  # (313, 2): a -> column, b -> row
    grid[ij[:, 1], ij[:, 0]] = values.detach().cpu().double().numpy()
    return grid


def bin_colors(bins: torch.Tensor, lightness: float = 60.0) -> torch.Tensor:
    """The sRGB colour (313, 3) of each bin centre at a given L."""
    lab = torch.cat([torch.full_like(bins[:, :1], lightness), bins], dim=1).T[None, :, :, None]  # (1, 3, 313, 1)
    return lab_to_rgb(lab.double())[0, :, :, 0].T.float()


def plot_ab_plane(values: torch.Tensor | None, bins: torch.Tensor, ax=None, title: str = "", log: bool = False,
                  lightness: float = 60.0, cmap: str = "viridis", marker: tuple[float, float] | None = None):
    """Draw the ab plane: the bins' own colours (values=None) or a value per bin as a heat map."""
    ax = ax or plt.gca()
    extent = (-AB_LIMIT - GRID / 2, AB_LIMIT + GRID / 2, -AB_LIMIT - GRID / 2, AB_LIMIT + GRID / 2)
    if values is None:
        colors = bin_colors(bins, lightness).numpy()
        rgb = np.stack([ab_plane_image(torch.from_numpy(colors[:, i]), bins) for i in range(3)], axis=-1)
        ax.imshow(np.nan_to_num(rgb, nan=1.0), origin="lower", extent=extent)
    else:
        grid = ab_plane_image(values, bins)
        if log:
            grid = np.log10(np.where(grid > 0, grid, np.nan))
        im = ax.imshow(grid, origin="lower", extent=extent, cmap=cmap)
        plt.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="log10" if log else None)
    if marker is not None:
        ax.plot(*marker, marker="x", color="red", markersize=10, mew=2)
    ax.set_xlabel("a"), ax.set_ylabel("b"), ax.set_title(title, fontsize=10)
    return ax


def plot_curves(curves: dict[str, Sequence[float]], xlabel: str = "step", ylabel: str = "loss", ax=None,
                logy: bool = False, title: str = ""):
    """Line plot of several named curves on one axis."""
    ax = ax or plt.gca()
    for label, ys in curves.items():
        ax.plot(range(1, len(ys) + 1), list(ys), label=label)
    ax.set_xlabel(xlabel), ax.set_ylabel(ylabel), ax.set_title(title, fontsize=10)
    if logy:
        ax.set_yscale("log")
    ax.legend(fontsize=8)
    return ax


def plot_channels(channels: torch.Tensor, names: Sequence[str], title: str = "", cmaps: Sequence[str] | None = None):
    """Show each channel of one image (C, H, W) side by side, each with its own colour bar."""
    fig, axes = plt.subplots(1, len(names), figsize=(3.1 * len(names), 3), squeeze=False)
    for i, ax in enumerate(axes[0]):
        im = ax.imshow(channels[i].detach().cpu().numpy(), cmap=(cmaps[i] if cmaps else "gray"))
        ax.set_title(names[i], fontsize=10), ax.set_xticks([]), ax.set_yticks([])
        plt.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    fig.suptitle(title)
    return fig
