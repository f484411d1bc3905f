"""colorkit.hints, the hint model (zhang_hints), training and prediction with hints, psnr_vs_hints, colorize --hints."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from scipy import stats
from skimage import color as skcolor

from colorkit import color
from colorkit.colorizer import Colorizer
from colorkit.hint_eval import psnr_vs_hints
from colorkit.hint_points import hints_for_photos, hints_from_points, load_hints_file, parse_color
from colorkit.hints import hint_input, patch_hints, random_hints, resize_hints, simulate_hints
from colorkit.loop import validate
from colorkit.models import build_model
from colorkit.targets import predict_colors
from colorkit.train import TrainConfig, fit, weights_digest
from conftest import HintOracle

torch.set_num_threads(1)


def _ab(b: int, h: int, w: int, seed: int = 0) -> torch.Tensor:
    return 60 * torch.rand(b, 2, h, w, generator=torch.Generator().manual_seed(seed)) - 30


def _images(n: int, size: int = 16, seed: int = 0) -> torch.Tensor:
    """Smooth random colour images (N, 3, size, size) uint8."""
    g = torch.Generator().manual_seed(seed)
    small = torch.rand(n, 3, 4, 4, generator=g)
    rgb = torch.nn.functional.interpolate(small, size=(size, size), mode="bilinear", align_corners=False)
    return (rgb * 255).round().to(torch.uint8)


# ---------------------------------------------------------------- simulated hints

def test_patch_hints_match_an_explicit_loop():
    ab = _ab(3, 12, 10)
    g = torch.Generator().manual_seed(1)
    side = torch.randint(1, 5, (3, 6), generator=g)
    top = (torch.rand(3, 6, generator=g) * (12 - side + 1)).long()
    left = (torch.rand(3, 6, generator=g) * (10 - side + 1)).long()
    active = torch.rand(3, 6, generator=g) < 0.8
    top[0, :2], left[0, :2], side[0, :2], active[0, :2] = 2, torch.tensor([2, 3]), 3, True  # two that overlap
    got_ab, got_mask = patch_hints(ab, top, left, side, active)
    a = ab.double().numpy()
    total, count = np.zeros((3, 2, 12, 10)), np.zeros((3, 1, 12, 10))
    for b in range(3):
        for k in range(6):
            if not active[b, k]:
                continue
            t, l, s = int(top[b, k]), int(left[b, k]), int(side[b, k])
            mean = a[b, :, t:t + s, l:l + s].mean(axis=(1, 2))
            total[b, :, t:t + s, l:l + s] += mean[:, None, None]
            count[b, :, t:t + s, l:l + s] += 1
    want = np.where(count > 0, total / np.maximum(count, 1), 0.0)
    np.testing.assert_allclose(got_ab.double().numpy(), want, atol=1e-4)
    np.testing.assert_array_equal(got_mask.numpy(), (count > 0).astype(np.float32))
    assert count.max() >= 2  # some patches overlap: averaged, as documented


def test_simulate_hints_counts_are_geometric_with_p_none_and_values_are_the_truth():
    B, p_none, p = 2000, 0.25, 0.2
    ab = _ab(B, 32, 32)
    hint, mask = simulate_hints(ab, torch.Generator().manual_seed(0), p_none=p_none, geometric_p=p, patch=1,
                                location="uniform", max_points=48)
    n = mask.sum(dim=(1, 2, 3)).long()  # 1 px patches at uniform places: the count (rare collisions aside)
    assert abs((n == 0).float().mean().item() - p_none) < 0.03
    hinted = n[n > 0].numpy()
    freq = np.bincount(hinted, minlength=8)[1:8] / len(hinted)
    np.testing.assert_allclose(freq, stats.geom.pmf(np.arange(1, 8), p), atol=0.035)
    assert abs(hinted.mean() - 1 / p) < 0.4
    on = mask.bool().expand_as(ab)
    torch.testing.assert_close(hint[on], ab[on])  # 1 px patches: the true ab itself
    assert (hint[~on] == 0).all()


def test_gaussian_locations_gather_at_the_centre_and_patches_are_means():
    ab = _ab(1500, 32, 32)
    share = {}
    for loc in ("uniform", "gaussian"):
        _, mask = simulate_hints(ab, torch.Generator().manual_seed(0), patch=1, location=loc, p_none=0.0)
        centre = mask[..., 8:24, 8:24].sum() / mask.sum()  # the central half of each side
        share[loc] = centre.item()
    assert abs(share["uniform"] - 0.25) < 0.02  # a quarter of the area
    # centre 15.5, sigma = side / 4 = 8: rows 8..23 (rounded from [7.5, 23.5)) are within one sigma, as columns
    assert abs(share["gaussian"] - (stats.norm.cdf(1) - stats.norm.cdf(-1)) ** 2) < 0.02
    flat = torch.arange(2.0).view(1, 2, 1, 1).expand(4, 2, 16, 16) * torch.tensor([5.0, -7.0, 3.0, 1.0]).view(4, 1, 1, 1)
    hint, mask = simulate_hints(flat.contiguous(), torch.Generator().manual_seed(3), p_none=0.0, patch=5)
    on = mask.bool().expand_as(flat)
    torch.testing.assert_close(hint[on], flat[on])  # the mean of a flat colour, overlaps or not


def test_simulate_hints_is_seeded_and_checks_its_options():
    ab = _ab(4, 16, 16)
    a = simulate_hints(ab, torch.Generator().manual_seed(5))
    b = simulate_hints(ab, torch.Generator().manual_seed(5))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert a[1].sum() > 0
    ab_r, mask_r = random_hints(ab, 3, torch.Generator().manual_seed(0), patch=1, location="uniform")
    assert (mask_r.sum(dim=(1, 2, 3)) <= 3).all() and (mask_r.sum(dim=(1, 2, 3)) >= 2).all()
    assert random_hints(ab, 0)[1].sum() == 0
    for kw, word in ((dict(p_none=1.5), "p_none"), (dict(geometric_p=0.0), "geometric_p"), (dict(patch=0), "patch"),
                     (dict(location="edge"), "location"), (dict(max_points=0), "max_points")):
        with pytest.raises(ValueError, match=word):
            simulate_hints(ab, **kw)
    with pytest.raises(ValueError, match=r"ab with 2 channels"):
        simulate_hints(torch.zeros(1, 3, 8, 8))
    if torch.cuda.is_available():
        with pytest.raises(ValueError, match="generator"):
            simulate_hints(ab, torch.Generator(device="cuda"))


# ---------------------------------------------------------------- user hints

def test_hex_colours_are_converted_like_skimage():
    for hexa in ("#ff0000", "#2a7fd4", "#808080"):
        rgb = np.array([[[int(hexa[i:i + 2], 16) / 255 for i in (1, 3, 5)]]])
        want = skcolor.rgb2lab(rgb)[0, 0, 1:]
        np.testing.assert_allclose(parse_color(hexa), want, atol=1e-3)
    assert parse_color([12, -40.5]) == (12.0, -40.5)
    for bad in ("red", "#ff00", [1, 2, 3], [float("nan"), 0], [200, 0], True):
        with pytest.raises(ValueError, match="colour"):
            parse_color(bad)


def test_hints_from_points_places_colours_and_names_the_bad_point():
    ab, mask = hints_from_points([(3, 1, (10, -20)), (0, 0, "#ff0000"), (5, 3, (1, 2))], (4, 6))
    assert ab.shape == (1, 2, 4, 6) and mask.shape == (1, 1, 4, 6)
    assert mask.sum() == 3 and mask[0, 0, 1, 3] == 1 and mask[0, 0, 0, 0] == 1 and mask[0, 0, 3, 5] == 1
    assert ab[0, :, 1, 3].tolist() == [10.0, -20.0]
    np.testing.assert_allclose(ab[0, :, 0, 0].numpy(), skcolor.rgb2lab(np.array([[[1.0, 0, 0]]]))[0, 0, 1:],
                               atol=1e-3)
    _, big = hints_from_points([(0, 0, (5, 5)), (3, 2, (5, 5))], (4, 6), patch=3)  # clipped at the border
    want = np.zeros((4, 6))
    want[0:2, 0:2] = 1
    want[1:4, 2:5] = 1
    np.testing.assert_array_equal(big[0, 0].numpy(), want)
    with pytest.raises(ValueError, match=r"point 1 \(x=6, y=0\) lies outside the 6 x 4 image"):
        hints_from_points([(0, 0, (1, 1)), (6, 0, (1, 1))], (4, 6))
    with pytest.raises(ValueError, match="point 0"):
        hints_from_points([(0, 0, "blue")], (4, 6))
    assert hints_from_points([], 8)[1].sum() == 0


def test_resize_hints_keeps_each_hint_in_its_cell():
    ab, mask = hints_from_points([(9, 5, (20, -10)), (2, 2, (4, 4)), (3, 3, (8, 0))], (16, 16))
    small_ab, small_mask = resize_hints(ab, mask, (4, 4))
    assert small_mask.sum() == 2 and small_mask[0, 0, 1, 2] == 1 and small_mask[0, 0, 0, 0] == 1
    assert small_ab[0, :, 1, 2].tolist() == pytest.approx([20, -10])
    assert small_ab[0, :, 0, 0].tolist() == pytest.approx([6, 2])  # two hints in one cell: their mean


def test_hints_files_lists_and_dicts(tmp_path):
    from pathlib import Path

    one = tmp_path / "one.json"
    one.write_text(json.dumps([{"x": 1, "y": 2, "color": "#00ff00"}, {"x": 0, "y": 0, "ab": [5, -5]}]))
    points = load_hints_file(one)
    assert points == [(1, 2, "#00ff00"), (0, 0, [5, -5])]
    photos = [Path("a/cat.jpg"), Path("a/dog.png")]
    with pytest.raises(ValueError, match="applies to one photo, got 2"):
        hints_for_photos(points, photos)
    assert hints_for_photos(points, photos[:1]) == {photos[0]: points}
    many = tmp_path / "many.json"
    many.write_text(json.dumps({"dog": [{"x": 1, "y": 1, "ab": [1, 1]}], "cat.jpg": []}))
    assert hints_for_photos(load_hints_file(many), photos) == {photos[1]: [(1, 1, [1, 1])], photos[0]: []}
    with pytest.raises(ValueError, match="'cow' is not among the inputs"):
        hints_for_photos({"cow": []}, photos)
    for text, word in (("[{\"x\": 1, \"color\": \"#000000\"}]", r"\[0\] must be"), ("{", "not a readable JSON"),
                       ("[{\"x\": 1, \"y\": 1, \"color\": \"teal\"}]", "colour")):
        bad = tmp_path / "bad.json"
        bad.write_text(text)
        with pytest.raises(ValueError, match=word):
            load_hints_file(bad)
    with pytest.raises(FileNotFoundError, match="none.json"):
        load_hints_file(tmp_path / "none.json")


# ---------------------------------------------------------------- the hint model

def test_zhang_hints_normalises_its_hint_channels_and_treats_l_alone_as_no_hints():
    torch.manual_seed(0)
    model = build_model("zhang_hints", width=0.125).eval()
    again = build_model(**model.spec)
    assert model.spec["hint_channels"] == 3 and model.hint_channels == 3 and again.hint_channels == 3
    assert [p.shape for p in again.parameters()] == [p.shape for p in model.parameters()]
    assert model.body[0][0].in_channels == 4
    L = 100 * torch.rand(2, 1, 16, 16)
    ab, mask = hints_from_points([(3, 4, (30, -50))], 16)
    x = torch.cat([L, ab.expand(2, -1, -1, -1), mask.expand(2, -1, -1, -1)], 1)
    seen = []
    model.body.register_forward_pre_hook(lambda m, inputs: seen.append(inputs[0]))
    with torch.no_grad():
        out = model(x)
        torch.testing.assert_close(seen[-1], torch.cat([(L - 50) / 50, x[:, 1:3] / 110, x[:, 3:]], 1))
        torch.testing.assert_close(out, model.head(model.body(seen[-1])))
        assert torch.equal(model(L), model(hint_input(L)))
        assert torch.equal(seen[-1][:, 1:], torch.zeros(2, 3, 16, 16))  # L alone: zero hints
    assert "zhang_hints" in str(pytest.raises(ValueError, model, torch.zeros(1, 3, 16, 16)).value)
    assert build_model("zhang_hints_regressor", width=0.125)(x).shape == (2, 2, 16, 16)
    assert getattr(build_model("zhang", width=0.125), "hint_channels") == 0


def test_fit_feeds_simulated_hints_and_resumes_exactly(tmp_path):
    data, val = _images(24), _images(8, seed=1)
    cfg = dict(epochs=2, batch_size=8, lr=3e-3, weight_decay=0.0, augment=True)
    seen = []

    def make():
        torch.manual_seed(0)
        return build_model("zhang_hints", width=0.125)

    straight = make()
    hook = straight.register_forward_pre_hook(lambda m, inputs: seen.append(inputs[0].detach().clone()))
    h = fit(straight, data, val, TrainConfig(**cfg), device="cpu", progress=False)
    hook.remove()
    train_inputs = seen[:3]  # the 3 steps of epoch 1 (validation follows)
    assert all(x.shape == (8, 4, 16, 16) for x in train_inputs)
    assert sum(int(x[:, 3].sum()) for x in train_inputs) > 0  # hints were given ...
    assert any(x[i, 3].sum() == 0 for x in train_inputs for i in range(8))  # ... and sometimes none
    assert all(((x[:, 1:3] != 0) <= (x[:, 3:] > 0)).all() for x in train_inputs)  # ab only where the mask is
    ckpt = tmp_path / "h.pt"
    part = make()
    fit(part, data, val, TrainConfig(**{**cfg, "epochs": 1}, checkpoint=ckpt), device="cpu", progress=False)
    resumed = make()
    h2 = fit(resumed, data, val, TrainConfig(**cfg, checkpoint=ckpt), device="cpu", progress=False)
    assert weights_digest(resumed) == weights_digest(straight) and h2.train_loss == h.train_loss
    # the hints come from fit's per-epoch generator (epoch_seed), drawn after the batch is chosen
    from colorkit.loop import epoch_seed
    from colorkit.targets import luma_chroma

    seen.clear()
    plain = make()
    plain.register_forward_pre_hook(lambda m, inputs: seen.append(inputs[0].detach().clone()))
    fit(plain, data, cfg=TrainConfig(**{**cfg, "epochs": 1, "augment": False, "seed": 4}), device="cpu",
        progress=False)
    first = torch.randperm(24, generator=torch.Generator().manual_seed(4))[:8]
    want = simulate_hints(luma_chroma(data[first])[1], torch.Generator().manual_seed(epoch_seed(4, 0)))
    torch.testing.assert_close(seen[0][:, 1:], torch.cat(want, 1))
    with pytest.raises(ValueError, match="color_space must be 'lab'"):
        fit(make(), data, cfg=TrainConfig(color_space="ycbcr", loss="ce"), device="cpu", progress=False)


def test_validation_hints_are_fixed_and_predict_colors_uses_given_hints():
    images = _images(6)
    oracle = HintOracle()
    rgb = color.uint8_to_float(images)
    true_ab = color.rgb_to_lab(rgb)[:, 1:]
    # validation: the hints of a fixed seed, EVAL_HINT_SEED (0) plus the batch's first index
    loss, rmse = validate(oracle, images, "l2", batch_size=4)
    assert validate(oracle, images, "l2", batch_size=4) == (loss, rmse)
    parts = [simulate_hints(true_ab[s:s + 4], torch.Generator().manual_seed(s)) for s in (0, 4)]
    pred = torch.cat([ab * mask for ab, mask in parts]).double()
    want = (pred - true_ab.double()).square().mean(dim=(1, 2, 3)).sqrt().mean()
    assert rmse == pytest.approx(float(want), rel=1e-5)
    hints = random_hints(true_ab, 5, torch.Generator().manual_seed(0), patch=1)
    got = predict_colors(oracle, images, output="lab_ab", hints=hints)
    torch.testing.assert_close(got, hints[0] * hints[1])
    assert (predict_colors(oracle, images, output="lab_ab") == 0).all()  # no hints: zeros
    small = predict_colors(oracle, images, output="lab_ab", size=8, hints=hints)  # hints resized with the luma
    assert small.shape == true_ab.shape and small.abs().sum() > 0
    with pytest.raises(ValueError, match="no hint input"):
        predict_colors(build_model("zhang", width=0.125), images, hints=hints)
    with pytest.raises(ValueError, match="mask of batch 6 at 16 x 16"):
        predict_colors(oracle, images, hints=(hints[0], hints[1][:, :, :8]))


def test_psnr_vs_hints_rows_and_an_oracle_that_copies_the_hints():
    images = _images(8)
    rows = psnr_vs_hints(Colorizer(HintOracle()), images, counts=(0, 1, 5, 20, 100), batch_size=5)
    assert [r["hints"] for r in rows] == [0, 1, 5, 20, 100, "full"]
    psnrs = [r["psnr"] for r in rows]
    assert all(a < b for a, b in zip(psnrs, psnrs[1:])), psnrs  # more hints, better colours
    assert psnrs[-1] > 60  # the whole true ab: only the Lab round trip's error
    # 0 hints: the oracle paints grey; PSNR of the grey image computed independently with skimage
    rgb = images.permute(0, 2, 3, 1).numpy() / 255.0
    lab = skcolor.rgb2lab(rgb)
    lab[..., 1:] = 0
    grey = np.clip(skcolor.lab2rgb(lab), 0, 1)
    want = np.mean([10 * math.log10(1 / np.mean((g - r) ** 2)) for g, r in zip(grey, rgb)])
    assert rows[0]["psnr"] == pytest.approx(want, abs=0.05)
    assert rows[0]["colorfulness"] < 1.0 < rows[-1]["colorfulness"]
    torch.manual_seed(0)
    tiny = build_model("zhang_hints", width=0.125)
    fit(tiny, _images(16), cfg=TrainConfig(epochs=1, batch_size=8), device="cpu", progress=False)
    rows = psnr_vs_hints(Colorizer(tiny), images, counts=(0, 10), full=False)
    assert [r["hints"] for r in rows] == [0, 10] and all(math.isfinite(r["psnr"]) for r in rows)
    auto = psnr_vs_hints(Colorizer(build_model("zhang_simplified", width=0.125)), images)
    assert [r["hints"] for r in auto] == [0] and set(auto[0]) == {"hints", "psnr", "colorfulness"}
    with pytest.raises(ValueError, match="counts"):
        psnr_vs_hints(Colorizer(HintOracle()), images, counts=(-1,))


# ---------------------------------------------------------------- colorkit colorize --hints

def test_colorize_hints_colour_the_hinted_pixel_and_refuse_bad_points(tmp_path, capsys):
    from PIL import Image

    from colorkit.cli import main
    from colorkit.colorize import colorize_photos

    photos = tmp_path / "in"
    photos.mkdir()
    Image.fromarray(np.full((20, 30, 3), 128, np.uint8)).save(photos / "grey.png")
    Image.fromarray(np.full((20, 30, 3), 90, np.uint8)).save(photos / "dark.png")
    hints = tmp_path / "hints.json"
    hints.write_text(json.dumps({"grey.png": [{"x": 29, "y": 0, "ab": [30, -20]}]}))
    report = colorize_photos(photos, tmp_path / "out", HintOracle(), image_size=(20, 30), hints=str(hints),
                             progress=False)
    assert len(report.written) == 2 and not report.skipped
    out = np.asarray(Image.open(tmp_path / "out" / "grey_colorized.png")) / 255.0
    lab = skcolor.rgb2lab(out)
    np.testing.assert_allclose(lab[0, 29, 1:], [30, -20], atol=1.0)  # the hinted pixel has the hint's colour
    assert np.abs(lab[10, 5, 1:]).max() < 1.0 and np.abs(skcolor.rgb2lab(np.asarray(
        Image.open(tmp_path / "out" / "dark_colorized.png")) / 255.0)[..., 1:]).max() < 1.0  # elsewhere grey
    hints.write_text(json.dumps({"grey.png": [{"x": 30, "y": 0, "ab": [30, -20]}]}))
    assert main(["colorize", str(photos), "-o", str(tmp_path / "o2"), "--model", "classifier",
                 "--hints", str(hints)]) == 2
    assert "has no hint input" in capsys.readouterr().err
    with pytest.raises(ValueError, match=r"grey.png: point 0 \(x=30, y=0\) lies outside the 30 x 20 image"):
        colorize_photos(photos, tmp_path / "o3", HintOracle(), hints=str(hints), progress=False)
    assert not (tmp_path / "o3").exists()  # refused before anything was written
    torch.manual_seed(0)
    ckpt = tmp_path / "hint.pt"
    fit(build_model("zhang_hints", width=0.125), _images(8), cfg=TrainConfig(epochs=1, batch_size=8,
                                                                            checkpoint=ckpt), progress=False)
    hints.write_text(json.dumps([{"x": 3, "y": 4, "color": "#ff8800"}]))
    assert main(["colorize", str(photos / "grey.png"), "-o", str(tmp_path / "o4"), "--model", str(ckpt),
                 "--hints", str(hints)]) == 0
    assert (tmp_path / "o4" / "grey_colorized.png").is_file()
    assert main(["colorize", str(photos), "-o", str(tmp_path / "o5"), "--model", str(ckpt),
                 "--hints", str(hints)]) == 2
    assert "applies to one photo, got 2" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["colorize", "--help"])
    assert '"color": "#rrggbb"' in " ".join(capsys.readouterr().out.split())  # the file format is documented
