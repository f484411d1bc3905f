"""colorkit.color against scikit-image: Lab, YCbCr, HSV, the luma / chroma split and input checks."""
import warnings

import numpy as np
import pytest
import skimage.color as skc
import torch
import torch.nn.functional as F

from colorkit import color

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
# black, white, gray, the primaries and secondaries, and values at the gamma / Lab branch points
EDGE = [[0, 0, 0], [1, 1, 1], [0.5, 0.5, 0.5], [1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0], [0, 1, 1], [1, 0, 1],
        [0.04045, 0.0031308, 0.2], [0.0404, 0.0405, 1e-4], [0.9, 0.9, 0.2]]


def _images(dtype, seed=0):
    """Random (4, 3, 9, 7) batch plus the edge colours as a (1, 3, 1, 12) batch."""
    g = torch.Generator().manual_seed(seed)
    return [torch.rand(4, 3, 9, 7, generator=g, dtype=dtype),
            torch.tensor(EDGE, dtype=dtype).T.reshape(1, 3, 1, len(EDGE))]


def _nhwc(x):
    return x.detach().cpu().permute(0, 2, 3, 1).numpy()


def _nchw(a):
    return torch.from_numpy(np.ascontiguousarray(a)).permute(0, 3, 1, 2)


TOL = {torch.float32: 1e-3, torch.float64: 1e-8}


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_rgb_to_lab_matches_skimage(dtype, device):
    for rgb in _images(dtype):
        lab = color.rgb_to_lab(rgb.to(device))
        assert lab.dtype == dtype and lab.device.type == device and lab.shape == rgb.shape
        want = skc.rgb2lab(_nhwc(rgb).astype(np.float64), channel_axis=-1)
        np.testing.assert_allclose(_nhwc(lab.double()), want, rtol=0, atol=TOL[dtype])


def test_lab_of_known_colours():
    lab = color.rgb_to_lab(torch.tensor(EDGE[:6], dtype=torch.float64).T.reshape(1, 3, 1, 6))[0, :, 0].T
    assert lab[0].abs().max() < 1e-12  # black
    torch.testing.assert_close(lab[1], torch.tensor([100.0, 0.0, 0.0], dtype=torch.float64), atol=1e-2, rtol=0)
    torch.testing.assert_close(lab[3], torch.tensor([53.24, 80.09, 67.20], dtype=torch.float64), atol=1e-2, rtol=0)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_lab_to_rgb_matches_skimage_and_clips(dtype, device):
    g = torch.Generator().manual_seed(1)
    # in and far out of gamut (negative Z included: skimage clips it to 0 and warns)
    lab = torch.stack([torch.rand(2, 6, 5, generator=g) * 100, torch.rand(2, 6, 5, generator=g) * 256 - 128,
                       torch.rand(2, 6, 5, generator=g) * 256 - 128], dim=1).to(dtype)
    for x in [lab, color.rgb_to_lab(_images(dtype)[1])]:
        rgb = color.lab_to_rgb(x.to(device))
        assert rgb.dtype == dtype and rgb.min() >= 0 and rgb.max() <= 1
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            want = skc.lab2rgb(_nhwc(x).astype(np.float64), channel_axis=-1)
        np.testing.assert_allclose(_nhwc(rgb.double()), want, rtol=0, atol=TOL[dtype])


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_lab_round_trip(dtype):
    rgb = _images(dtype)[0]
    torch.testing.assert_close(color.lab_to_rgb(color.rgb_to_lab(rgb)), rgb, atol=TOL[dtype] * 1e-2, rtol=0)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_ycbcr_matches_skimage(dtype):
    for rgb in _images(dtype):
        ycc = color.rgb_to_ycbcr(rgb)
        want = skc.rgb2ycbcr(_nhwc(rgb).astype(np.float64), channel_axis=-1)
        np.testing.assert_allclose(_nhwc(ycc.double()), want, rtol=0, atol=TOL[dtype])
        back = color.ycbcr_to_rgb(ycc)
        want_back = skc.ycbcr2rgb(_nhwc(ycc).astype(np.float64), channel_axis=-1)
        np.testing.assert_allclose(_nhwc(back.double()), want_back, rtol=0, atol=TOL[dtype])
        torch.testing.assert_close(back, rgb, atol=TOL[dtype] * 1e-2, rtol=0)
    studio = color.rgb_to_ycbcr(torch.tensor([[0.0, 0, 0], [1, 1, 1]]).T.reshape(1, 3, 1, 2))[0, :, 0].T
    torch.testing.assert_close(studio, torch.tensor([[16.0, 128, 128], [235, 128, 128]]), atol=1e-3, rtol=0)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_hsv_matches_skimage(dtype):
    ties = torch.tensor([[0.2, 0.2, 0.1], [0.1, 0.3, 0.3], [0.4, 0.1, 0.4], [0.7, 0.7, 0.7], [0, 0, 0]], dtype=dtype)
    for rgb in _images(dtype) + [ties.T.reshape(1, 3, 1, 5)]:
        hsv = color.rgb_to_hsv(rgb)
        want = skc.rgb2hsv(_nhwc(rgb).astype(np.float64), channel_axis=-1)
        np.testing.assert_allclose(_nhwc(hsv.double()), want, rtol=0, atol=1e-6 if dtype == torch.float32 else 1e-12)
        back = color.hsv_to_rgb(hsv)
        want_back = skc.hsv2rgb(_nhwc(hsv).astype(np.float64), channel_axis=-1)
        np.testing.assert_allclose(_nhwc(back.double()), want_back, rtol=0, atol=1e-6)
        torch.testing.assert_close(back, rgb, atol=1e-5, rtol=0)


