"""colorkit.viz: every plot draws what it says (axes, titles, values placed on the ab grid), headless."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib import pyplot as plt  # noqa: E402

from colorkit import viz  # noqa: E402
from colorkit.gan import GANHistory  # noqa: E402
from colorkit.quantize import ab_bins  # noqa: E402


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def test_image_grid_rows_and_gray_rows():
    rows = {"gray": torch.rand(3, 1, 8, 8), "rgb": torch.randint(0, 256, (3, 3, 8, 8), dtype=torch.uint8)}
    fig = viz.image_grid(rows, n=4, titles=["a", "b"])
    axes = fig.axes
    assert len(axes) == 8 and axes[0].get_ylabel() == "gray" and axes[4].get_ylabel() == "rgb"
    assert axes[0].get_title() == "a" and len(axes[3].images) == 0  # 3 images in a row of 4
    assert axes[0].images[0].get_array().shape == (8, 8, 3)


def test_ab_plane_image_puts_each_bin_in_its_cell():
    bins = ab_bins()
    grid = viz.ab_plane_image(torch.arange(313, dtype=torch.float64), bins)
    assert np.isfinite(grid).sum() == 313
    a, b = bins[100].tolist()
    assert grid[int((b + viz.AB_LIMIT) // viz.GRID), int((a + viz.AB_LIMIT) // viz.GRID)] == 100


def test_plot_ab_plane_values_colours_and_log():
    bins = ab_bins()
    ax = viz.plot_ab_plane(None, bins, title="bins")
    assert ax.get_title() == "bins" and ax.images[0].get_array().shape[-1] == 3
    _, ax = plt.subplots()
    p = torch.full((313,), 1 / 313, dtype=torch.float64)
    viz.plot_ab_plane(p, bins, ax=ax, log=True, marker=(0, 0))
    assert np.nanmax(ax.images[0].get_array()) == pytest.approx(np.log10(1 / 313))


def test_bin_colors_are_srgb_in_range():
    colours = viz.bin_colors(ab_bins())
    assert colours.shape == (313, 3) and colours.min() >= 0 and colours.max() <= 1


def test_toy_bimodal_distribution_peaks_at_its_modes():
    bins = ab_bins()
    p = viz.toy_bimodal_distribution(bins, [(40, 40), (-40, -40)], [0.7, 0.3])
    assert p.shape == (313,) and float(p.sum()) == pytest.approx(1.0, abs=1e-9)
    assert bins[int(p.argmax())].tolist() == [40.0, 40.0]


def test_curves_channels_annealing_and_sweep_plots():
    ax = viz.plot_curves({"a": [3, 2, 1], "b": [2, 2, 2]}, logy=True, title="loss")
    assert len(ax.lines) == 2 and ax.get_yscale() == "log" and ax.get_title() == "loss"
    fig = viz.plot_channels(torch.rand(3, 8, 8), ["L", "a", "b"])
    assert [a.get_title() for a in fig.axes[:3]] == ["L", "a", "b"]  # then the 3 colour bars
    p = viz.toy_bimodal_distribution(ab_bins(), [(40, 40), (-40, -40)], [0.5, 0.5])
    fig = viz.plot_annealing(p, ab_bins(), [0.01, 0.38, 0.89, 1.0], marks=(0.38,))
    left, right = fig.axes[:2]
    assert left.get_title() == "f_T(z) at T = 1.00" and right.get_title().startswith("decoded colour; at T = 1.00")
    assert [t.get_text() for t in right.get_xticklabels()] == ["0.01", "0.38", "1.00"]
    sweep = [{"T": t, "colorfulness": c, "colorfulness_true": 30.0, "rmse_ab": r}
             for t, c, r in ((0.1, 20, 12), (0.5, 10, 11))]
    fig = viz.plot_temperature_sweep(sweep)
    assert [list(line.get_xdata()) for line in fig.axes[0].lines[:1]] == [[0.1, 0.5]]


def test_temperature_slider_calls_draw_with_each_new_t():
    seen = []

    def draw(T):
        seen.append(T)
        return plt.figure()

    slider, _ = viz.temperature_slider(draw, value=0.5).children
    slider.value = 0.89
    assert slider.description == "T" and (slider.min, slider.max) == (0.01, 1.0) and seen == [0.5, 0.89]


def test_temperature_explorer_draws_images_and_the_pixel_distribution():
    logits = torch.randn(2, 313, 4, 4)
    box = viz.temperature_explorer(logits, torch.rand(2, 1, 16, 16) * 100, torch.rand(2, 3, 16, 16), pixel=(1, 2))
    slider, picture = box.children
    first, open_figures = picture.value, len(plt.get_fignums())
    slider.value = 0.9
    assert first[:4] == b"\x89PNG" and picture.value[:4] == b"\x89PNG" and picture.value != first  # redrawn
    assert len(plt.get_fignums()) == open_figures  # each drawn figure is closed once it is a picture


def test_smooth_curve_and_gan_histories():
    x, y = viz.smooth_curve(list(range(10)), points=5)  # window 2
    assert y == [0.5 + i for i in range(9)] and x[-1] == 1.0
    assert viz.smooth_curve([]) == ([], [])
    h = GANHistory(d_loss_step=[1.0, 0.5], g_loss_step=[2.0], g_adv_step=[0.7], g_l1_step=[0.3],
                   val_rmse_ab=[12.0])
    base = GANHistory(g_loss_step=[1.0], g_l1_step=[0.3, 0.2], val_rmse_ab=[11.0, 10.0])
    fig = viz.plot_gan_histories({"dcgan": h, "l1": base})
    titles = [a.get_title() for a in fig.axes]
    assert titles[:3] == ["dcgan", "G: L1 term (unweighted)", "G: val RMSE ab"]
    with pytest.raises(ValueError, match="plot_gan_histories: histories is empty"):
        viz.plot_gan_histories({})
