"""Colour spaces on batched (B, 3, H, W) tensors: sRGB <-> CIE Lab / YCbCr / HSV, matching scikit-image.

Every function runs on the input's device and keeps float32 / float64 (other float dtypes are computed in
float32 and cast back). The constants are scikit-image's, so results agree with skimage.color to float
rounding: sRGB primaries with a D65 white (2 degree observer), the 0.04045 / 0.0031308 gamma branches and
the 0.008856 / 7.787 linear segment of the Lab curve.
"""
from __future__ import annotations

from functools import lru_cache

import torch
import torch.nn.functional as F

from ._checks import check_image_batch, check_tensor

L_CENTER = 50.0  # normalize_l(L) = (L - L_CENTER) / L_SCALE is in [-1, 1]
L_SCALE = 50.0
AB_SCALE = 110.0  # tanh head: ab = AB_SCALE * tanh(x)

SPACES = ("lab", "ycbcr")  # training spaces of to_luma_chroma / from_luma_chroma (seed 000)

# sRGB (linear) -> XYZ, and the D65 white of the 2 degree observer: scikit-image's values.
_XYZ_FROM_RGB = ((0.412453, 0.357580, 0.180423),
                 (0.212671, 0.715160, 0.072169),
                 (0.019334, 0.119193, 0.950227))
_D65 = (0.95047, 1.0, 1.08883)
# ITU-R BT.601 studio swing on [0, 1] input: Y in [16, 235], Cb / Cr in [16, 240] (skimage.color.rgb2ycbcr).
_YCBCR_FROM_RGB = ((65.481, 128.553, 24.966),
                   (-37.797, -74.203, 112.0),
                   (112.0, -93.786, -18.214))
_YCBCR_OFFSET = (16.0, 128.0, 128.0)
_Y_RANGE = 219.0  # 235 - 16
# hsv_to_rgb: for sector i = floor(6 h) mod 6, which of (v, t, p, q) goes to (r, g, b)
_HSV_SECTORS = ((0, 1, 2), (3, 0, 2), (2, 0, 1), (2, 3, 0), (1, 2, 0), (0, 2, 3))


@lru_cache(maxsize=None)
def _matrices(dtype: torch.dtype, device: torch.device) -> dict[str, torch.Tensor]:
    """The conversion constants on one (dtype, device), built once in float64 and cast."""
    m = {
        "xyz_from_rgb": torch.tensor(_XYZ_FROM_RGB, dtype=torch.float64),
        "white": torch.tensor(_D65, dtype=torch.float64),
        "ycbcr_from_rgb": torch.tensor(_YCBCR_FROM_RGB, dtype=torch.float64),
        "ycbcr_offset": torch.tensor(_YCBCR_OFFSET, dtype=torch.float64),
        "hsv_sectors": torch.tensor(_HSV_SECTORS, dtype=torch.int64),
    }
    m["rgb_from_xyz"] = torch.linalg.inv(m["xyz_from_rgb"])
    m["xyz_from_rgb_white"] = m["xyz_from_rgb"] / m["white"][:, None]  # rows scaled by 1 / white
    m["lab_from_f"] = torch.tensor([[0.0, 116.0, 0.0], [500.0, -500.0, 0.0], [0.0, 200.0, -200.0]],
                                   dtype=torch.float64)
    m["lab_offset"] = torch.tensor([-16.0, 0.0, 0.0], dtype=torch.float64)
    m["rgb_from_ycbcr"] = torch.linalg.inv(m["ycbcr_from_rgb"])
    return {k: v.to(device=device, dtype=v.dtype if k == "hsv_sectors" else dtype) for k, v in m.items()}


def _work_dtype(x: torch.Tensor) -> torch.dtype:
    return x.dtype if x.dtype in (torch.float32, torch.float64) else torch.float32


