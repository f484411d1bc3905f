"""Plots the notebooks share: image grids, the ab plane, distributions over the 313 bins, curves."""
from __future__ import annotations

import math
from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch

from .color import join_lab, lab_to_rgb, uint8_to_float
from .notebook import figure_widget
from .quantize import DEFAULT_T, ab_bins, annealed_mean

GRID = 10  # the bins' spacing in the ab plane
AB_LIMIT = 115  # half-width of the plotted ab square


def to_numpy_images(images: torch.Tensor) -> np.ndarray:
    """(B, 3, H, W) uint8 or float [0, 1] tensor -> (B, H, W, 3) float numpy for imshow."""
    if images.dtype == torch.uint8:
        images = uint8_to_float(images)
    return images.detach().float().clamp(0, 1).permute(0, 2, 3, 1).cpu().numpy()


def image_grid(rows: dict[str, torch.Tensor], n: int = 8, size: float = 1.3, titles: Sequence[str] | None = None):
    """Rows of images, one row per named batch (B, 3, H, W) (gray (B, 1, H, W) is shown as gray)."""
    fig, axes = plt.subplots(len(rows), n, figsize=(n * size, len(rows) * size), squeeze=False, layout="none")
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
        vmin = None
        if log:
            grid = np.log10(np.where(grid > 0, grid, np.nan))
            vmin = max(np.nanmin(grid), np.nanmax(grid) - 6)  # six decades: smoothing leaves far tails of 1e-40
        im = ax.imshow(grid, origin="lower", extent=extent, cmap=cmap, vmin=vmin)
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


def plot_channels(channels: torch.Tensor, names: Sequence[str], title: str = "", cmaps: Sequence | None = None,
                  centre: Sequence[float | None] | None = None):
    """Show each channel of one image (C, H, W) side by side, each with its own colour bar.

    centre[i] (when not None): channel i's colour scale is symmetric about that value (0 for Lab a, b; 128 for
    YCbCr Cb, Cr), so the middle colour of a diverging map means "no colour".
    """
    fig, axes = plt.subplots(1, len(names), figsize=(3.1 * len(names), 3), squeeze=False)
    for i, ax in enumerate(axes[0]):
        x = channels[i].detach().cpu().double().numpy()
        c = None if centre is None else centre[i]
        half = None if c is None else max(float(np.abs(x - c).max()), 1e-6)
        im = ax.imshow(x, cmap=(cmaps[i] if cmaps else "gray"), vmin=None if c is None else c - half,
                       vmax=None if c is None else c + half)
        ax.set_title(names[i], fontsize=10), ax.set_xticks([]), ax.set_yticks([])
        plt.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    fig.suptitle(title)
    return fig


def ab_colormap(channel: str, limit: float, lightness: float = 60.0, n: int = 256):
    """A colour map over [-limit, limit] that paints each value of a (or b) as its colour: Lab (L, a, 0) or (L, 0, b)."""
    from matplotlib.colors import ListedColormap

    if channel not in ("a", "b"):
        raise ValueError(f"ab_colormap: channel must be 'a' or 'b', got {channel!r}")
    t = torch.linspace(-limit, limit, n, dtype=torch.float64)
    zero = torch.zeros_like(t)
    lab = torch.stack([torch.full_like(t, lightness), *((t, zero) if channel == "a" else (zero, t))])  # (3, n)
    rgb = lab_to_rgb(lab[None, :, None, :])[0, :, 0].T.clamp(0, 1).numpy()  # (n, 3)
    return ListedColormap(rgb, name=f"ab_{channel}")


def plot_lab_channels(lab: torch.Tensor, title: str = "Lab"):
    """L of one Lab image (3, H, W) in gray, a and b each painted in its own colours on one scale centred on 0."""
    limit = max(float(lab[1:].abs().max()), 1.0)
    return plot_channels(lab, ["L", "a", "b"], title, cmaps=["gray", ab_colormap("a", limit), ab_colormap("b", limit)],
                         centre=[None, 0.0, 0.0])


def toy_bimodal_distribution(bins: torch.Tensor, modes: Sequence[tuple[float, float]], weights: Sequence[float],
                             spread: float = 10.0) -> torch.Tensor:
    """A teaching distribution (313,) over the bins: a mixture of Gaussian bumps centred at ab `modes`."""
    centres = torch.tensor(modes, dtype=torch.float64)  # (M, 2)
    d2 = (bins.double()[:, None, :] - centres[None]).pow(2).sum(-1)  # (313, M)
    p = (torch.exp(-d2 / (2 * spread ** 2)) * torch.tensor(weights, dtype=torch.float64)).sum(1)
    return (p / p.sum()).clamp_min(1e-12)