def test_uint8_to_float_and_normalize_l():
    x = torch.tensor([0, 51, 255], dtype=torch.uint8).repeat(1, 3, 1, 1)  # (1, 3, 1, 3)
    y = color.uint8_to_float(x)
    assert y.dtype == torch.float32
    torch.testing.assert_close(y[0, 0, 0], torch.tensor([0.0, 0.2, 1.0]))
    with pytest.raises(ValueError, match="uint8_to_float.*torch.uint8"):
        color.uint8_to_float(x.float())
    torch.testing.assert_close(color.normalize_l(torch.tensor([0.0, 50.0, 100.0])), torch.tensor([-1.0, 0.0, 1.0]))
    assert (color.L_CENTER, color.L_SCALE, color.AB_SCALE) == (50, 50, 110)


def test_split_and_join_lab():
    rgb = _images(torch.float64)[0]
    L, ab = color.split_lab(rgb)
    assert L.shape == (4, 1, 9, 7) and ab.shape == (4, 2, 9, 7)
    torch.testing.assert_close(torch.cat([L, ab], 1), color.rgb_to_lab(rgb))
    torch.testing.assert_close(color.join_lab(L, ab), rgb, atol=1e-10, rtol=0)
    # low-resolution ab (a model's output) is upsampled bilinearly to L's size
    L2, ab2 = color.split_lab(torch.rand(2, 3, 8, 8, dtype=torch.float64))
    small = F.avg_pool2d(ab2, 4)  # (2, 2, 2, 2)
    want = color.lab_to_rgb(torch.cat([L2, F.interpolate(small, size=(8, 8), mode="bilinear")], 1))
    torch.testing.assert_close(color.join_lab(L2, small), want)
    with pytest.raises(ValueError, match="join_lab.*same batch size"):
        color.join_lab(L2, small[:1])
    with pytest.raises(ValueError, match=r"join_lab.*2 channels.*\(2, 3, 8, 8\)"):
        color.join_lab(L2, torch.zeros(2, 3, 8, 8))


