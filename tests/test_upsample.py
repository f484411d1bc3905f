"""colorkit.upsample: the guided filter against an explicit per-pixel window loop (numpy float64), edge cases,
one-line errors, and predict_colors' upsample switch (no change at all where no upsampling happens)."""
import numpy as np
import pytest
import torch

from colorkit import targets
from colorkit.upsample import box_filter, default_radius, guided_filter, upsample_chroma


def _window(i: int, n: int, r: int) -> slice:
    return slice(max(0, i - r), min(n, i + r + 1))  # cut at the border


def brute_box(x: np.ndarray, r: int) -> np.ndarray:
    """Mean over each window, one pixel at a time: (C, H, W)."""
    _, h, w = x.shape
    out = np.empty_like(x)
    for i in range(h):
        for j in range(w):
            out[:, i, j] = x[:, _window(i, h, r), _window(j, w, r)].mean(axis=(1, 2))
    return out


def brute_coefficients(p: np.ndarray, I: np.ndarray, r: int, eps: float) -> tuple[np.ndarray, np.ndarray]:
    """He et al.'s equations read literally: a_k, b_k per window k from the window's pixels, then each pixel's
    mean of the a_k, b_k of the windows that hold it. p (C, H, W), I (H, W)."""
    c, h, w = p.shape
    a, b = np.empty((c, h, w)), np.empty((c, h, w))
    for i in range(h):
        for j in range(w):
            wi = I[_window(i, h, r), _window(j, w, r)].ravel()
            for ch in range(c):
                wp = p[ch, _window(i, h, r), _window(j, w, r)].ravel()
                cov = (wi * wp).mean() - wi.mean() * wp.mean()
                a[ch, i, j] = cov / (wi.var() + eps)
                b[ch, i, j] = wp.mean() - a[ch, i, j] * wi.mean()
    mean_a, mean_b = np.empty_like(a), np.empty_like(b)
    for i in range(h):  # the windows holding pixel i are those centred within r of it
        for j in range(w):
            sl = (slice(None), _window(i, h, r), _window(j, w, r))
            mean_a[:, i, j], mean_b[:, i, j] = a[sl].mean(axis=(1, 2)), b[sl].mean(axis=(1, 2))
    return mean_a, mean_b


def brute_guided(p: np.ndarray, I: np.ndarray, r: int, eps: float) -> np.ndarray:
    """q_i = mean over the windows k holding pixel i of a_k I_i + b_k."""
    mean_a, mean_b = brute_coefficients(p, I, r, eps)
    return mean_a * I + mean_b


@pytest.mark.parametrize("shape, r, eps", [((2, 2, 9, 13), 2, 1e-2), ((1, 3, 7, 5), 1, 1e-4),
                                           ((1, 2, 6, 8), 20, 1e-3), ((1, 2, 5, 6), 0, 1e-2)])
