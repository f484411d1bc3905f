"""Batched colorization metrics: every value is computed per image, then averaged over the images of the batch."""
from __future__ import annotations

import math
from typing import Callable

import torch
import torch.nn.functional as F

from . import color
from ._checks import check_image_batch, check_tensor
from .colorizer import Colorizer
from .data import ImageSet, batches, image_tensor
from .device import default_device
from .quantize import encode_hard

GREY_CHROMA = 5.0  # Lab units: a pixel whose |ab| is below this looks grey (the "grey fraction" of an image)
CI_Z = 1.959964  # the two-sided 95 % quantile of the normal distribution (*_ci95 half-widths)


def _pair(pred: torch.Tensor, true: torch.Tensor, fn: str, channels: int) -> tuple[torch.Tensor, torch.Tensor]:
    check_image_batch(pred, "pred", fn, channels)
    check_image_batch(true, "true", fn, channels)
    if pred.shape != true.shape:
        raise ValueError(f"{fn}: pred and true must have the same shape, "
                         f"got {tuple(pred.shape)} and {tuple(true.shape)}")
    dtype = torch.promote_types(torch.promote_types(pred.dtype, true.dtype), torch.float32)
    return pred.to(dtype), true.to(pred.device, dtype)


def _reduce(per_image: torch.Tensor, reduction: str, fn: str) -> torch.Tensor:
    if reduction == "mean":
        return per_image.mean()
    if reduction == "none":
        return per_image
    raise ValueError(f"{fn}: reduction must be 'mean' or 'none', got {reduction!r}")


