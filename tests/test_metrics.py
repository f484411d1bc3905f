"""Tests for colorkit.metrics against scikit-image, numpy and hand-computed cases."""
import math

import numpy as np
import pytest
import torch
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from colorkit import metrics as M


def _rgb_pair(b=3, h=16, w=20, seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    true = torch.rand(b, 3, h, w, generator=g, dtype=dtype)
    smooth = torch.nn.functional.avg_pool2d(true, 3, 1, 1)  # structured, correlated "prediction"
    pred = (0.7 * smooth + 0.3 * torch.rand(b, 3, h, w, generator=g, dtype=dtype)).clamp(0, 1)
    return pred, true


def test_rmse_ab_hand_computed_per_image_then_mean():
    true = torch.zeros(2, 2, 4, 4)
    pred = true.clone()
    pred[0, 0], pred[0, 1] = 3.0, 4.0  # image 0: squared errors 9 and 16 -> sqrt(12.5)
    pred[1, 0, :2] = 2.0  # image 1: a quarter of the a/b values off by 2 -> sqrt(4 / 4) = 1
    per = M.rmse_ab(pred, true, reduction="none")
    assert torch.allclose(per, torch.tensor([math.sqrt(12.5), 1.0]))
    assert torch.isclose(M.rmse_ab(pred, true), torch.tensor((math.sqrt(12.5) + 1) / 2))
    with pytest.raises(ValueError, match="rmse_ab.*2 channels"):
        M.rmse_ab(torch.zeros(1, 3, 4, 4), torch.zeros(1, 3, 4, 4))
    with pytest.raises(ValueError, match="same shape"):
        M.rmse_ab(torch.zeros(1, 2, 4, 4), torch.zeros(1, 2, 4, 5))


def test_rmse_rgb_and_psnr_match_numpy_and_skimage():
    pred, true = _rgb_pair()
    want_rmse = [np.sqrt(np.mean((p.numpy() - t.numpy()) ** 2)) for p, t in zip(pred, true)]
    want_psnr = [peak_signal_noise_ratio(t.numpy(), p.numpy(), data_range=1.0) for p, t in zip(pred, true)]
    assert np.allclose(M.rmse_rgb(pred, true, reduction="none").numpy(), want_rmse, rtol=1e-10)
    assert np.allclose(M.psnr(pred, true, reduction="none").numpy(), want_psnr, rtol=1e-10)
    assert math.isclose(M.psnr(pred, true).item(), float(np.mean(want_psnr)), rel_tol=1e-10)
    assert math.isclose(M.psnr(pred * 255, true * 255, data_range=255).item(), float(np.mean(want_psnr)), rel_tol=1e-9)
    assert M.psnr(true, true).item() == math.inf  # like skimage: identical images
    assert M.rmse_rgb(pred.float(), true.float()).dtype == torch.float32


@pytest.mark.parametrize("h, w", [(11, 11), (16, 20), (32, 32)])
def test_ssim_matches_skimage(h, w):
    pred, true = _rgb_pair(b=2, h=h, w=w, seed=h)
    want = [structural_similarity(p.numpy(), t.numpy(), gaussian_weights=True, sigma=1.5,
                                  use_sample_covariance=False, data_range=1.0, channel_axis=0)
            for p, t in zip(pred, true)]
    got = M.ssim(pred, true, reduction="none")
    assert np.allclose(got.numpy(), want, atol=1e-10)
    got32 = M.ssim(pred.float(), true.float(), reduction="none")
    assert np.allclose(got32.numpy(), want, atol=1e-4)
    assert torch.allclose(M.ssim(true, true), torch.tensor(1.0, dtype=torch.float64))
    assert abs(M.ssim(pred, true).item() - np.mean(want)) < 1e-10


def test_ssim_rejects_small_images():
    with pytest.raises(ValueError, match="ssim.*11x11"):
        M.ssim(torch.rand(1, 3, 10, 12), torch.rand(1, 3, 10, 12))


def test_auc_exact_cases():
    true = torch.randint(-60, 60, (2, 2, 6, 6)).float()  # integers: the shifted errors below are exact
    assert M.auc_ab(true, true).item() == 1.0
    shift = torch.zeros_like(true)
    shift[:, 0] = 3.5  # constant L2 error 3.5: counted for t = 4..150, i.e. 147 of 151 thresholds
    assert math.isclose(M.auc_ab(true + shift, true).item(), 147 / 151, rel_tol=1e-6)
    shift[:, 0], shift[:, 1] = 6.0, 8.0  # error exactly 10: t = 10..150
    assert math.isclose(M.auc_ab(true + shift, true).item(), 141 / 151, rel_tol=1e-6)
    assert M.auc_ab(true + 200, true).item() == 0.0
    assert M.auc_ab(torch.full_like(true, math.nan), true).item() == 0.0  # NaN predictions are misses
    half = torch.zeros_like(true)
    half[:, :, :3] = 10.0  # half the pixels at error sqrt(200) = 14.14.. -> t = 15..150
    auc, curve = M.auc_ab(true + half, true, return_curve=True)
    assert math.isclose(auc.item(), (1 + 136 / 151) / 2, rel_tol=1e-6)
    assert curve.shape == (151,) and curve[14].item() == 0.5 and curve[15].item() == 1.0


def test_auc_matches_brute_force_over_thresholds():
    g = torch.Generator().manual_seed(0)
    true, pred = torch.randn(3, 2, 8, 8, generator=g) * 30, torch.randn(3, 2, 8, 8, generator=g) * 30
    err = (pred - true).norm(dim=1).flatten().double().numpy()
    want = np.mean([(err <= t).mean() for t in range(0, 151)])
    assert math.isclose(M.auc_ab(pred.double(), true.double()).item(), want, rel_tol=1e-12)
    # equal-sized images: the pooled AuC is the mean of the per-image AuCs
    per = [M.auc_ab(pred[i:i + 1], true[i:i + 1]).item() for i in range(3)]
    assert math.isclose(M.auc_ab(pred, true).item(), float(np.mean(per)), rel_tol=1e-6)


def test_rebalanced_auc_is_mean_of_per_bin_curves():
    from colorkit.quantize import encode_hard
    g = torch.Generator().manual_seed(1)
    true = torch.randn(2, 2, 8, 8, generator=g, dtype=torch.float64) * 25
    noise = torch.randn(2, 2, 8, 8, generator=g, dtype=torch.float64)
    pred = true + noise * torch.linspace(0, 40, 8, dtype=torch.float64)  # error grows along the rows
    bins = encode_hard(true).reshape(-1)  # (128,) true bin of every pixel
    counts = torch.bincount(bins, minlength=313).double()
    prior = counts / counts.sum()  # the empirical prior: 1/prior weights make every bin count the same
    err = (pred - true).norm(dim=1).reshape(-1).numpy()
    per_bin = [np.mean([(err[(bins == q).numpy()] <= t).mean() for t in range(151)]) for q in bins.unique()]
    got = M.auc_ab(pred, true, prior=prior).item()
    assert math.isclose(got, float(np.mean(per_bin)), rel_tol=1e-9)
    assert not math.isclose(got, M.auc_ab(pred, true).item(), rel_tol=1e-3)  # the weighting matters here
    with pytest.raises(ValueError, match="313"):
        M.auc_ab(pred, true, prior=torch.ones(10))


def test_colorfulness_matches_numpy():
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (3, 3, 9, 7), generator=g, dtype=torch.uint8)
    want = []
    for img in x.numpy().astype(np.float64):
        r, gr, b = img
        rg, yb = r - gr, 0.5 * (r + gr) - b
        want.append(np.sqrt(rg.std() ** 2 + yb.std() ** 2) + 0.3 * np.sqrt(rg.mean() ** 2 + yb.mean() ** 2))
    assert np.allclose(M.colorfulness(x, reduction="none").numpy(), want, rtol=1e-12)
    assert np.allclose(M.colorfulness(x.double() / 255, reduction="none").numpy(), want, rtol=1e-10)
    assert math.isclose(M.colorfulness(x).item(), float(np.mean(want)), rel_tol=1e-12)
    gray = torch.rand(2, 1, 5, 5).expand(2, 3, 5, 5)
    assert M.colorfulness(gray).abs().item() < 1e-4


