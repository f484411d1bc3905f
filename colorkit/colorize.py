"""Colorize your own photos with a trained checkpoint: any size or format, the full-resolution L kept, a report.

The network sees the photo's lightness resized to the resolution it was trained at (e.g. 32 x 32 for
CIFAR-10); its chroma is upsampled (bilinear) to the photo's size and joined with the photo's own
full-resolution lightness, the way Zhang et al.'s demo colours large photos, so no detail is lost.
"""
from __future__ import annotations

import math
import os
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import torch
from tqdm.auto import tqdm

from .checkpoint import DEFAULT_IMAGE_SIZE
from .colorizer import Colorizer, image_pair
from .data import load_photos, photo_pixels
from .data.photos import DEFAULT_MAX_PIXELS, IMAGE_EXTENSIONS, photo_files
from .device import resolve_device
from .hint_points import check_points, hints_for_photos, hints_from_points, load_hints_file
from .hints import hint_channels
from .outputs import make_out_dir, output_paths, write_png
from .quantize import DEFAULT_T
from .upsample import DEFAULT_UPSAMPLE

class NonFiniteOutput(ValueError):
    """The model gave NaN or infinite outputs: it is unusable (the images would be black)."""


class ColorizeInterrupted(KeyboardInterrupt):
    """Ctrl-C during colorize_photos: the batch stopped cleanly; .report says what was written before."""

    def __init__(self, report: "ColorizeReport"):
        super().__init__(f"colorize_photos: interrupted; {len(report.written)} photo(s) written")
        self.report = report


@dataclass
class ColorizeReport:
    """What colorize_photos did: (input, output) pairs written and (input, reason) pairs skipped."""

    written: list[tuple[Path, Path]] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)
    model: str = ""
    image_size: int | tuple[int, int] = DEFAULT_IMAGE_SIZE
    seconds: float = 0.0
    not_done: list[Path] | None = None  # set when interrupted (Ctrl-C): the photos neither written nor skipped

    def __str__(self) -> str:
        size = "x".join(map(str, image_pair(self.image_size)))
        lines = [f"colorized {len(self.written)} photo(s) with {self.model} at {size} px "
                 f"in {self.seconds:.1f} s; skipped {len(self.skipped)}"]
        lines += [f"  skipped {path}: {reason}" for path, reason in self.skipped]
        if self.not_done is not None:
            lines.append(f"interrupted (Ctrl-C): {len(self.not_done)} photo(s) not colorized; the files written are "
                         "complete, and a rerun skips them")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """Plain types, for results JSON."""
        return {"written": [[str(a), str(b)] for a, b in self.written],
                "skipped": [[str(a), r] for a, r in self.skipped], "model": self.model,
                "image_size": list(image_pair(self.image_size)), "seconds": round(self.seconds, 2),
                "not_done": None if self.not_done is None else [str(p) for p in self.not_done]}


# ---------------------------------------------------------------- the colorizing itself

def colorize_images(colorizer: Colorizer, images: Sequence[torch.Tensor],
                    points: Sequence[Sequence[tuple] | None] | None = None) -> list[torch.Tensor]:
    """Colour uint8 images (3, H_i, W_i) of any sizes: the model at colorizer.size, chroma upsampled onto the full L.

    Each photo goes through the Colorizer (targets.predict_colors, the luma of the model's own colour space) on its
    own: sizes differ, and one full-resolution photo at a time bounds the memory. points: per image, user hints
    [(x, y, colour)] in its pixels (colorkit.hint_points.hints_from_points) or None, for hint models.
    """
    device = next(colorizer.model.parameters()).device
    for img in images:
        if not isinstance(img, torch.Tensor) or img.dim() != 3 or img.shape[0] != 3 or img.dtype != torch.uint8:
            got = f"shape {tuple(img.shape)}, dtype {img.dtype}" if isinstance(img, torch.Tensor) else type(img)
            raise ValueError(f"colorize_images: expected uint8 (3, H, W) images, got {got}")
    out = []
    for img, pts in zip(images, points or [None] * len(images)):
        hints = None if pts is None else hints_from_points(pts, tuple(img.shape[-2:]), device=device)
        rgb = colorizer(img[None].to(device), hints=hints)  # (1, 3, H, W) in [0, 1]
        out.append((rgb[0] * 255).round().to(torch.uint8).cpu())
    return out


def find_photos(inputs: str | os.PathLike | Sequence[str | os.PathLike]) -> list[Path]:
    """Files given, plus the image files directly inside each folder given (data.photos.photo_files, not recursive:
    the outputs go to one flat folder), each once."""
    return photo_files(inputs, recursive=False, fn="colorize_photos")