def test_luma_chroma_lab_and_ycbcr():
    rgb = _images(torch.float64)[0]
    L, ab = color.to_luma_chroma(rgb, "lab")
    torch.testing.assert_close(torch.cat([L, ab], 1), color.rgb_to_lab(rgb))
    Y, cc = color.to_luma_chroma(rgb, "ycbcr")
    ycc = torch.from_numpy(skc.rgb2ycbcr(_nhwc(rgb))).permute(0, 3, 1, 2)
    torch.testing.assert_close(Y, (ycc[:, :1] - 16) * 100 / 219)
    torch.testing.assert_close(cc, ycc[:, 1:] - 128)
    assert Y.min() >= 0 and Y.max() <= 100 and cc.abs().max() <= 112
    for space, (lu, ch) in {"lab": (L, ab), "ycbcr": (Y, cc)}.items():
        torch.testing.assert_close(color.from_luma_chroma(lu, ch, space), rgb, atol=1e-10, rtol=0)
        low = color.from_luma_chroma(lu, F.avg_pool2d(ch, 3, ceil_mode=True), space)  # chroma upsampled
        assert low.shape == rgb.shape and low.min() >= 0 and low.max() <= 1  # clipped
    with pytest.raises(ValueError, match="to_luma_chroma: unknown space 'hsv'; valid values: lab, ycbcr"):
        color.to_luma_chroma(rgb, "hsv")
    with pytest.raises(ValueError, match="from_luma_chroma: unknown space"):
        color.from_luma_chroma(Y, cc, "yuv")


@pytest.mark.parametrize("fn", [color.rgb_to_lab, color.lab_to_rgb, color.rgb_to_ycbcr, color.ycbcr_to_rgb,
                                color.rgb_to_hsv, color.hsv_to_rgb, color.split_lab])
def test_bad_inputs_name_function_and_shape(fn):
    with pytest.raises(ValueError, match=rf"{fn.__name__}: expected .*\(3, 32, 32\)"):
        fn(torch.rand(3, 32, 32))
    with pytest.raises(ValueError, match=rf"{fn.__name__}: expected .*3 channels.*\(1, 4, 2, 2\)"):
        fn(torch.rand(1, 4, 2, 2))
    with pytest.raises(TypeError, match=rf"{fn.__name__}: expected .*torch.Tensor, got ndarray"):
        fn(np.zeros((1, 3, 2, 2)))
    with pytest.raises(ValueError, match=rf"{fn.__name__}: .*floating-point"):
        fn(torch.zeros(1, 3, 2, 2, dtype=torch.uint8))


def test_gradients_are_finite_and_correct():
    rgb = torch.rand(1, 3, 3, 3, dtype=torch.float64).clamp(0.05, 0.95).requires_grad_(True)
    assert torch.autograd.gradcheck(color.rgb_to_lab, (rgb,))
    lab = color.rgb_to_lab(torch.rand(1, 3, 3, 3, dtype=torch.float64).clamp(0.2, 0.8)).requires_grad_(True)
    assert torch.autograd.gradcheck(color.lab_to_rgb, (lab,))
    edge = torch.tensor(EDGE, dtype=torch.float64).T.reshape(1, 3, 1, len(EDGE)).requires_grad_(True)
    color.rgb_to_lab(edge).sum().backward()  # black / white / branch points: no NaN from the unused branch
    assert torch.isfinite(edge.grad).all()


def test_conversions_keep_float32_inside_autocast():
    """A model's forward (color.gray_from_l in the VGG front ends) runs under bf16 autocast: no colour cast."""
    g = torch.Generator().manual_seed(0)
    rgb = torch.rand(2, 3, 8, 8, generator=g)
    L = torch.linspace(0, 100, 64).view(1, 1, 8, 8)
    want_lab, want_gray = color.rgb_to_lab(rgb), color.lab_to_rgb(torch.cat([L, torch.zeros(1, 2, 8, 8)], 1))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        lab = color.rgb_to_lab(rgb)
        gray = color.lab_to_rgb(torch.cat([L, torch.zeros(1, 2, 8, 8)], 1))
    assert lab.dtype == torch.float32 and gray.dtype == torch.float32
    torch.testing.assert_close(lab, want_lab, atol=1e-5, rtol=0)
    assert float((gray[:, 0] - gray[:, 1]).abs().max()) < 1e-5 and torch.allclose(gray, want_gray, atol=1e-6)