def test_accuracy_logits_and_predictions():
    labels = torch.tensor([0, 2, 1, 1])
    logits = torch.tensor([[5.0, 0, 0], [0, 0, 3], [0, 1, 0], [9, 0, 0]])
    assert M.accuracy(logits, labels).item() == 0.75
    assert M.accuracy(torch.tensor([0, 2, 0, 0]), labels).item() == 0.5
    dense = torch.zeros(2, 3, 2, 2)
    dense[:, 1] = 1.0  # predicts class 1 everywhere
    assert M.accuracy(dense, torch.tensor([[[1, 1], [0, 1]], [[1, 2], [1, 1]]])).item() == 0.75
    with pytest.raises(ValueError, match="accuracy"):
        M.accuracy(torch.zeros(3, 4), torch.zeros(5, dtype=torch.long))


def _images(n=10, seed=0):
    g = torch.Generator().manual_seed(seed)
    base = torch.rand(n, 3, 4, 4, generator=g)
    x = torch.nn.functional.interpolate(base, size=16, mode="bilinear", align_corners=False)  # smooth colour images
    return (x * 255).round().to(torch.uint8)


def test_evaluate_colorizer_streams_the_same_numbers_as_one_batch():
    from colorkit import color
    from colorkit.data import ImageSet
    x = _images()
    rgb = color.uint8_to_float(x)
    L, ab = color.split_lab(rgb)
    gray = lambda l: torch.zeros(l.shape[0], 2, *l.shape[2:], dtype=l.dtype, device=l.device)  # noqa: E731
    small = M.evaluate_colorizer(gray, ImageSet(x, None, [], "t", "t"), batch_size=3, device="cpu")
    big = M.evaluate_colorizer(gray, x, batch_size=100, device="cpu")
    means = ["rmse_ab", "rmse_rgb", "psnr", "ssim", "auc", "colorfulness", "colorfulness_true"]
    assert list(small) == means + [f"{k}_ci95" for k in means if k != "auc"]  # AuC is one curve, no per-image mean
    for k in small:
        assert math.isclose(small[k], big[k], rel_tol=1e-5, abs_tol=1e-9), k
    gray_rgb = color.join_lab(L, torch.zeros_like(ab))
    assert math.isclose(small["rmse_ab"], M.rmse_ab(torch.zeros_like(ab), ab).item(), rel_tol=1e-5)
    assert math.isclose(small["auc"], M.auc_ab(torch.zeros_like(ab), ab).item(), rel_tol=1e-5)
    assert math.isclose(small["ssim"], M.ssim(gray_rgb, rgb).item(), rel_tol=1e-5)
    assert math.isclose(small["colorfulness_true"], M.colorfulness(rgb).item(), rel_tol=1e-5)
    assert small["colorfulness"] < 2.0 < small["colorfulness_true"]