def _empty_folders(inputs: str | os.PathLike | Sequence[str | os.PathLike]) -> list[Path]:
    """The folders given that hold no image file (find_photos finds nothing in them)."""
    inputs = [inputs] if isinstance(inputs, (str, os.PathLike)) else list(inputs)
    return [Path(p) for p in inputs if Path(p).is_dir() and not find_photos(p)]


def _plan(paths: list[Path], targets: list[Path], overwrite: bool, max_pixels: int | None,
          report: ColorizeReport) -> list[tuple[Path, Path, int]]:
    """(photo, output, pixels) to do; existing outputs (unless overwrite) and photos over budget go to skipped."""
    todo, claimed = [], {}
    for path, target in zip(paths, targets):
        if target in claimed:  # x/a.jpg and y/a.jpg: outputs are named after the file alone
            report.skipped.append((path, f"its output {target} is also {claimed[target]}'s, which comes first; "
                                         "colorize it into another output folder"))
            continue
        claimed[target] = path
        if target.exists() and not overwrite:
            report.skipped.append((path, f"{target} already exists; pass --overwrite (overwrite=True) to replace it"))
            continue
        try:
            with warnings.catch_warnings():  # Pillow's DecompressionBombWarning: our budget decides
                warnings.simplefilter("ignore")
                todo.append((path, target, photo_pixels(path, max_pixels)))  # from the header: nothing decoded
        except Exception as exc:  # noqa: BLE001  unreadable header, over budget, a plugin's own error: skip it
            report.skipped.append((path, " ".join(str(exc).split()) or type(exc).__name__))
    return todo


def _chunks(todo: list[tuple[Path, Path, int]], batch_size: int, max_pixels: int | None):
    """Runs of at most batch_size photos and (beyond a chunk's first photo) max_pixels pixels in all."""
    chunk, total = [], 0
    for item in todo:
        if chunk and (len(chunk) == batch_size or (max_pixels is not None and total + item[2] > max_pixels)):
            yield chunk
            chunk, total = [], 0
        chunk.append(item)
        total += item[2]
    if chunk:
        yield chunk


def _colorize_each(colorizer: Colorizer, loaded, on_error: str, report: ColorizeReport,
                   points: dict[Path, list] | None = None) -> list:
    """(path, image) pairs of colorize_images over a chunk; if it fails (memory), photo by photo, skipping failures."""
    pts = [(points or {}).get(Path(p)) for p in loaded.paths]
    try:
        return list(zip(loaded.paths, colorize_images(colorizer, loaded.images, points=pts)))
    except (RuntimeError, MemoryError):  # torch.OutOfMemoryError is a RuntimeError
        if on_error == "raise":
            raise
    done = []
    for path, image, p in zip(loaded.paths, loaded.images, pts):
        try:
            done.append((path, colorize_images(colorizer, [image], points=[p])[0]))
        except (RuntimeError, MemoryError) as exc:
            report.skipped.append((Path(path), f"colorizing it ({'x'.join(map(str, image.shape[-2:]))} px) failed: "
                                               f"{type(exc).__name__}: {' '.join(str(exc).split())[:200]}"))
    return done