def _apply(matrix: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """(3, 3) matrix times every pixel of a (B, 3, H, W) batch, in x's precision even inside autocast."""
    # Autocast would run this einsum (a bmm) in bf16 inside a model's forward (gray_from_l): a grey input
    # came out with |R - G| up to 4/255 and Lab off by 3 units. Colour maths stays in float32 / float64.
    with torch.autocast(x.device.type, enabled=False):
        return torch.einsum("ij,bjhw->bihw", matrix.to(x.dtype), x)


def _channels(x: torch.Tensor) -> torch.Tensor:
    """(3,) per-channel constants -> (1, 3, 1, 1), broadcastable over a batch."""
    return x.view(1, -1, 1, 1)


def _pow(x: torch.Tensor, e: float) -> torch.Tensor:
    """x ** e for x > 0 as exp(e log x): about twice as fast as pow on CPU, within a few ulp."""
    return torch.exp(torch.log(x) * e)


def rgb_to_lab(rgb: torch.Tensor) -> torch.Tensor:
    """sRGB in [0, 1] (B, 3, H, W) -> CIE Lab (B, 3, H, W): L in [0, 100], a, b in about [-128, 127]."""
    check_image_batch(rgb, "rgb", "rgb_to_lab", channels=3)
    x = rgb.to(_work_dtype(rgb))
    m = _matrices(x.dtype, x.device)
    # sRGB gamma -> linear light (the clamp keeps the unused branch finite, so gradients stay finite)
    lin = torch.where(x > 0.04045, _pow((x.clamp_min(0.04045) + 0.055) / 1.055, 2.4), x / 12.92)
    t = _apply(m["xyz_from_rgb_white"], lin)  # (B, 3, H, W) XYZ / white
    f = torch.where(t > 0.008856, _pow(t.clamp_min(0.008856), 1.0 / 3.0), 7.787 * t + 16.0 / 116.0)
    lab = _apply(m["lab_from_f"], f) + _channels(m["lab_offset"])  # L = 116 fy - 16, a = 500 (fx - fy), ...
    return lab.to(rgb.dtype)


def lab_to_rgb(lab: torch.Tensor) -> torch.Tensor:
    """CIE Lab (B, 3, H, W) -> sRGB (B, 3, H, W) clipped to [0, 1] (negative Z clipped to 0, as skimage)."""
    check_image_batch(lab, "lab", "lab_to_rgb", channels=3)
    x = lab.to(_work_dtype(lab))
    m = _matrices(x.dtype, x.device)
    L, a, b = x.unbind(1)  # (B, H, W) each
    fy = (L + 16.0) / 116.0
    f = torch.stack([a / 500.0 + fy, fy, (fy - b / 200.0).clamp_min(0.0)], dim=1)  # (B, 3, H, W)
    t = torch.where(f > 0.2068966, f * f * f, (f - 16.0 / 116.0) / 7.787)
    lin = _apply(m["rgb_from_xyz"], t * _channels(m["white"]))  # linear sRGB, may leave [0, 1]
    srgb = torch.where(lin > 0.0031308, 1.055 * _pow(lin.clamp_min(0.0031308), 1.0 / 2.4) - 0.055, 12.92 * lin)
    return srgb.clamp(0.0, 1.0).to(lab.dtype)


def rgb_to_ycbcr(rgb: torch.Tensor) -> torch.Tensor:
    """sRGB in [0, 1] (B, 3, H, W) -> YCbCr, BT.601 studio swing as skimage: Y in [16, 235], Cb, Cr in [16, 240]."""
    check_image_batch(rgb, "rgb", "rgb_to_ycbcr", channels=3)
    x = rgb.to(_work_dtype(rgb))
    m = _matrices(x.dtype, x.device)
    return (_apply(m["ycbcr_from_rgb"], x) + _channels(m["ycbcr_offset"])).to(rgb.dtype)


def ycbcr_to_rgb(ycbcr: torch.Tensor) -> torch.Tensor:
    """YCbCr (B, 3, H, W) in skimage's studio swing -> sRGB (not clipped, exactly like skimage.color.ycbcr2rgb)."""
    check_image_batch(ycbcr, "ycbcr", "ycbcr_to_rgb", channels=3)
    x = ycbcr.to(_work_dtype(ycbcr))
    m = _matrices(x.dtype, x.device)
    return _apply(m["rgb_from_ycbcr"], x - _channels(m["ycbcr_offset"])).to(ycbcr.dtype)


def rgb_to_hsv(rgb: torch.Tensor) -> torch.Tensor:
    """sRGB in [0, 1] (B, 3, H, W) -> HSV (B, 3, H, W), all channels in [0, 1] (hue 0 for grays), as skimage."""
    check_image_batch(rgb, "rgb", "rgb_to_hsv", channels=3)
    x = rgb.to(_work_dtype(rgb))
    r, g, b = x.unbind(1)  # (B, H, W) each
    v = x.amax(dim=1)
    delta = v - x.amin(dim=1)
    gray = delta == 0
    d = torch.where(gray, torch.ones_like(delta), delta)  # safe divisor
    # skimage assigns the red, then green, then blue formula: on ties the later one wins
    h = torch.where(b == v, 4.0 + (r - g) / d, torch.where(g == v, 2.0 + (b - r) / d, (g - b) / d))
    h = torch.where(gray, torch.zeros_like(h), torch.remainder(h / 6.0, 1.0))
    s = torch.where(gray, torch.zeros_like(v), delta / torch.where(v == 0, torch.ones_like(v), v))
    return torch.stack([h, s, v], dim=1).to(rgb.dtype)


def hsv_to_rgb(hsv: torch.Tensor) -> torch.Tensor:
    """HSV (B, 3, H, W) with h, s, v in [0, 1] -> sRGB (B, 3, H, W), as skimage.color.hsv2rgb."""
    check_image_batch(hsv, "hsv", "hsv_to_rgb", channels=3)
    x = hsv.to(_work_dtype(hsv))
    h, s, v = x.unbind(1)  # (B, H, W) each
    hi = torch.floor(h * 6.0)
    f = h * 6.0 - hi
    p, q, t = v * (1.0 - s), v * (1.0 - f * s), v * (1.0 - (1.0 - f) * s)
    parts = torch.stack([v, t, p, q], dim=1)  # (B, 4, H, W)
    sector = torch.remainder(hi.long(), 6)  # (B, H, W) in 0..5
    pick = _matrices(x.dtype, x.device)["hsv_sectors"][sector].permute(0, 3, 1, 2)  # (B, 3, H, W) into parts
    return parts.gather(1, pick).to(hsv.dtype)


def uint8_to_float(x: torch.Tensor) -> torch.Tensor:
    """uint8 (B, 3, H, W) images in 0..255 -> float32 in [0, 1] on the same device."""
    check_image_batch(x, "x", "uint8_to_float", channels=3, floating=False)
    if x.dtype != torch.uint8:
        raise ValueError(f"uint8_to_float: expected x with dtype torch.uint8, got {x.dtype}")
    return x.to(torch.float32) / 255.0


def normalize_l(L: torch.Tensor) -> torch.Tensor:
    """Raw L in [0, 100] -> (L - 50) / 50 in [-1, 1], the input every model sees."""
    check_tensor(L, "L", "normalize_l")
    return (L - L_CENTER) / L_SCALE


def _upsample_to(chroma: torch.Tensor, luma: torch.Tensor, fn: str) -> torch.Tensor:
    """Check a (B, 1, H, W) luma / (B, 2, h, w) chroma pair; bilinearly resize chroma to (H, W) if needed."""
    check_image_batch(luma, "L", fn, channels=1)
    check_image_batch(chroma, "ab", fn, channels=2)
    if chroma.shape[0] != luma.shape[0]:
        raise ValueError(f"{fn}: L and ab must have the same batch size, got L {tuple(luma.shape)} "
                         f"and ab {tuple(chroma.shape)}")
    chroma = chroma.to(device=luma.device, dtype=luma.dtype)
    if chroma.shape[-2:] != luma.shape[-2:]:
        chroma = F.interpolate(chroma, size=luma.shape[-2:], mode="bilinear", align_corners=False)
    return chroma


def split_lab(rgb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """sRGB (B, 3, H, W) -> (L (B, 1, H, W) in [0, 100], ab (B, 2, H, W) in Lab units)."""
    check_image_batch(rgb, "rgb", "split_lab", channels=3)
    lab = rgb_to_lab(rgb)
    return lab[:, :1], lab[:, 1:]


def join_lab(L: torch.Tensor, ab: torch.Tensor) -> torch.Tensor:
    """L (B, 1, H, W) + ab (B, 2, h, w) -> sRGB (B, 3, H, W) in [0, 1]; ab is upsampled bilinearly to (H, W)."""
    ab = _upsample_to(ab, L, "join_lab")
    return lab_to_rgb(torch.cat([L, ab], dim=1))


def gray_from_l(L: torch.Tensor) -> torch.Tensor:
    """Lab L (B, 1, H, W) in [0, 100] -> the sRGB grey image of that lightness (B, 3, H, W) in [0, 1] (a = b = 0)."""
    return lab_to_rgb(torch.cat([L, L.new_zeros(L.shape[0], 2, *L.shape[2:])], dim=1))


def _check_space(space: object, fn: str) -> str:
    if space not in SPACES:
        raise ValueError(f"{fn}: unknown space {space!r}; valid values: {', '.join(SPACES)}")
    return space  # type: ignore[return-value]


def to_luma_chroma(rgb: torch.Tensor, space: str = "lab") -> tuple[torch.Tensor, torch.Tensor]:
    """sRGB (B, 3, H, W) -> (luma (B, 1, H, W) in [0, 100], chroma (B, 2, H, W) in ab-like units).

    lab: (L, (a, b)). ycbcr: (100 (Y - 16) / 219, (Cb - 128, Cr - 128)), chroma in [-112, 112].
    """
    space = _check_space(space, "to_luma_chroma")
    check_image_batch(rgb, "rgb", "to_luma_chroma", channels=3)
    if space == "lab":
        return split_lab(rgb)
    ycc = rgb_to_ycbcr(rgb)
    return (ycc[:, :1] - 16.0) * (100.0 / _Y_RANGE), ycc[:, 1:] - 128.0


def from_luma_chroma(luma: torch.Tensor, chroma: torch.Tensor, space: str = "lab") -> torch.Tensor:
    """Inverse of to_luma_chroma: luma (B, 1, H, W) + chroma (B, 2, h, w) -> sRGB (B, 3, H, W) clipped to [0, 1]."""
    space = _check_space(space, "from_luma_chroma")
    if space == "lab":
        return join_lab(luma, chroma)
    chroma = _upsample_to(chroma, luma, "from_luma_chroma")
    ycc = torch.cat([luma * (_Y_RANGE / 100.0) + 16.0, chroma + 128.0], dim=1)
    return ycbcr_to_rgb(ycc).clamp(0.0, 1.0)
