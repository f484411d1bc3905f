"""Class rebalancing (Zhang et al. sec. 2.2): empirical ab prior over the 313 bins, its smoothing, the weights."""
from __future__ import annotations

import io
import os
import urllib.request
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from ._checks import check_positive
from ._files import atomic_write
from .color import rgb_to_lab, uint8_to_float
from .data.cifar import cache_dir_path
from .data.imageset import image_tensor
from .data.photos import DEFAULT_MAX_PIXELS, load_photos, photo_files
from .quantize import Q, ab_bins, encode_hard

ENV_PRIOR = "COLORKIT_ZHANG_PRIOR"  # explicit path to prior_probs.npy
PRIOR_FILE = "zhang-prior-probs.npy"
# Zhang's released ImageNet prior (resources/prior_probs.npy), pinned to a commit that has it, then the branch
# that holds the original Caffe release today.
PRIOR_URLS = (
    "https://raw.githubusercontent.com/richzhang/colorization/4aa459f03cedd5678524ac3429cd89270dcf5290/"
    "resources/prior_probs.npy",
    "https://raw.githubusercontent.com/richzhang/colorization/caffe/colorization/resources/prior_probs.npy",
)


def empirical_prior(images: object, batch_size: int = 256,
                    device: torch.device | str | None = None) -> torch.Tensor:
    """Fraction of all pixels whose nearest bin is q: (313,) float64 on the CPU, streamed over batches."""
    x = image_tensor(images, "images", "empirical_prior", allow_empty=False)
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"empirical_prior: batch_size must be a positive int, got {batch_size!r}")
    device = torch.device(device) if device is not None else x.device
    counts = torch.zeros(Q, dtype=torch.int64, device=device)
    for i in range(0, x.shape[0], batch_size):
        rgb = uint8_to_float(x[i:i + batch_size].to(device, non_blocking=True))  # (b, 3, H, W)
        counts += torch.bincount(encode_hard(rgb_to_lab(rgb)[:, 1:]).flatten(), minlength=Q)
    counts = counts.cpu().to(torch.float64)
    return counts / counts.sum()


def _check_prior(prior: object, fn: str) -> torch.Tensor:
    if isinstance(prior, np.ndarray):
        prior = torch.from_numpy(prior)
    if not isinstance(prior, torch.Tensor):
        raise TypeError(f"{fn}: expected prior as a ({Q},) tensor or array, got {type(prior).__name__}")
    if tuple(prior.shape) != (Q,):
        raise ValueError(f"{fn}: expected prior of shape ({Q},), got {tuple(prior.shape)}")
    p = prior.to(torch.float64)
    if not bool(torch.isfinite(p).all()) or bool((p < 0).any()) or float(p.sum()) <= 0:
        raise ValueError(f"{fn}: prior must be finite, non-negative and not all zero")
    return p / p.sum()


SIGMA_RANGE = (1.0, 25.0)  # ab units. The bins are 10 apart: below 1 smoothing changes nothing (ask for none), above
# 25 even a prior of grey photos is spread over the whole gamut (mean chroma over 30); 1e-200 would give NaN


def check_sigma(sigma: object, fn: str, allow_zero: bool = False) -> float:
    """A smoothing sigma in SIGMA_RANGE (or 0, no smoothing, when allow_zero); else a one-line ValueError."""
    low, high = SIGMA_RANGE
    ok = isinstance(sigma, (int, float)) and not isinstance(sigma, bool) and (
        low <= sigma <= high or (allow_zero and sigma == 0))
    if not ok:
        zero = "0 (no smoothing) or " if allow_zero else ""
        raise ValueError(f"{fn}: sigma must be {zero}between {low:g} and {high:g} ab units, got {sigma!r} (the bins "
                         f"are 10 apart: below {low:g} smoothing changes nothing, above {high:g} it spreads even a "
                         "grey prior over the whole gamut)")
    return float(sigma)