def colorize_photos(photos: str | os.PathLike | Sequence[str | os.PathLike], out_dir: str | os.PathLike,
                    model: str | os.PathLike | torch.nn.Module, temperature: float = DEFAULT_T,
                    device: str | torch.device | None = None, batch_size: int = 16, on_error: str = "skip",
                    image_size: int | None = None, space: str | None = None, progress: bool = True,
                    overwrite: bool = False, max_pixels: int | None = DEFAULT_MAX_PIXELS,
                    hints: str | os.PathLike | list | dict | None = None,
                    upsample: str = DEFAULT_UPSAMPLE) -> ColorizeReport:
    """Colour photos / folders into out_dir/output_name(photo); unreadable, too large or done files are skipped.

    Existing outputs are kept unless overwrite, also those that appear while it runs; photos over max_pixels (read
    from the header) are not decoded. Ctrl-C raises ColorizeInterrupted, whose .report lists what was written.
    hints (hint models only): a HINTS.json path or its content, see colorkit.hint_points.load_hints_file.
    upsample: "guided" (colour stops at the photo's edges) or "bilinear", see colorkit.upsample.
    """
    if on_error not in ("skip", "raise"):
        raise ValueError(f"colorize_photos: on_error must be 'skip' or 'raise', got {on_error!r}")
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"colorize_photos: batch_size must be an int >= 1, got {batch_size!r}")
    if not (isinstance(temperature, (int, float)) and temperature > 0 and math.isfinite(temperature)):
        raise ValueError(f"colorize_photos: temperature must be a finite number > 0, got {temperature!r}")
    if max_pixels is not None and (not isinstance(max_pixels, int) or max_pixels < 1):
        raise ValueError(f"colorize_photos: max_pixels must be an int >= 1 or None, got {max_pixels!r}")
    if image_size is not None:
        image_pair(image_size)
    start, out_dir = time.time(), Path(out_dir)
    paths = find_photos(photos)
    if not paths:
        raise ValueError(f"colorize_photos: no image files ({', '.join(sorted(IMAGE_EXTENSIONS))}) in {photos}")
    make_out_dir(out_dir, create=False)
    targets = output_paths(paths, out_dir)  # refuses before anything is read or written
    decoding = {"T": temperature, "upsample": upsample, **({"space": space} if space else {}),
                **({"size": image_pair(image_size)} if image_size is not None else {})}
    if isinstance(model, torch.nn.Module):
        name = getattr(model, "model_name", type(model).__name__)
        if device is not None:
            model = model.to(resolve_device(device))
        colorizer = Colorizer(model, name=name, **{"size": image_pair(DEFAULT_IMAGE_SIZE), **decoding})
    else:
        name, colorizer = str(model), Colorizer.from_checkpoint(model, device, **decoding)
    model = colorizer.model
    points = None if hints is None else _photo_hints(hints, model, name, paths)
    report = ColorizeReport(model=colorizer.name, image_size=colorizer.size)
    report.skipped += [(Path(p), "a folder with no image files") for p in _empty_folders(photos)]
    make_out_dir(out_dir, create=True)
    todo = _plan(paths, targets, overwrite, max_pixels, report)
    model.eval()

    def finite(_module, _inputs, output) -> None:  # NaN weights would give black images, and exit 0
        if isinstance(output, torch.Tensor) and not torch.isfinite(output).all():
            raise NonFiniteOutput(f"colorize_photos: the model {name} gives NaN or infinite outputs; it is unusable")

    hook = model.register_forward_hook(finite)
    bar = tqdm(total=len(paths), initial=len(paths) - len(todo), desc="colorizing", unit="photo", disable=not progress)
    try:
        for chunk in _chunks(todo, batch_size, max_pixels):  # big photos are never all in memory at once
            out_of = {path: target for path, target, _ in chunk}
            with warnings.catch_warnings():  # skipped files are in the report; no second message per file
                warnings.simplefilter("ignore")
                loaded = load_photos(list(out_of), on_error=on_error, max_pixels=max_pixels)
            report.skipped += [(Path(path), str(reason)) for path, reason in loaded.skipped]
            for path, image in _colorize_each(colorizer, loaded, on_error, report, points):
                try:
                    write_png(image, out_of[Path(path)], overwrite)
                    report.written.append((Path(path), out_of[Path(path)]))
                except FileExistsError:  # written meanwhile, say by another run: kept
                    report.skipped.append((Path(path), f"{out_of[Path(path)]} appeared while this run was working "
                                                       "(another run?); kept it; pass --overwrite to replace it"))
                except OSError as exc:
                    if on_error == "raise":
                        raise
                    report.skipped.append((Path(path), f"cannot write {out_of[Path(path)]}: {exc}"))
            bar.update(len(chunk))
    except KeyboardInterrupt:  # Ctrl-C: stop between files, say what was written
        done = {p for p, _ in report.written} | {p for p, _ in report.skipped}
        report.not_done = [p for p in paths if p not in done]
        report.seconds = time.time() - start
        raise ColorizeInterrupted(report) from None
    finally:
        hook.remove()
        bar.close()
    report.seconds = time.time() - start
    return report


def _photo_hints(hints, model: torch.nn.Module, name: str, paths: list[Path]) -> dict[Path, list]:
    """Each photo's hint points, checked against its size (EXIF-rotated, from the header) before anything is written."""
    from PIL import Image

    if not hint_channels(model):
        raise ValueError(f"colorize_photos: hints were given, but the model {name} has no hint input "
                         "(hint_channels 0); use a hint model, e.g. one trained with --model zhang_hints")
    source = f" ({hints})" if isinstance(hints, (str, os.PathLike)) else ""
    points = hints_for_photos(load_hints_file(hints) if source else hints, paths)
    for path, pts in points.items():
        try:
            with Image.open(path) as im:
                w, h = im.size
                if im.getexif().get(0x0112) in (5, 6, 7, 8):  # rotated by 90 degrees when loaded
                    w, h = h, w
        except Exception:  # noqa: BLE001  an unreadable photo is skipped (and reported) later
            continue
        rows = check_points(pts, (h, w), f"colorize_photos: hints{source} for {path.name}")
        points[path] = [(col, row, (a, b)) for row, col, a, b in rows]  # colours converted once, here
    return points


__all__ = ["ColorizeReport", "ColorizeInterrupted", "NonFiniteOutput", "colorize_photos", "colorize_images",
           "find_photos"]