def grey_fraction(ab: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """Share of each image's pixels whose chroma |ab| is below GREY_CHROMA (they look grey), ab (B, 2, H, W)."""
    check_image_batch(ab, "ab", "grey_fraction", 2)
    return _reduce((ab.norm(dim=1) < GREY_CHROMA).float().mean(dim=(1, 2)), reduction, "grey_fraction")


def rmse_ab(pred_ab: torch.Tensor, true_ab: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """RMSE over the a and b channels in Lab units, per image (mean over 2 channels and pixels), then averaged."""
    pred_ab, true_ab = _pair(pred_ab, true_ab, "rmse_ab", 2)
    return _reduce((pred_ab - true_ab).square().mean(dim=(1, 2, 3)).sqrt(), reduction, "rmse_ab")


def rmse_rgb(pred_rgb: torch.Tensor, true_rgb: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """RMSE over R, G, B on the [0, 1] scale (multiply by 255 for 8-bit units), per image, then averaged."""
    pred_rgb, true_rgb = _pair(pred_rgb, true_rgb, "rmse_rgb", 3)
    return _reduce((pred_rgb - true_rgb).square().mean(dim=(1, 2, 3)).sqrt(), reduction, "rmse_rgb")


def psnr(pred_rgb: torch.Tensor, true_rgb: torch.Tensor, data_range: float = 1.0,
         reduction: str = "mean") -> torch.Tensor:
    """PSNR in dB, 10 log10(data_range^2 / MSE) per image (inf for identical images), then averaged."""
    pred_rgb, true_rgb = _pair(pred_rgb, true_rgb, "psnr", 3)
    mse = (pred_rgb - true_rgb).square().mean(dim=(1, 2, 3))  # (B,)
    return _reduce(10 * torch.log10(data_range ** 2 / mse), reduction, "psnr")


def _gaussian_window(sigma: float, truncate: float, dtype, device) -> torch.Tensor:
    radius = int(truncate * sigma + 0.5)  # as scipy.ndimage: 11 taps for sigma = 1.5
    x = torch.arange(-radius, radius + 1, dtype=dtype, device=device)
    w = torch.exp(-0.5 * (x / sigma) ** 2)
    return w / w.sum()  # (2r+1,)


def ssim(pred_rgb: torch.Tensor, true_rgb: torch.Tensor, data_range: float = 1.0, sigma: float = 1.5,
         reduction: str = "mean") -> torch.Tensor:
    """SSIM (Wang et al. 2004; Gaussian sigma 1.5), mean over channels and valid pixels per image, then averaged."""
    # equals skimage.metrics.structural_similarity(gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
    # data_range=1, channel_axis=0): skimage crops the border where its reflect padding would matter, so a
    # 'valid' convolution gives the same numbers
    pred_rgb, true_rgb = _pair(pred_rgb, true_rgb, "ssim", 3)
    b, c, h, w = pred_rgb.shape
    win = _gaussian_window(sigma, 3.5, pred_rgb.dtype, pred_rgb.device)
    if h < len(win) or w < len(win):
        raise ValueError(f"ssim: images must be at least {len(win)}x{len(win)} for sigma={sigma}, got {h}x{w}")
    x, y = pred_rgb.reshape(b * c, 1, h, w), true_rgb.reshape(b * c, 1, h, w)
    stack = torch.cat([x, y, x * x, y * y, x * y], dim=1)  # (B*C, 5, H, W)
    k = len(win)
    stack = F.conv2d(stack, win.view(1, 1, k, 1).expand(5, 1, k, 1), groups=5)  # separable: rows ...
    ux, uy, uxx, uyy, uxy = F.conv2d(stack, win.view(1, 1, 1, k).expand(5, 1, 1, k), groups=5).unbind(1)  # ... cols
    vx, vy, vxy = uxx - ux * ux, uyy - uy * uy, uxy - ux * uy
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    s = (2 * ux * uy + c1) * (2 * vxy + c2) / ((ux * ux + uy * uy + c1) * (vx + vy + c2))  # (B*C, H-2r, W-2r)
    return _reduce(s.reshape(b, -1).mean(dim=1), reduction, "ssim")


def _auc_curve(pred_ab: torch.Tensor, true_ab: torch.Tensor, max_threshold: int,
               weights: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
    """Weighted counts of pixels with ab error <= t for t = 0..max_threshold, and the total weight."""
    err = (pred_ab - true_ab).square().sum(dim=1).sqrt().flatten()  # (B*H*W,) ab L2 error
    # a pixel with error e counts for every integer t >= e: bucket it at ceil(e), then take a cumulative sum
    bucket = err.nan_to_num(nan=math.inf).ceil().clamp(max=max_threshold + 1).long()  # NaN: never within
    w = torch.ones_like(err) if weights is None else weights.flatten().to(err.dtype)
    hist = torch.zeros(max_threshold + 2, dtype=err.dtype, device=err.device).index_add_(0, bucket, w)
    return hist.cumsum(0)[: max_threshold + 1], w.sum()


def _prior_weights(true_ab: torch.Tensor, prior: torch.Tensor) -> torch.Tensor:
    """Per-pixel weight 1 / prior[bin of the true colour] (B, H, W); empty bins get the largest finite weight."""
    prior = torch.as_tensor(prior, device=true_ab.device).to(true_ab.dtype).flatten()
    if prior.numel() != 313:
        raise ValueError(f"auc_ab: expected prior as a (313,) bin distribution, got shape {tuple(prior.shape)}")
    floor = prior[prior > 0].min()
    bins = encode_hard(true_ab).reshape(true_ab.shape[0], *true_ab.shape[2:])  # (B, H, W) bin index
    return 1.0 / prior.clamp(min=floor)[bins]


def auc_ab(pred_ab: torch.Tensor, true_ab: torch.Tensor, max_threshold: int = 150, prior: torch.Tensor | None = None,
           return_curve: bool = False) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
    """Zhang et al.'s AuC: mean over t = 0..150 of the fraction of pixels with ab L2 error <= t (1 = perfect).

    Pixels are pooled over the batch (for equal-sized images: the mean of the per-image AuCs). With `prior`
    ((313,) bin distribution) each pixel is weighted by 1 / prior of its true bin (class-rebalanced AuC).
    The AuC of a constant error e is (max_threshold + 1 - ceil(e)) / (max_threshold + 1).
    """
    pred_ab, true_ab = _pair(pred_ab, true_ab, "auc_ab", 2)
    if not isinstance(max_threshold, int) or max_threshold < 0:
        raise ValueError(f"auc_ab: max_threshold must be an int >= 0, got {max_threshold!r}")
    weights = None if prior is None else _prior_weights(true_ab, prior)
    counts, total = _auc_curve(pred_ab, true_ab, max_threshold, weights)
    curve = counts / total  # (max_threshold + 1,)
    return (curve.mean(), curve) if return_curve else curve.mean()


def colorfulness(rgb: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """Hasler & Suesstrunk (2003) sigma_rgyb + 0.3 mu_rgyb in 0..255 units, per image, then averaged."""
    # rgb: float in [0, 1] (scaled by 255 here) or uint8 0..255
    check_image_batch(rgb, "rgb", "colorfulness", 3, floating=False)
    x = rgb.double() if rgb.dtype == torch.uint8 else rgb.to(torch.promote_types(rgb.dtype, torch.float32)) * 255
    r, g, b = x.flatten(2).unbind(1)  # (B, H*W) each, 0..255
    rg, yb = r - g, 0.5 * (r + g) - b
    sigma = (rg.var(dim=1, correction=0) + yb.var(dim=1, correction=0)).sqrt()
    mu = (rg.mean(dim=1).square() + yb.mean(dim=1).square()).sqrt()
    return _reduce(sigma + 0.3 * mu, reduction, "colorfulness")


def accuracy(logits_or_pred: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Fraction of correct predictions: logits (N, C, ...) argmaxed over dim 1, integer predictions used as given."""
    x = check_tensor(logits_or_pred, "logits_or_pred", "accuracy")
    labels = check_tensor(labels, "labels", "accuracy")
    pred = x.argmax(dim=1) if x.is_floating_point() and x.dim() == labels.dim() + 1 else x
    if pred.shape != labels.shape:
        raise ValueError(f"accuracy: expected logits (N, C, ...) or predictions shaped like labels "
                         f"{tuple(labels.shape)}, got {tuple(x.shape)}")
    return (pred.to(labels.device) == labels).double().mean()


def against_original(rgb: torch.Tensor, original: torch.Tensor) -> dict[str, float]:
    """A colorized photo against its original (RGB (1, 3, H, W) in [0, 1] each): colourfulness as a share of the
    original's, RMSE ab, and grey's RMSE ab (the original's own L, ab = 0): a colorizer above grey adds wrong colour."""
    pred_ab, true_ab = color.rgb_to_lab(rgb)[:, 1:], color.rgb_to_lab(original)[:, 1:]
    return {"colourfulness": (colorfulness(rgb) / colorfulness(original)).item(),
            "rmse_ab": rmse_ab(pred_ab, true_ab).item(), "grey_rmse_ab": rmse_ab(torch.zeros_like(true_ab), true_ab).item()}


def colorizer_ab(colorizer: Colorizer | Callable[[torch.Tensor], torch.Tensor], rgb: torch.Tensor,
                 L: torch.Tensor, who: str = "colorizer_ab: the colorizer") -> torch.Tensor:
    """Lab ab (B, 2, H, W) a colorizer predicts for RGB images (B, 3, H, W) and their Lab L (B, 1, H, W), checked
    for shape (a ValueError naming `who`) and given L's dtype and device.

    A Colorizer is called on the RGB images (it reads the luma of its own colour space: Y for a YCbCr model);
    anything else is a plain callable Lab L -> ab (the baselines: grayscale, a mean colour).
    """
    ab = colorizer(rgb, output="ab") if isinstance(colorizer, Colorizer) else colorizer(L)
    want = (L.shape[0], 2, *L.shape[2:])
    if not isinstance(ab, torch.Tensor) or tuple(ab.shape) != want:
        got = tuple(ab.shape) if isinstance(ab, torch.Tensor) else type(ab).__name__
        raise ValueError(f"{who} must give ab of shape {want} for L of shape {tuple(L.shape)}, got {got}")
    return ab.to(L)


def evaluate_colorizer(predict_ab: Colorizer | Callable[[torch.Tensor], torch.Tensor], images, batch_size: int = 256,
                       device: torch.device | str | None = None, prior: torch.Tensor | None = None) -> dict[str, float]:
    """All metrics of a colorizer over uint8 images, in one pass without gradients.

    predict_ab: a Colorizer, or a callable Lab L (B, 1, H, W) -> ab (B, 2, H, W) (see colorizer_ab).
    """
    if not isinstance(images, ImageSet):
        images = ImageSet(image_tensor(images, "images", "evaluate_colorizer"), None, [], "tensor", "tensor")
    device = torch.device(device) if device is not None else default_device()
    sums: dict[str, torch.Tensor] = {}
    squares: dict[str, torch.Tensor] = {}  # for the 95 % interval of each per-image mean
    auc = {"auc": [0, 0]} | ({"auc_rebalanced": [0, 0]} if prior is not None else {})
    n = 0
    with torch.no_grad():
        for x, _ in batches(images, batch_size, shuffle=False, device=device):
            rgb = color.uint8_to_float(x)  # (B, 3, H, W) in [0, 1]
            L, ab = color.split_lab(rgb)  # (B, 1, H, W) in [0, 100], (B, 2, H, W) Lab units
            pred_ab = colorizer_ab(predict_ab, rgb, L, "evaluate_colorizer: predict_ab")
            pred_rgb = color.join_lab(L, pred_ab)  # (B, 3, H, W), out-of-gamut colours clipped to [0, 1]
            per_image = {"rmse_ab": rmse_ab(pred_ab, ab, "none"), "rmse_rgb": rmse_rgb(pred_rgb, rgb, "none"),
                         "psnr": psnr(pred_rgb, rgb, reduction="none"), "ssim": ssim(pred_rgb, rgb, reduction="none"),
                         "colorfulness": colorfulness(pred_rgb, "none"), "colorfulness_true": colorfulness(rgb, "none")}
            for k, v in per_image.items():
                sums[k] = sums.get(k, 0) + v.double().sum()
                squares[k] = squares.get(k, 0) + v.double().square().sum()
            for k in auc:
                weights = _prior_weights(ab, prior) if k == "auc_rebalanced" else None
                counts, total = _auc_curve(pred_ab, ab, 150, weights)
                auc[k] = [auc[k][0] + counts.double(), auc[k][1] + total.double()]
            n += x.shape[0]
    if n == 0:
        raise ValueError("evaluate_colorizer: images is empty")
    out = {k: (v / n).item() for k, v in sums.items()}
    out.update({k: (c / t).mean().item() for k, (c, t) in auc.items()})
    order = ["rmse_ab", "rmse_rgb", "psnr", "ssim", "auc", "auc_rebalanced", "colorfulness", "colorfulness_true"]
    ordered = {k: out[k] for k in order if k in out}
    for k in sums:  # normal-approximation half-width over images: 1.96 s / sqrt(n), s the sample std (n - 1)
        var = (squares[k] - sums[k] ** 2 / n) / max(n - 1, 1)
        ordered[f"{k}_ci95"] = (CI_Z * var.clamp(min=0).sqrt() / n ** 0.5).item() if n > 1 else float("nan")
    return ordered
