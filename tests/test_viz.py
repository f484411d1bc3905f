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
    assert first[:2] == b"\xff\xd8" and picture.value[:2] == b"\xff\xd8" and picture.value != first  # JPEG, redrawn
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


def test_channels_centred_and_lab_channels_painted_as_colours():
    x = torch.stack([torch.full((4, 4), 50.0), torch.linspace(-10, 30, 16).view(4, 4), torch.zeros(4, 4)])
    fig = viz.plot_channels(x, ["L", "a", "b"], centre=[None, 0.0, 0.0])
    assert fig.axes[1].images[0].get_clim() == (-30.0, 30.0)  # symmetric about 0: 0 is the middle colour
    fig = viz.plot_lab_channels(x)
    a_map = fig.axes[1].images[0].get_cmap()
    red, green, grey = a_map(1.0), a_map(0.0), a_map(0.5)
    assert red[0] > red[1] and green[1] > green[0]  # +a is red, -a is green
    assert abs(grey[0] - grey[1]) < 0.02 and abs(grey[1] - grey[2]) < 0.02  # a = 0 is grey
    blue = viz.ab_colormap("b", 60.0)(0.0)
    assert blue[2] > blue[0]  # -b is blue
    with pytest.raises(ValueError, match="ab_colormap: channel must be 'a' or 'b'"):
        viz.ab_colormap("L", 10.0)


def test_temperature_sweep_has_two_panels_a_line_per_model_and_the_mode_as_a_star():
    sweep = [{"model": m, "T": t, "colourfulness": c, "rmse_ab": r}
             for m, rows in (("a", ((1.0, 10, 11), (0.38, 14, 12), (0.0, 20, 13))), ("b", ((1.0, 5, 10), (0.0, 6, 9))))
             for t, c, r in rows] + [{"model": "truth", "T": None, "colourfulness": 30.0, "rmse_ab": 0.0}]
    fig = viz.plot_temperature_sweep(sweep, [{"model": "grayscale", "colourfulness": 0.0, "rmse_ab": 12.5}])
    left, right = fig.axes
    assert len(fig.axes) == 2 and right.get_ylabel().startswith("RMSE ab")
    lines = {ln.get_label(): ln for ln in left.lines}
    assert list(lines["a"].get_xdata()) == [1.0, 0.38] and list(lines["a"].get_ydata()) == [10, 14]
    stars = [[(list(s.get_xdata()), list(s.get_ydata())) for s in ax.lines if s.get_marker() == "*"] for ax in fig.axes]
    assert stars == [[([0], [20]), ([0], [6])], [([0], [13]), ([0], [9])]]  # each model's mode, both panels
    assert list(lines["truth"].get_ydata()) == [30.0, 30.0] and list(lines["grayscale"].get_ydata()) == [0.0, 0.0]
    assert left.get_xlim() == (1.05, -0.05)  # T falls left to right


def test_plot_trade_places_models_and_baselines():
    rows = [{"model": "L2", "rmse_ab": 11.0, "colorfulness": 9.0, "colorfulness_true": 31.0}]
    base = [{"model": "grayscale", "rmse_ab": 11.6, "colorfulness": 0.0}]
    ax = viz.plot_trade(rows, base, title="trade")
    points = [tuple(c.get_offsets()[0]) for c in ax.collections]
    assert points == [(11.6, 0.0), (11.0, 9.0)] and [t.get_text() for t in ax.texts] == ["grayscale", "L2"]
    assert ax.lines[0].get_ydata()[0] == 31.0 and ax.get_title() == "trade"


def test_plot_loss_panels_one_panel_per_kind():
    fig = viz.plot_loss_panels({"a": ("L2", [3, 2]), "b": ("L1", [1, 1]), "c": ("L2", [2, 1])}, xlabel="step")
    assert [ax.get_title() for ax in fig.axes] == ["L2", "L1"] and len(fig.axes[0].lines) == 2
    with pytest.raises(ValueError, match="plot_loss_panels: curves is empty"):
        viz.plot_loss_panels({})