def test_guided_filter_matches_a_per_pixel_window_loop(shape, r, eps):
    g = torch.Generator().manual_seed(0)
    p = torch.randn(shape, generator=g, dtype=torch.float64) * 30
    I = torch.rand(shape[0], 1, *shape[2:], generator=g, dtype=torch.float64)
    I[..., : shape[2] // 2, :] += 1.0  # an edge
    q = guided_filter(p, I, r, eps)
    for n in range(shape[0]):
        want = brute_guided(p[n].numpy(), I[n, 0].numpy(), r, eps)
        np.testing.assert_allclose(q[n].numpy(), want, rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(box_filter(p, r)[n].numpy(), brute_box(p[n].numpy(), r), rtol=1e-12, atol=1e-12)


def test_float32_on_a_large_image_matches_float64():
    g = torch.Generator().manual_seed(1)
    p = torch.randn(1, 2, 400, 600, generator=g) * 40
    I = torch.rand(1, 1, 400, 600, generator=g)
    q32 = guided_filter(p, I, 16, 1e-2)
    q64 = guided_filter(p.double(), I.double(), 16, 1e-2)
    assert q32.dtype == torch.float32
    assert torch.allclose(q32.double(), q64, atol=1e-4)


def test_radius_beyond_the_image_is_one_global_linear_fit():
    g = torch.Generator().manual_seed(2)
    I = torch.rand(1, 1, 6, 7, generator=g, dtype=torch.float64)
    p = 3.0 * I - 2.0 + 0.01 * torch.randn(1, 2, 6, 7, generator=g, dtype=torch.float64)
    eps = 1e-6
    q = guided_filter(p, I, 50, eps)  # every window is the whole image
    x, y = I.flatten(), p[0].flatten(1)
    a = ((x * y).mean(1) - x.mean() * y.mean(1)) / (x.var(correction=0) + eps)
    b = y.mean(1) - a * x.mean()
    assert torch.allclose(q[0], a[:, None, None] * I[0] + b[:, None, None], atol=1e-12)


def test_constant_guide_gives_the_box_filtered_input():
    """var(I) = cov(I, p) = 0: a = 0, b = box(p), so q = box(box(p)) (no edge to keep)."""
    g = torch.Generator().manual_seed(3)
    p = torch.randn(2, 2, 11, 9, generator=g, dtype=torch.float64)
    I = torch.full((2, 1, 11, 9), 0.4, dtype=torch.float64)
    q = guided_filter(p, I, 3, 1e-3)
    assert torch.allclose(q, box_filter(box_filter(p, 3), 3), atol=1e-12)
    np.testing.assert_allclose(q[1].numpy(), brute_box(brute_box(p[1].numpy(), 3), 3), atol=1e-12)


def test_fast_guided_upsampling_matches_the_loop_at_low_resolution():
    """fast=True: a, b and their window means from the loop at (h, w) on the area-downsampled guide, then bilinear."""
    import torch.nn.functional as F

    g = torch.Generator().manual_seed(5)
    low = torch.randn(2, 2, 6, 5, generator=g, dtype=torch.float64) * 20
    L = torch.rand(2, 1, 24, 20, generator=g, dtype=torch.float64) * 100
    q = upsample_chroma(low, L, "guided", radius=1, eps=1e-2)
    for n in range(2):
        guide = L[n, 0].numpy().reshape(6, 4, 5, 4).mean(axis=(1, 3)) / 100  # 4 x 4 blocks' means
        a, b = (torch.from_numpy(t)[None] for t in brute_coefficients(low[n].numpy(), guide, 1, 1e-2))
        a, b = (F.interpolate(t, size=(24, 20), mode="bilinear", align_corners=False)[0] for t in (a, b))
        np.testing.assert_allclose(q[n].numpy(), (a * L[n] / 100 + b).numpy(), rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("fast", [True, False])
def test_colour_stops_at_an_edge_of_the_guide(fast):
    """A left/right split in L and chroma at 4 x 4, upsampled x16: guided keeps a step, bilinear ramps over 16 px."""
    L = torch.zeros(1, 1, 64, 64)
    L[..., 32:] = 80.0
    low = torch.zeros(1, 2, 4, 4)
    low[:, 0, :, 2:] = 40.0
    bil = upsample_chroma(low, L, "bilinear")[0, 0, 0]
    gui = upsample_chroma(low, L, "guided", fast=fast)[0, 0, 0]
    assert gui[32] - gui[31] > 20 and bil[32] - bil[31] < 3  # the step: sharp against a ramp
    assert gui[24:32].max() < 9 and bil[24:32].max() > 15  # colour 8 px into the dark side
    assert gui[32:40].min() > 30 and bil[32:40].min() < 25


def test_upsample_chroma_is_a_no_op_at_equal_size_and_checks_its_inputs():
    ab = torch.randn(2, 2, 8, 8)
    L = torch.rand(2, 1, 8, 8) * 100
    assert upsample_chroma(ab, L, "guided") is ab and upsample_chroma(ab, L, "bilinear") is ab
    assert default_radius((32, 32), (512, 300)) == 16 and default_radius((32, 32), (40, 40)) == 1


@pytest.mark.parametrize("call, match", [
    (lambda: guided_filter(torch.zeros(2, 4, 4), torch.zeros(1, 1, 4, 4), 1, 1e-2), r"p as a float \(B, C, H, W\).*\(2, 4, 4\)"),
    (lambda: guided_filter(torch.zeros(1, 2, 4, 4), torch.zeros(1, 3, 4, 4), 1, 1e-2), r"guide.*\(1, 3, 4, 4\)"),
    (lambda: guided_filter(torch.zeros(1, 2, 4, 4), torch.zeros(1, 1, 4, 5), 1, 1e-2), r"\(1, 1, 4, 5\).*\(1, 2, 4, 4\)"),
    (lambda: guided_filter(torch.zeros(1, 2, 4, 4), torch.zeros(1, 1, 4, 4), -1, 1e-2), "radius"),
    (lambda: guided_filter(torch.zeros(1, 2, 4, 4), torch.zeros(1, 1, 4, 4), 1, 0.0), "eps"),
    (lambda: upsample_chroma(torch.zeros(1, 2, 4, 4), torch.zeros(1, 1, 8, 8), "nearest"), "nearest"),
    (lambda: upsample_chroma(torch.zeros(2, 2, 4, 4), torch.zeros(1, 1, 8, 8)), r"\(2, 2, 4, 4\)"),
    (lambda: box_filter(torch.zeros(1, 1, 4, 4, dtype=torch.uint8), 1), "uint8"),
])
def test_bad_inputs_raise_one_line_errors(call, match):
    with pytest.raises(ValueError, match=match) as info:
        call()
    assert "\n" not in str(info.value)


class _Tiny(torch.nn.Module):
    """A colorizer whose ab follows its input L: enough to see predict_colors' upsampling."""
    output_kind = "ab"

    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.tensor(0.5))

    def forward(self, L):
        return torch.cat([self.w * (L - 50), -self.w * (L - 50)], 1)


def test_predict_colors_upsample_switch_and_no_change_without_upsampling():
    model = _Tiny()
    g = torch.Generator().manual_seed(4)
    small = torch.randint(0, 256, (3, 3, 32, 32), generator=g, dtype=torch.uint8)
    base = targets.predict_colors(model, small, output="chroma", upsample="bilinear")
    for up in ("guided", "bilinear"):  # CIFAR-10 evaluation: model size = image size, nothing upsampled
        for size in (None, 32):
            assert torch.equal(targets.predict_colors(model, small, output="chroma", size=size, upsample=up), base)
    assert torch.equal(targets.predict_colors(model, small, output="chroma"), base)  # the default too
    big = torch.randint(0, 256, (1, 3, 96, 80), generator=g, dtype=torch.uint8)
    bil = targets.predict_colors(model, big, output="chroma", size=16, upsample="bilinear")
    gui = targets.predict_colors(model, big, output="chroma", size=16, upsample="guided")
    assert bil.shape == gui.shape == (1, 2, 96, 80) and not torch.allclose(bil, gui)
    with pytest.raises(ValueError, match="upsample"):
        targets.predict_colors(model, big, size=16, upsample="cubic")


def test_colorizer_upsample_field_and_the_colorize_flag(tmp_path):
    """Colorizer(upsample=...) and `colorkit colorize --upsample` pass it to predict_colors (default: guided)."""
    from PIL import Image

    from colorkit.cli import main
    from colorkit.colorizer import Colorizer

    model = _Tiny()
    g = torch.Generator().manual_seed(6)
    img = torch.randint(0, 256, (1, 3, 40, 56), generator=g, dtype=torch.uint8)
    for up in ("guided", "bilinear"):
        want = targets.predict_colors(model, img, size=8, upsample=up)
        assert torch.equal(Colorizer(model, size=8, upsample=up)(img), want)
    assert Colorizer(model).upsample == "guided"
    with pytest.raises(ValueError, match="unknown upsample 'cubic'"):
        Colorizer(model, upsample="cubic")
    Image.fromarray(img[0].permute(1, 2, 0).numpy()).save(tmp_path / "p.png")
    outs = {}
    for up in ("guided", "bilinear"):
        assert main(["colorize", str(tmp_path / "p.png"), "-o", str(tmp_path / up), "--model", "regressor",
                     "--device", "cpu", "--upsample", up]) == 0
        outs[up] = np.asarray(Image.open(tmp_path / up / "p_colorized.png"))
        c = Colorizer.from_pretrained("regressor", "cpu", size=32, upsample=up)
        np.testing.assert_array_equal(outs[up], (c(img)[0] * 255).round().byte().permute(1, 2, 0).numpy())
    assert not np.array_equal(outs["guided"], outs["bilinear"])
