"""What goes into and comes out of a colorizer: luma input, (blurred) chroma and sparse soft-bin targets, the
loss, and the one way back from a model to colours (predict_colors). Batched, on any device."""
from __future__ import annotations

import math
from typing import Callable

import torch
import torch.nn.functional as F

from . import color, hints as hint_maps, losses, quantize
from ._checks import check_image_batch, check_positive
from .upsample import DEFAULT_UPSAMPLE, UPSAMPLE_METHODS, upsample_chroma

REGRESSION_LOSSES = ("l2", "l1")  # for models with output_kind "ab"
CLASSIFICATION_LOSSES = ("ce", "ce_onehot", "rebalanced")  # for models with output_kind "logits"
OUTPUT_KINDS = ("ab", "logits")
DECODE_METHODS = ("annealed", "mean", "mode")


def output_kind(model: torch.nn.Module, fn: str) -> str:
    """The model's output_kind ("ab" or "logits"); a clear error for models that do not declare one."""
    kind = getattr(model, "output_kind", None)
    if kind not in OUTPUT_KINDS:
        raise ValueError(f"{fn}: model.output_kind must be one of {', '.join(OUTPUT_KINDS)}, got {kind!r} "
                         f"({type(model).__name__})")
    return kind


def resolve_loss(loss: str, kind: str, fn: str = "fit") -> str:
    """Turn cfg.loss ("auto" or a name) into a loss name that fits the model's output kind."""
    if loss == "auto":
        return "l2" if kind == "ab" else "ce"
    valid = REGRESSION_LOSSES if kind == "ab" else CLASSIFICATION_LOSSES
    if loss not in valid:
        raise ValueError(f"{fn}: loss {loss!r} does not fit a model with output_kind {kind!r}; "
                         f"valid losses for it: auto, {', '.join(valid)}")
    return loss


def gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Blur each channel of a (B, C, H, W) batch with a separable Gaussian of std `sigma` pixels (reflect edges)."""
    check_image_batch(x, "x", "gaussian_blur")
    check_positive(sigma, "sigma", "gaussian_blur", allow_zero=True)
    radius = min(math.ceil(3 * sigma), min(x.shape[-2:]) - 1)  # reflect padding needs radius < side
    if sigma == 0 or radius < 1:
        return x
    t = torch.arange(-radius, radius + 1, device=x.device, dtype=x.dtype)
    k = torch.exp(-0.5 * (t / sigma) ** 2)
    k = k / k.sum()  # (2r+1,)
    c = x.shape[1]
    y = F.pad(x, (radius, radius, radius, radius), mode="reflect")
    y = F.conv2d(y, k.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)  # along W
    return F.conv2d(y, k.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)  # along H


def luma_chroma(images: torch.Tensor, space: str = "lab",
                blur: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
    """uint8 (B, 3, H, W) images -> network input luma (B, 1, H, W) in [0, 100] and target chroma (B, 2, H, W)."""
    rgb = color.uint8_to_float(images)  # (B, 3, H, W) in [0, 1]
    luma, chroma = color.to_luma_chroma(rgb, space)
    if blur > 0:  # seed 000: blurred colour targets guide the regression towards smooth colour regions
        chroma = gaussian_blur(chroma, blur)
    return luma, chroma


def resize_chroma(chroma: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Area-average (B, 2, H, W) chroma down to the model output's (H', W'); a no-op when sizes match."""
    if tuple(chroma.shape[-2:]) == tuple(size):
        return chroma
    return F.interpolate(chroma, size=tuple(size), mode="area")