def smooth_prior(prior: torch.Tensor, sigma: float = 5.0) -> torch.Tensor:
    """Gaussian smoothing in the ab plane: each bin's mass spread over the bins by exp(-d^2 / (2 sigma^2)).

    d is the distance between bin centres (not between bin indices); every column of the kernel is
    normalised, so the result still sums to 1. Returns (313,) float64 on the prior's device.
    """
    p = _check_prior(prior, "smooth_prior")
    check_positive(sigma, "sigma", "smooth_prior")
    check_sigma(sigma, "smooth_prior")
    bins = ab_bins(p.device, torch.float64)
    d2 = (bins[:, None, :] - bins[None, :, :]).square().sum(dim=-1)  # (313, 313) exact
    kernel = torch.exp(-d2 / (2.0 * sigma * sigma))
    kernel = kernel / kernel.sum(dim=0, keepdim=True)  # column r: where bin r's mass goes
    out = kernel @ p
    return out / out.sum()


def class_weights(prior: torch.Tensor, lam: float = 0.5, sigma: float | None = 5.0) -> torch.Tensor:
    """Zhang's eq. 4: w proportional to ((1 - lam) p~ + lam / Q)^-1, scaled so that sum_q p~_q w_q = 1.

    p~ = smooth_prior(prior, sigma), or the normalised prior itself when sigma is None. (313,) float64.
    """
    p = _check_prior(prior, "class_weights")
    if isinstance(lam, bool) or not isinstance(lam, (int, float)) or not 0.0 <= lam <= 1.0:
        raise ValueError(f"class_weights: lam must be a number in [0, 1], got {lam!r}")
    p = p if sigma is None else smooth_prior(p, sigma)
    mix = (1.0 - lam) * p + lam / Q
    if bool((mix == 0).any()):
        raise ValueError("class_weights: lam = 0 with empty bins gives infinite weights; use lam > 0 "
                         "or smooth the prior (sigma)")
    w = 1.0 / mix
    return w / (p * w).sum()


NEUTRAL_RADIUS = 10.0  # bins within this Chebyshev distance of a = b = 0: the 9 grey bins
# A photo prior in which the average pixel is this saturated is implausible: the 50,000 CIFAR-10 training images
# (JPEG copy) give 14.2 (prior_summary's mean_chroma), and every sRGB colour has chroma below about 134.
IMPLAUSIBLE_MEAN_CHROMA = 50.0


def prior_summary(prior: torch.Tensor) -> dict[str, float]:
    """Numbers that tell a natural-image prior at a glance: peak bin and mass, grey mass, mean chroma, entropy."""
    p = _check_prior(prior, "prior_summary").cpu()
    bins = ab_bins(torch.device("cpu"), torch.float64)  # (313, 2) a, b
    peak = int(p.argmax())
    grey = bins.abs().amax(dim=1) <= NEUTRAL_RADIUS
    nz = p[p > 0]
    return {"peak_a": float(bins[peak, 0]), "peak_b": float(bins[peak, 1]), "peak_mass": float(p[peak]),
            "grey_mass": float(p[grey].sum()),  # natural photos: most pixels are nearly grey
            "mean_chroma": float((p * bins.norm(dim=1)).sum()),  # expected sqrt(a^2 + b^2) of a pixel
            "entropy_bits": float(-(nz * nz.log2()).sum()), "bins_used": int((p > 0).sum())}


GREY_CHROMA, GREY_FRACTION = 5.0, 0.98  # photos are black-and-white when >= 98 % of their pixels have |a|, |b| < 5


def check_colour(empirical: torch.Tensor, what: str) -> None:
    """A one-line ValueError when an (unsmoothed) empirical prior is of black-and-white photos (GREY_FRACTION)."""
    p = _check_prior(empirical, "check_colour")
    grey = float(p[ab_bins(p.device, torch.float64).abs().amax(dim=1) < GREY_CHROMA].sum())  # the (0, 0) bin
    if grey >= GREY_FRACTION:
        raise ValueError(f"{what} are black-and-white: {grey:.2%} of their pixels have |a| and |b| below "
                         f"{GREY_CHROMA:g} Lab units ({GREY_FRACTION:.0%} or more counts as no colour); a prior or a "
                         "colorizer learnt from grey photos teaches nothing, use colour photos")