def plot_annealing(probs: torch.Tensor, bins: torch.Tensor, temperatures: Sequence[float] | torch.Tensor,
                   marks: Sequence[float] = (), lightness: float = 60.0):
    """Left: f_T(z) in the ab plane at the last T. Right: the decoded colour as T sweeps (marks labelled)."""
    temps = [float(t) for t in temperatures]
    logits = probs.log().view(1, -1, 1, 1).float()
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4), gridspec_kw={"width_ratios": [1, 1.3]})
    sharpened = torch.softmax(logits.flatten() / max(temps[-1], 1e-6), 0)
    plot_ab_plane(sharpened, bins, ax=left, title=f"f_T(z) at T = {temps[-1]:.2f}")
    ab = torch.stack([annealed_mean(logits, t).flatten() for t in temps])  # (n, 2)
    lab = torch.cat([torch.full((len(temps), 1), lightness), ab.cpu()], 1).T[None, :, None, :]  # (1, 3, 1, n)
    swatch = lab_to_rgb(lab.double())[0].permute(1, 2, 0).numpy()  # (1, n, 3)
    right.imshow(swatch, aspect="auto", extent=(0, len(temps), 0, 1))
    right.set_yticks([]), right.set_xlabel("temperature T")
    ticks = sorted({0, len(temps) - 1, *[int(np.argmin([abs(t - m) for t in temps])) for m in marks]})
    right.set_xticks([i + 0.5 for i in ticks], [f"{temps[i]:.2f}" for i in ticks])
    for m in marks:
        i = int(np.argmin([abs(t - m) for t in temps]))
        right.axvline(i + 0.5, color="k", lw=1, ls="--")
    a, b = ab[-1].tolist()
    right.set_title(f"decoded colour; at T = {temps[-1]:.2f}: (a, b) = ({a:.0f}, {b:.0f})", fontsize=10)
    return fig


def temperature_slider(draw, value: float = DEFAULT_T, minimum: float = 0.01, maximum: float = 1.0):
    """A box with an ipywidgets slider labelled T that redraws draw(T) (a function returning a figure) below it.

    The figure is a picture (notebook.figure_widget), never an Output widget: a headless run does not wait on it.
    """
    import ipywidgets as widgets

    slider = widgets.FloatSlider(value=value, min=minimum, max=maximum, step=0.01, description="T",
                                 continuous_update=False, readout_format=".2f")
    return figure_widget([slider], lambda: draw(slider.value))  # .children: the slider, the picture


def temperature_explorer(logits: torch.Tensor, L: torch.Tensor, truth: torch.Tensor, pixel: tuple[int, int] = (8, 8),
                         value: float = DEFAULT_T):
    """Slider over T that re-decodes cached logits (B, 313, H', W') of images with lightness L (B, 1, H, W) live.

    Left: the decoded images at T beside the truth; right: f_T(z) of one pixel (row, col of the logits) in the
    ab plane. Nothing is recomputed by the network: only the annealed mean of the cached logits.
    """
    bins = ab_bins()
    logits = logits.detach().float().cpu()
    L, truth = L.detach().float().cpu(), truth.detach().float().cpu()

    def draw(T: float):
        ab = annealed_mean(logits, T)  # (B, 2, H', W')
        rgb = join_lab(L, ab)  # ab upsampled to L's size
        fig = plt.figure(figsize=(11, 3.6))
        grid = fig.add_gridspec(2, len(rgb) + 3)
        for i in range(len(rgb)):
            for row, batch in enumerate((rgb, truth)):
                ax = fig.add_subplot(grid[row, i])
                ax.imshow(to_numpy_images(batch[i:i + 1])[0]), ax.set_xticks([]), ax.set_yticks([])
                if i == 0:
                    ax.set_ylabel(f"T = {T:.2f}" if row == 0 else "truth", fontsize=9)
        ax = fig.add_subplot(grid[:, len(rgb):])
        z = torch.softmax(logits[0, :, pixel[0], pixel[1]] / max(T, 1e-6), 0)
        plot_ab_plane(z, bins, ax=ax, title=f"f_T(z) of pixel {pixel} of image 1")
        return fig

    return temperature_slider(draw, value=value)