def compute_loss(out: torch.Tensor, chroma: torch.Tensor, loss: str, k: int = 5, sigma: float = 5.0,
                 class_weights: torch.Tensor | None = None, in_gamut: bool = False) -> torch.Tensor:
    """Scalar loss of a model output (ab (B, 2, H', W') or logits (B, 313, H', W')) against true chroma (B, 2, H, W).

    in_gamut=True: chroma is Lab ab of real images (as luma_chroma gives), so the soft encoder may skip its checks.
    """
    out = out.float()  # losses in float32 whatever the autocast dtype
    size = out.shape[-2:]
    if loss in REGRESSION_LOSSES:
        target = resize_chroma(chroma, size)  # (B, 2, H', W')
        return losses.l2_loss(out, target) if loss == "l2" else losses.l1_loss(out, target)
    if loss not in CLASSIFICATION_LOSSES:
        raise ValueError(f"compute_loss: unknown loss {loss!r}; valid losses: "
                         f"{', '.join(REGRESSION_LOSSES + CLASSIFICATION_LOSSES)}")
    with torch.no_grad():  # sparse soft targets: k bins a pixel, never the dense (B, 313, H', W') tensor
        ab = resize_chroma(chroma.float(), size)
        idx, weight = quantize.soft_encode_sparse(ab, 1 if loss == "ce_onehot" else k, sigma,
                                                  in_gamut=in_gamut)  # (B, k, H', W')
    if loss == "rebalanced":
        if class_weights is None:
            raise ValueError("compute_loss: loss 'rebalanced' needs class_weights, a (313,) tensor; got None")
        return losses.rebalanced_cross_entropy(out, idx, weight, class_weights)
    return losses.soft_cross_entropy(out, idx, weight)


def decode_output(out: torch.Tensor, kind: str, size: tuple[int, int], T: float = quantize.DEFAULT_T,
                  method: str = "annealed") -> torch.Tensor:
    """Model output -> chroma (B, 2, H, W) at `size`: logits are decoded to ab, then upsampled bilinearly."""
    out = out.float()
    ab = quantize.decode(out, method=method, T=T) if kind == "logits" else out  # (B, 2, H', W')
    if tuple(ab.shape[-2:]) != tuple(size):
        ab = F.interpolate(ab, size=tuple(size), mode="bilinear", align_corners=False)
    return ab


PREDICT_OUTPUTS = ("rgb", "lab_ab", "chroma")


@torch.no_grad()
def predict_ab(model: torch.nn.Module, L: torch.Tensor, T: float = quantize.DEFAULT_T, method: str = "annealed",
               batch_size: int = 256, forward: Callable | None = None,
               hints: tuple[torch.Tensor, torch.Tensor] | None = None) -> torch.Tensor:
    """Chroma (B, 2, H, W) in the model's space at L's resolution for its luma L (B, 1, H, W) in [0, 100].

    The model's own step of predict_colors (which picks the luma of the model's colour space): padded to the model's
    input multiple, logits decoded, upsampled, cropped. forward(model, x) replaces model(x) (a cache, autocast).
    hints: (ab_hint (B, 2, H, W), mask (B, 1, H, W)) at L's resolution, for hint models (zero hints when None).
    """
    check_image_batch(L, "L", "predict_ab", channels=1)
    check_positive(T, "T", "predict_ab")
    if method not in DECODE_METHODS:
        raise ValueError(f"predict_ab: unknown method {method!r}; valid methods: {', '.join(DECODE_METHODS)}")
    kind = output_kind(model, "predict_ab")
    n_hints = hint_maps.hint_channels(model)
    if hints is not None:
        if not n_hints:
            raise ValueError(f"predict_ab: hints given, but model {getattr(model, 'model_name', type(model).__name__)}"
                             " has no hint input (hint_channels 0); expected a hint model such as zhang_hints")
        hints = hint_maps.check_hints(hints, L, "predict_ab")
    device = next(model.parameters()).device
    h, w = L.shape[-2:]
    m = getattr(model, "input_multiple", 1)
    pad_h, pad_w = (-h) % m, (-w) % m  # pad to the model's input multiple, crop afterwards
    was_training = model.training
    model.eval()
    chunks = []
    for start in range(0, L.shape[0], batch_size):
        x = L[start:start + batch_size].to(device, torch.float32)
        if pad_h or pad_w:
            x = F.pad(x, (0, pad_w, 0, pad_h), mode="replicate")
        if n_hints:  # L + ab hints + mask; padding carries no hint
            ab_h, mask = (None, None) if hints is None else (t[start:start + batch_size].to(device, torch.float32)
                                                             for t in hints)
            if ab_h is not None and (pad_h or pad_w):
                ab_h, mask = (F.pad(t, (0, pad_w, 0, pad_h)) for t in (ab_h, mask))
            x = hint_maps.hint_input(x, ab_h, mask)
        out = model(x) if forward is None else forward(model, x)
        ab = decode_output(out, kind, x.shape[-2:], T=T, method=method)[..., :h, :w]
        chunks.append(ab.to(L.device, L.dtype))
    model.train(was_training)
    return torch.cat(chunks)