def _where(paths: object) -> str:
    """The inputs of photo_prior, named in a message: one path, or the first of several."""
    items = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
    return str(items[0]) + (f" and {len(items) - 1} more" if len(items) > 1 else "")


PRIOR_MAX_SIDE = 512  # photo_prior shrinks larger photos (antialiased) to this longer side: bounded memory and time,
# the colour histogram of a photo barely changes, and one 40-megapixel photo does not outweigh a folder of small ones


@dataclass
class PhotoPrior:
    """What photo_prior found: the smoothed prior, the raw empirical one, the photos used and those skipped."""

    prior: torch.Tensor  # (313,) float64, smoothed (as Zhang's prior_probs.npy, richzhang/colorization#47)
    empirical: torch.Tensor  # (313,) float64, the fraction of pixels nearest each bin
    photos: list[Path]
    skipped: list[tuple[Path, str]]  # (file, reason)
    pixels: int  # pixels counted, after shrinking


def photo_prior(paths: str | os.PathLike | Sequence[str | os.PathLike], sigma: float = 5.0,
                max_side: int | None = PRIOR_MAX_SIDE, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> PhotoPrior:
    """The empirical ab prior over the 313 bins of photos (files and folders, recursively), Gaussian-smoothed by sigma.

    Every pixel counts once (photos over max_side are shrunk first); unreadable photos are skipped. sigma 0: raw.
    """
    import torch.nn.functional as F

    check_sigma(sigma, "photo_prior", allow_zero=True)
    if max_side is not None and (isinstance(max_side, bool) or not isinstance(max_side, int) or max_side < 1):
        raise ValueError(f"photo_prior: max_side must be an int >= 1 or None, got {max_side!r}")
    files = photo_files(paths)
    if not files:
        raise ValueError(f"photo_prior: no image files in {paths!r}")
    counts, used, skipped = torch.zeros(Q, dtype=torch.float64), [], []
    for file in files:  # one photo in memory at a time; the counting itself is batched over its pixels
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # skipped files are reported by the caller
            loaded = load_photos([file], on_error="skip", max_pixels=max_pixels)
        skipped += loaded.skipped
        for image in loaded.images:
            h, w = image.shape[-2:]
            scale = 1.0 if max_side is None else min(1.0, max_side / max(h, w))
            if scale < 1.0:
                size = (max(1, round(h * scale)), max(1, round(w * scale)))
                image = F.interpolate(image[None].float(), size=size, mode="bilinear", antialias=True,
                                      align_corners=False)[0].round().clamp(0, 255).to(torch.uint8)
            n = image.shape[-2] * image.shape[-1]
            counts += (empirical_prior(image[None]) * n).round()  # the photo's pixels per bin
            used.append(file)
    if not used:
        raise ValueError(f"photo_prior: none of the {len(files)} image files could be read "
                         f"(first: {skipped[0][0]}: {skipped[0][1]})")
    empirical = counts / counts.sum()
    check_colour(empirical, f"photo_prior: the {len(used)} photo(s) in {_where(paths)}")
    prior = smooth_prior(empirical, sigma) if sigma > 0 else empirical
    return PhotoPrior(prior, empirical, used, skipped, int(counts.sum()))


def _validate_prior_file(path: Path, data: bytes | None = None) -> torch.Tensor:
    """Load a prior .npy (from path, or from bytes fetched for it): a plain float (313,) array, finite, sum 1."""
    try:
        if data is None and path.stat().st_size > 1_000_000:  # a (313,) float64 .npy is 2,632 bytes
            raise ValueError(f"{path.stat().st_size:,} bytes, far more than a ({Q},) array needs")
        arr = np.load(io.BytesIO(data) if data is not None else path, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:  # a file starting as a zip is read as .npz
        text = " ".join(str(e).split())[:200] or type(e).__name__
        raise ValueError(f"load_zhang_prior: {path} is not a readable .npy file ({text})") from None
    if not isinstance(arr, np.ndarray):  # an .npz archive
        arr.close()
        raise ValueError(f"load_zhang_prior: {path} is an .npz archive, expected a .npy file of shape ({Q},)")
    if arr.dtype.kind != "f":  # a structured, int, bool or complex array
        what = f"dtype {arr.dtype}"
        raise ValueError(f"load_zhang_prior: {path} holds {what}, expected a plain float array of shape ({Q},)")
    if arr.shape != (Q,):
        raise ValueError(f"load_zhang_prior: {path} holds an array of shape {arr.shape}, expected ({Q},)")
    arr = arr.astype(np.float64)
    with np.errstate(all="ignore"):
        total = float(arr.sum())
    if not np.isfinite(arr).all() or (arr < 0).any() or abs(total - 1.0) > 1e-3:
        raise ValueError(f"load_zhang_prior: {path} is not a probability vector "
                         f"(sum {total:.6g}, min {arr.min():.3g}); expected finite non-negative values summing to 1")
    prior = torch.from_numpy(arr)
    summary = prior_summary(prior)
    if summary["mean_chroma"] > IMPLAUSIBLE_MEAN_CHROMA:
        warnings.warn(f"load_zhang_prior: {path} does not look like a prior of photos in ab_bins order: its average "
                      f"pixel has chroma {summary['mean_chroma']:.1f} (CIFAR-10: about 14), only "
                      f"{summary['grey_mass']:.1%} of its mass is on the 9 grey bins, and it peaks at "
                      f"(a, b) = ({summary['peak_a']:g}, {summary['peak_b']:g}). Check where the file came from "
                      "and which bin order it assumes before trusting weights built from it.", stacklevel=3)
    return prior


def _download(target: Path, timeout: float) -> str | None:
    """Fetch the prior into target (atomically); return None on success, else the last error as text."""
    error = None
    for url in PRIOR_URLS:
        try:
            with urllib.request.urlopen(url, timeout=timeout) as r:  # noqa: S310 (fixed https URL)
                data = r.read()
            _validate_prior_file(target, data)
            atomic_write(target, data)
            return None
        except (OSError, ValueError) as e:  # URLError and timeouts are OSErrors
            error = f"{url}: {e}"
    return error


def load_zhang_prior(path: str | os.PathLike | None = None, cache_dir: str | os.PathLike | None = None,
                     download: bool = True, timeout: float = 10.0) -> torch.Tensor:
    """Zhang's ImageNet prior over the 313 bins (prior_probs.npy) as (313,) float64, in ab_bins order.

    Looks at: path, else $COLORKIT_ZHANG_PRIOR, else <cache_dir or $COLORKIT_CACHE or ~/.cache/colorkit>/
    zhang-prior-probs.npy, else downloads it there from Zhang's repository (if download).
    """
    if path is not None or os.environ.get(ENV_PRIOR):
        source = "path" if path is not None else f"${ENV_PRIOR}"
        file = Path(path if path is not None else os.environ[ENV_PRIOR]).expanduser()
        if not file.exists():
            raise FileNotFoundError(f"load_zhang_prior: {source} points to {file}, which does not exist; "
                                    f"expected Zhang's prior_probs.npy ({Q},) there")
        if not file.is_file():
            what = "a folder" if file.is_dir() else "not a regular file (a device, pipe or socket)"
            raise ValueError(f"load_zhang_prior: {source} points to {file}, which is {what}; expected a ({Q},) "
                             ".npy prior file (`colorkit prior PHOTOS -o prior.npy` writes one)")
        return _validate_prior_file(file)
    file = cache_dir_path(cache_dir) / PRIOR_FILE
    if file.is_file():
        return _validate_prior_file(file)
    error = _download(file, timeout) if download else "download=False"
    if error is None:
        return _validate_prior_file(file)
    raise FileNotFoundError(
        f"load_zhang_prior: Zhang's prior is not available ({error}). Place prior_probs.npy ({Q},) float64 "
        f"from github.com/richzhang/colorization (resources/prior_probs.npy) at {file}, or set ${ENV_PRIOR} "
        f"to its path, or pass path=...")


def try_load_zhang_prior(**kwargs) -> torch.Tensor | None:
    """load_zhang_prior, but None with a printed explanation (which file to put where) when it is absent."""
    try:
        return load_zhang_prior(**kwargs)
    except FileNotFoundError as e:
        print(f"ImageNet prior unavailable, skipping what needs it.\n{e}")
        return None