def test_evaluate_colorizer_ground_truth_and_bad_predictor():
    from colorkit import color
    x = _images(seed=1)
    _, ab_all = color.split_lab(color.uint8_to_float(x))
    seen = []

    def oracle(L):  # batches arrive in order: return the true ab of the next images
        start = sum(seen)
        seen.append(L.shape[0])
        return ab_all[start:start + L.shape[0]]
    prior = torch.full((313,), 1 / 313, dtype=torch.float64)
    r = M.evaluate_colorizer(oracle, x, batch_size=4, device="cpu", prior=prior)
    # t = 0 counts exact matches only: float round-off may cost that one threshold of 151
    assert seen == [4, 4, 2] and r["rmse_ab"] < 1e-4 and min(r["auc"], r["auc_rebalanced"]) >= 150 / 151 - 1e-9
    assert r["ssim"] > 0.999 and r["psnr"] > 60 and r["rmse_rgb"] < 1e-3
    with pytest.raises(ValueError, match="evaluate_colorizer.*ab"):
        M.evaluate_colorizer(lambda L: L, x, device="cpu")
    with pytest.raises(TypeError, match="ImageSet"):
        M.evaluate_colorizer(oracle, [1, 2, 3])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_metrics_on_cuda_match_cpu():
    pred, true = _rgb_pair(b=2, h=16, w=16)
    for fn in (M.rmse_rgb, M.psnr, M.ssim):
        assert torch.allclose(fn(pred.cuda(), true.cuda()).cpu(), fn(pred, true))
    assert torch.allclose(M.colorfulness(true.cuda()).cpu(), M.colorfulness(true))
    ab = torch.randn(2, 2, 8, 8) * 30
    assert torch.allclose(M.auc_ab(ab.cuda(), ab.cuda() + 5).cpu(), M.auc_ab(ab, ab + 5))