@torch.no_grad()
def predict_colors(model: torch.nn.Module, images: torch.Tensor, space: str = "lab", T: float = quantize.DEFAULT_T,
                   method: str = "annealed", output: str = "rgb", size: int | tuple[int, int] | None = None,
                   batch_size: int = 256, forward: Callable | None = None,
                   hints: tuple[torch.Tensor, torch.Tensor] | None = None,
                   upsample: str = DEFAULT_UPSAMPLE) -> torch.Tensor:
    """The one way from images to a colorizer's colours: every evaluation, table, notebook and photo goes through it.

    images: uint8 or float RGB (B, 3, H, W). The model sees their luma in its own training `space` (Lab L or
    YCbCr Y), resized to `size` when given (its chroma is then upsampled back onto the full-resolution luma:
    upsample "guided", a guided filter on the luma (colorkit.upsample), or "bilinear"; nothing when sizes match).
    output "rgb": (B, 3, H, W) in [0, 1]; "lab_ab": Lab ab (B, 2, H, W), the model's raw ab for Lab models,
    read back from the RGB for the others; "chroma": the model's chroma in its own space.
    hints: (ab_hint (B, 2, H, W) in Lab units, mask (B, 1, H, W)) at the images' resolution, for hint models
    (colorkit.hints; resized with the luma when `size` is given); None: no hints (zeros).
    """
    check_image_batch(images, "images", "predict_colors", channels=3, floating=False)
    if output not in PREDICT_OUTPUTS:
        raise ValueError(f"predict_colors: unknown output {output!r}; valid: {', '.join(PREDICT_OUTPUTS)}")
    if upsample not in UPSAMPLE_METHODS:
        raise ValueError(f"predict_colors: unknown upsample {upsample!r}; valid: {', '.join(UPSAMPLE_METHODS)}")
    if images.dtype == torch.uint8:
        rgb = color.uint8_to_float(images)
    elif images.is_floating_point():
        rgb = images
    else:
        raise ValueError(f"predict_colors: expected images as uint8 or float RGB, got dtype {images.dtype}")
    luma, _ = color.to_luma_chroma(rgb, space)  # (B, 1, H, W) in [0, 100], the luma the model was trained on
    x = luma
    if hints is not None:
        hints = hint_maps.check_hints(hints, images, "predict_colors")
    if size is not None:
        size = (size, size) if isinstance(size, int) else tuple(size)
        x = F.interpolate(luma, size=size, mode="bilinear", align_corners=False, antialias=True)
        if hints is not None:
            hints = hint_maps.resize_hints(hints[0].to(x), hints[1].to(x), size)
    chroma = predict_ab(model, x, T=T, method=method, batch_size=batch_size, forward=forward, hints=hints)
    if chroma.shape[-2:] != luma.shape[-2:]:  # the model saw a resized luma: its chroma goes back onto the full L
        chroma = upsample_chroma(chroma, luma.to(chroma), upsample)  # luma in [0, 100] in either space
    if output == "chroma" or (output == "lab_ab" and space == "lab"):
        return chroma
    out_rgb = color.from_luma_chroma(luma, chroma, space).clamp(0, 1)
    return out_rgb if output == "rgb" else color.rgb_to_lab(out_rgb)[:, 1:]