def plot_temperature_sweep(sweep: Sequence[dict], baselines: Sequence[dict] = (), title: str = "",
                           marks: Sequence[float] = (DEFAULT_T,)):
    """Colourfulness (left) and RMSE ab (right) against T for the rows of effects.temperature_sweep: a line per
    model, its mode (T = 0) as a star, the truth's colourfulness dotted; `baselines` rows ({model, colourfulness,
    rmse_ab}) as grey lines. T falls from left to right: from the mean towards the mode."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    keys = ("colourfulness", "rmse_ab")
    for name in dict.fromkeys(r["model"] for r in sweep if r["T"] is not None):
        rows = [r for r in sweep if r["model"] == name and r["T"]]
        mode = [r for r in sweep if r["model"] == name and r["T"] == 0]
        for ax, key in zip(axes, keys):
            line, = ax.plot([r["T"] for r in rows], [r[key] for r in rows], "o-", label=name)
            if mode:
                ax.plot([0], [mode[0][key]], "*", ms=11, color=line.get_color())
    truth = [r for r in sweep if r["T"] is None]
    if truth:
        axes[0].axhline(truth[0]["colourfulness"], color="k", ls=":", lw=1, label="truth")
    for b, style in zip(baselines, ("-.", "--", (0, (1, 3)))):
        for ax, key in zip(axes, keys):
            ax.axhline(b[key], color="grey", ls=style, lw=1, label=b["model"])
    for ax, label in zip(axes, ("colourfulness (higher: more vivid)", "RMSE ab (lower: closer)")):
        for m in marks:
            ax.axvline(m, color="k", lw=0.5)
        ax.set_xlim(1.05, -0.05)
        ax.set(xlabel="temperature T (the star at 0: the mode)", ylabel=label)
    axes[0].legend(fontsize=7)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def plot_trade(rows: Sequence[dict], baselines: Sequence[dict] = (), ax=None, title: str = ""):
    """The averaging trade: each model's RMSE ab (x) against its colourfulness (y), baselines as grey squares.

    The dotted line is the truth's colourfulness (rows' "colorfulness_true"): a colorizer near it and at low RMSE
    would be both faithful and vivid; regressors crowd the bottom left.
    """
    ax = ax or plt.subplots(figsize=(6.4, 4.2))[1]
    for group, style in ((baselines, dict(marker="s", color="0.5")), (rows, dict(marker="o", color="tab:blue"))):
        for r in group:
            ax.scatter(r["rmse_ab"], r["colorfulness"], **style)
            ax.annotate(r["model"], (r["rmse_ab"], r["colorfulness"]), fontsize=7, xytext=(4, 3),
                        textcoords="offset points")
    truth = next((r["colorfulness_true"] for r in [*rows, *baselines] if "colorfulness_true" in r), None)
    if truth is not None:
        ax.axhline(truth, color="k", ls=":", lw=1, label="colourfulness of the truth")
        ax.legend(fontsize=8, loc="center right")
    ax.set_xlabel("RMSE ab (lower: closer to the truth)"), ax.set_ylabel("colourfulness (Hasler & Süsstrunk)")
    ax.set_title(title, fontsize=10)
    return ax


def plot_loss_panels(curves: dict[str, tuple[str, Sequence[float]]], xlabel: str = "epoch", size: float = 3.4,
                     logy: bool = False):
    """One panel per kind of loss ({name: (kind, values)}): losses of different kinds never share an axis."""
    kinds = list(dict.fromkeys(kind for kind, _ in curves.values()))
    if not kinds:
        raise ValueError("plot_loss_panels: curves is empty; expected {name: (kind, values)}")
    fig, axes = plt.subplots(1, len(kinds), figsize=(size * len(kinds), size * 0.8), squeeze=False)
    for ax, kind in zip(axes[0], kinds):
        plot_curves({n: v for n, (k, v) in curves.items() if k == kind}, xlabel=xlabel, ylabel=kind, ax=ax,
                    logy=logy, title=kind)
    return fig


def smooth_curve(values: list[float], points: int = 100) -> tuple[list[float], list[float]]:
    """(training progress in (0, 1], running means) of a per-update curve, about `points` of them."""
    if not values:  # e.g. G of an n_critic = 5 run that had fewer than 5 steps
        return [], []
    v = np.asarray(values, dtype=float)
    k = max(1, len(v) // points)
    means = np.convolve(v, np.ones(k) / k, mode="valid")  # (len - k + 1,)
    return list((np.arange(len(means)) + k) / len(v)), list(means)


def plot_gan_histories(histories: dict, size: float = 2.6):
    """One panel per adversarial run (D's loss and G's adversarial term), then every run's L1 term and val RMSE ab."""
    if not histories:
        raise ValueError("plot_gan_histories: histories is empty; expected {name: GANHistory}")
    adversarial = {name: h for name, h in histories.items() if h.d_loss_step}
    n = len(adversarial) + 2
    cols = min(4, n)
    fig, axes = plt.subplots(math.ceil(n / cols), cols, figsize=(cols * size, math.ceil(n / cols) * size * 0.8),
                             squeeze=False, layout="constrained")
    for ax, (name, h) in zip(axes.flat, adversarial.items()):
        ax.plot(*smooth_curve(h.d_loss_step), label="D loss")
        ax.plot(*smooth_curve(h.g_adv_step), label="G adversarial")  # x: progress, so n_critic > 1 lines up
        ax.set_title(name, fontsize=9), ax.legend(fontsize=7)
    l1_ax, val_ax = axes.flat[len(adversarial)], axes.flat[len(adversarial) + 1]
    for name, h in histories.items():
        l1_ax.plot(*smooth_curve(h.g_l1_step), label=name, lw=1)
        val_ax.plot(range(1, len(h.val_rmse_ab) + 1), h.val_rmse_ab, "o-", label=name, ms=3)
    l1_ax.set_title("G: L1 term (unweighted)", fontsize=9), val_ax.set_title("G: val RMSE ab", fontsize=9)
    val_ax.set_xlabel("epoch", fontsize=8), val_ax.legend(fontsize=6)
    for ax in axes.flat[:len(adversarial) + 1]:
        ax.set_xlabel("training progress", fontsize=8)
    for ax in axes.flat[n:]:
        ax.axis("off")
    return fig