def test_evaluate_colorizer_intervals_match_numpy_over_images():
    import numpy as np

    from colorkit.metrics import evaluate_colorizer, psnr, rmse_ab

    images = torch.randint(0, 256, (37, 3, 16, 16), dtype=torch.uint8, generator=torch.Generator().manual_seed(3))
    out = evaluate_colorizer(lambda L: torch.zeros(L.shape[0], 2, *L.shape[-2:]), images, batch_size=10, device="cpu")
    from colorkit import color

    rgb = color.uint8_to_float(images)
    L, ab = color.split_lab(rgb)
    for key, per in (("rmse_ab", rmse_ab(torch.zeros_like(ab), ab, "none")),
                     ("psnr", psnr(color.join_lab(L, torch.zeros_like(ab)), rgb, reduction="none"))):
        values = per.double().numpy()
        assert out[key] == pytest.approx(values.mean(), rel=1e-6)
        assert out[f"{key}_ci95"] == pytest.approx(1.959964 * values.std(ddof=1) / np.sqrt(len(values)), rel=1e-5)


def test_tables_show_the_interval_beside_the_mean():
    from colorkit.runner import format_table

    text = format_table([{"model": "a", "psnr": 24.2, "psnr_ci95": 0.31}, {"model": "b", "psnr": 20.0}])
    assert "| a | 24.200 ± 0.310 |" in text and "| b | 20.000 |" in text


def test_a_pipe_in_a_name_does_not_break_the_table():
    from colorkit.runner import format_table

    text = format_table([{"model": "E[ab | L] table", "psnr": 1.0}])
    assert text.splitlines()[-1] == "| E[ab \\| L] table | 1.000 |"


def test_against_original_scores_a_photo_by_hand():
    from skimage.color import rgb2lab

    g = torch.Generator().manual_seed(3)
    original, rgb = torch.rand(1, 3, 16, 16, generator=g), torch.rand(1, 3, 16, 16, generator=g)
    s = M.against_original(rgb, original)
    lab = lambda x: torch.from_numpy(rgb2lab(x[0].permute(1, 2, 0).double().numpy())).permute(2, 0, 1)  # noqa: E731
    want_rmse = (lab(rgb)[1:] - lab(original)[1:]).square().mean().sqrt().item()
    assert s["rmse_ab"] == pytest.approx(want_rmse, rel=1e-3)
    assert s["grey_rmse_ab"] == pytest.approx(lab(original)[1:].square().mean().sqrt().item(), rel=1e-3)
    assert s["colourfulness"] == pytest.approx((M.colorfulness(rgb) / M.colorfulness(original)).item())
    assert M.against_original(original, original) == pytest.approx(
        {"colourfulness": 1.0, "rmse_ab": 0.0, "grey_rmse_ab": s["grey_rmse_ab"]})


def test_grey_fraction_counts_pixels_below_five_lab_units():
    ab = torch.tensor([[3.0, 4.0], [4.0, 3.1], [0.0, 0.0], [-10.0, 0.0]]).T.reshape(1, 2, 2, 2)  # |ab| 5, 5.04, 0, 10
    assert M.grey_fraction(ab).item() == 0.25  # only the zero pixel: |ab| = 5 is not below 5
    two = torch.cat([ab, torch.zeros_like(ab)])
    assert M.grey_fraction(two, "none").tolist() == [0.25, 1.0] and M.grey_fraction(two).item() == 0.625
