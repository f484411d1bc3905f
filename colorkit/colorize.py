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
import torch.nn.functional as F
from tqdm.auto import tqdm

from .checkpoint import CheckpointError, load_checkpoint
from .device import default_device

DEFAULT_IMAGE_SIZE = 32  # every profile trains at 32 x 32 (CIFAR-10); used when a checkpoint does not say
SUFFIX = "_colorized.png"


@dataclass
class ColorizeReport:
    """What colorize_photos did: (input, output) pairs written and (input, reason) pairs skipped."""

    written: list[tuple[Path, Path]] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)
    model: str = ""
    image_size: int | tuple[int, int] = DEFAULT_IMAGE_SIZE
    seconds: float = 0.0

    def __str__(self) -> str:
        size = "x".join(map(str, _pair(self.image_size)))
        lines = [f"colorized {len(self.written)} photo(s) with {self.model} at {size} px "
                 f"in {self.seconds:.1f} s; skipped {len(self.skipped)}"]
        lines += [f"  skipped {path}: {reason}" for path, reason in self.skipped]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """Plain types, for results JSON."""
        return {"written": [[str(a), str(b)] for a, b in self.written],
                "skipped": [[str(a), r] for a, r in self.skipped], "model": self.model,
                "image_size": list(_pair(self.image_size)), "seconds": round(self.seconds, 2)}


# ---------------------------------------------------------------- checkpoints

def checkpoint_info(state: dict[str, Any]) -> dict[str, Any]:
    """What a train.fit checkpoint (or load_model's meta) says about its model, read defensively."""
    config = state.get("config") or {}
    spec = dict(state.get("spec") or {})
    history = state.get("history") or {}
    if not isinstance(history, dict):  # load_model's meta holds a History object
        history = history.to_dict()
    size = state.get("image_size") or config.get("image_size")
    profile = state.get("profile") or config.get("profile")
    if size is None and profile:
        from .profiles import PROFILES
        size = PROFILES[profile].image_size if profile in PROFILES else None
    metrics = {k: v[-1] for k, v in history.items() if k in ("train_loss", "val_loss", "val_rmse_ab") and v}
    return {"name": spec.pop("name", None), "head": spec.pop("head", None), "options": spec,
            "data": state.get("dataset") or None, "profile": profile, "image_size": size,
            "size_recorded": size is not None, "epochs": state.get("epoch"), "config": config, "metrics": metrics,
            "color_space": config.get("color_space", "lab")}


def format_info(path: str | os.PathLike) -> str:
    """A human summary of a checkpoint: model, options, training data, profile, epochs, metrics."""
    state = load_checkpoint(path, mmap=True)  # only shapes and metadata are read
    if not state.get("spec") or "model" not in state:
        raise CheckpointError(f"{path} is a colorkit checkpoint but holds no colorizer (no model spec); "
                              "it was not written by colorkit.train.fit")
    info = checkpoint_info(state)
    params = sum(t.numel() for t in state["model"].values() if isinstance(t, torch.Tensor) and t.is_floating_point())
    options = ", ".join(f"{k}={v}" for k, v in info["options"].items()) or "-"
    cfg = info["config"]
    size = info["image_size"] if info["size_recorded"] else f"{DEFAULT_IMAGE_SIZE} (not recorded; assumed)"
    metrics = ", ".join(f"{k} {v:.4g}" for k, v in info["metrics"].items()) or "none recorded"
    return "\n".join([
        f"checkpoint:     {path}",
        f"model:          {info['name']} (head {info['head']}, {params:,} parameters)",
        f"options:        {options}",
        f"training data:  {info['data'] or 'not recorded'}",
        f"profile:        {info['profile'] or 'not recorded'}",
        f"image size:     {size}",
        f"epochs:         {info['epochs']} of {cfg.get('epochs', '?')} (batch {cfg.get('batch_size', '?')}, "
        f"optimizer {cfg.get('optimizer', '?')}, loss {cfg.get('loss', '?')}, space {info['color_space']})",
        f"metrics:        {metrics}",
    ])


def resolve_device(device: str | torch.device | None) -> torch.device:
    """The device asked for (default: CUDA when available), refusing CUDA on a machine without it."""
    device = torch.device(device) if device else default_device()
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"colorize: device {str(device)!r} asked for, but CUDA is not available here; use cpu")
    return device


def load_colorizer(path: str | os.PathLike, device: str | torch.device | None = None,
                   image_size: int | None = None) -> tuple[torch.nn.Module, dict[str, Any]]:
    """A checkpoint's model (eval mode, on device) and its info; image_size overrides the recorded one."""
    from .train import load_model

    model, meta = load_model(path, resolve_device(device))
    info = checkpoint_info(meta)
    info["image_size"] = _pair(image_size or info["image_size"] or DEFAULT_IMAGE_SIZE)
    return model, info


def find_checkpoints(folder: str | os.PathLike) -> list[Path]:
    """Colorizer checkpoints (written by train.fit) under folder/checkpoints or folder, classifiers first."""
    folder = Path(folder)
    found = []
    for path in sorted({*folder.glob("checkpoints/*.pt"), *folder.glob("*.pt")}):
        try:
            state = load_checkpoint(path, mmap=True)  # metadata only: the weights stay on disk
        except CheckpointError:
            continue
        spec = state.get("spec") or {}
        if spec.get("head") in ("tanh", "sigmoid", "linear", "classify") and "model" in state:
            found.append((spec["head"] != "classify", path))
    return [p for _, p in sorted(found)]


# ---------------------------------------------------------------- the colorizing itself

def _pair(size: int | Sequence[int]) -> tuple[int, int]:
    """A training size as (H, W): checkpoints store an int for square images, [H, W] otherwise."""
    h, w = (size, size) if isinstance(size, int) else size
    if not (isinstance(h, int) and isinstance(w, int) and h > 0 and w > 0):
        raise ValueError(f"colorize: image_size must be a positive int or (H, W), got {size!r}")
    return h, w


def colorize_images(model: torch.nn.Module, images: Sequence[torch.Tensor], image_size: int | Sequence[int],
                    temperature: float = 0.38, space: str = "lab", method: str = "annealed",
                    device: str | torch.device | None = None) -> list[torch.Tensor]:
    """Colour uint8 images (3, H_i, W_i) of any sizes: the model at image_size, chroma upsampled onto the full L.

    Each photo goes through targets.predict_colors (the luma of the model's own colour space) on its own: sizes
    differ, and one full-resolution photo at a time bounds the memory.
    """
    from .targets import predict_colors

    device = torch.device(device) if device else next(model.parameters()).device
    for img in images:
        if not isinstance(img, torch.Tensor) or img.dim() != 3 or img.shape[0] != 3 or img.dtype != torch.uint8:
            got = f"shape {tuple(img.shape)}, dtype {img.dtype}" if isinstance(img, torch.Tensor) else type(img)
            raise ValueError(f"colorize_images: expected uint8 (3, H, W) images, got {got}")
    out = []
    for img in images:
        rgb = predict_colors(model, img[None].to(device), space, T=temperature, method=method, output="rgb",
                             size=_pair(image_size))  # (1, 3, H, W) in [0, 1]
        out.append((rgb[0] * 255).round().to(torch.uint8).cpu())
    return out


def find_photos(inputs: str | os.PathLike | Sequence[str | os.PathLike]) -> list[Path]:
    """Files given, plus the image files (by extension) directly inside each folder given, in sorted order."""
    from .data import IMAGE_EXTENSIONS

    inputs = [inputs] if isinstance(inputs, (str, os.PathLike)) else list(inputs)
    found = []
    for item in map(Path, inputs):
        if item.is_dir():
            found += sorted(p for p in item.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)
        elif item.is_file():
            found.append(item)
        else:
            raise FileNotFoundError(f"colorize_photos: photo or folder {str(item)!r} does not exist")
    return list(dict.fromkeys(found))  # a file named twice is done once


def output_paths(photos: Sequence[Path], out_dir: str | os.PathLike) -> list[Path]:
    """out_dir/<stem>_colorized.png per photo, made unique (<stem>_2_colorized.png); never an input file."""
    out_dir, taken, targets = Path(out_dir), set(), []
    inputs = {p.resolve() for p in photos}
    for photo in photos:
        stem, k = photo.stem, 1
        while (name := f"{stem}{'' if k == 1 else f'_{k}'}{SUFFIX}") in taken:
            k += 1
        taken.add(name)
        target = out_dir / name
        if target.resolve() in inputs or any(target.exists() and target.samefile(p) for p in photos):
            raise ValueError(f"colorize_photos: the output for {photo} would overwrite the input photo {target}; "
                             "choose another out_dir")
        targets.append(target)
    return targets


def _write_png(image: torch.Tensor, target: Path) -> None:
    """Write a uint8 (3, H, W) image as PNG atomically (temporary name, then rename)."""
    from PIL import Image

    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        Image.fromarray(image.permute(1, 2, 0).contiguous().numpy()).save(tmp, format="PNG")
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def colorize_photos(photos: str | os.PathLike | Sequence[str | os.PathLike], out_dir: str | os.PathLike,
                    model: str | os.PathLike | torch.nn.Module, temperature: float = 0.38,
                    device: str | torch.device | None = None, batch_size: int = 16, on_error: str = "skip",
                    image_size: int | None = None, space: str | None = None, progress: bool = True) -> ColorizeReport:
    """Colour photos / folders into out_dir/<stem>_colorized.png; unreadable files are skipped and reported."""
    from .data import load_photos

    if on_error not in ("skip", "raise"):
        raise ValueError(f"colorize_photos: on_error must be 'skip' or 'raise', got {on_error!r}")
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"colorize_photos: batch_size must be an int >= 1, got {batch_size!r}")
    if not (isinstance(temperature, (int, float)) and temperature > 0 and math.isfinite(temperature)):
        raise ValueError(f"colorize_photos: temperature must be a finite number > 0, got {temperature!r}")
    start = time.time()
    paths = find_photos(photos)
    targets = output_paths(paths, out_dir)  # refuses before anything is read or written
    if isinstance(model, torch.nn.Module):
        info = {"name": getattr(model, "model_name", type(model).__name__),
                "image_size": _pair(image_size or DEFAULT_IMAGE_SIZE), "color_space": space or "lab"}
        if device is not None:
            model = model.to(resolve_device(device))
    else:
        model, info = load_colorizer(model, device, image_size)
    space = space or info["color_space"]
    report = ColorizeReport(model=str(info["name"]), image_size=info["image_size"])
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    model.eval()
    bar = tqdm(total=len(paths), desc="colorizing", unit="photo", disable=not progress)
    for s in range(0, len(paths), batch_size):  # a batch at a time: big photos are never all in memory
        chunk = dict(zip(paths[s:s + batch_size], targets[s:s + batch_size]))
        with warnings.catch_warnings():  # skipped files are in the report; no second message per file
            warnings.simplefilter("ignore")
            loaded = load_photos(list(chunk), on_error=on_error)
        report.skipped += [(Path(path), str(reason)) for path, reason in loaded.skipped]
        colored = colorize_images(model, loaded.images, info["image_size"], temperature, space, device=device)
        for path, image in zip(loaded.paths, colored):
            try:
                _write_png(image, chunk[Path(path)])
                report.written.append((Path(path), chunk[Path(path)]))
            except OSError as exc:
                if on_error == "raise":
                    raise
                report.skipped.append((Path(path), f"cannot write {chunk[Path(path)]}: {exc}"))
        bar.update(len(chunk))
    bar.close()
    report.seconds = time.time() - start
    return report


# ---------------------------------------------------------------- notebook helpers

SAMPLE_PHOTOS = ("astronaut", "chelsea", "coffee", "rocket")  # colour photos bundled with scikit-image


def write_sample_photos(folder: str | os.PathLike, names: Sequence[str] = SAMPLE_PHOTOS) -> Path:
    """Write a few of scikit-image's bundled colour photos into folder as JPEGs (a zero-setup photos_dir)."""
    from PIL import Image
    from skimage import data

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        if not (folder / f"{name}.jpg").is_file():
            Image.fromarray(getattr(data, name)()).save(folder / f"{name}.jpg", quality=92)
    return folder


def colorize_explorer(checkpoints: Sequence[str | os.PathLike], images: Sequence[torch.Tensor],
                      temperature: float = 0.38, device: str | torch.device | None = None, display_size: int = 192):
    """A model picker (Dropdown) and a temperature slider (labelled T) that re-colour the photos below them.

    The photos are a picture (notebook.figure_widget), not an Output widget, so a headless run never waits on it.
    """
    import ipywidgets as w

    from .notebook import figure_widget
    from .viz import image_grid

    paths = [Path(p) for p in checkpoints]
    thumbs = [_thumbnail(img, display_size) for img in images]
    picker = w.Dropdown(options=[(p.stem, i) for i, p in enumerate(paths)], description="model")  # no paths shown
    slider = w.FloatSlider(value=temperature, min=0.01, max=1.0, step=0.01, description="T",
                           continuous_update=False, readout_format=".2f")
    models: dict[int, tuple[torch.nn.Module, dict[str, Any]]] = {}

    def draw():
        if picker.value not in models:
            models[picker.value] = load_colorizer(paths[picker.value], device)
        model, info = models[picker.value]
        colored = colorize_images(model, thumbs, info["image_size"], slider.value, info["color_space"])
        rows = {"photo": _square(thumbs, display_size), f"T = {slider.value:.2f}": _square(colored, display_size)}
        return image_grid(rows, n=len(thumbs), size=2.2)

    return figure_widget([picker, slider], draw)


def _thumbnail(image: torch.Tensor, size: int) -> torch.Tensor:
    """A uint8 (3, H, W) image shrunk (antialiased) so that its longer side is at most `size`."""
    h, w = image.shape[-2:]
    scale = min(1.0, size / max(h, w))
    small = F.interpolate(image[None].float(), size=(max(1, round(h * scale)), max(1, round(w * scale))),
                          mode="bilinear", antialias=True, align_corners=False)[0]
    return small.round().clamp(0, 255).to(torch.uint8)


def _square(images: Sequence[torch.Tensor], size: int) -> torch.Tensor:
    """Pad uint8 images (3, h, w) with h, w <= size onto white size x size squares -> (B, 3, size, size)."""
    padded = []
    for img in images:
        ph, pw = size - img.shape[1], size - img.shape[2]
        padded.append(F.pad(img, (pw // 2, pw - pw // 2, ph // 2, ph - ph // 2), value=255))
    return torch.stack(padded)


__all__ = ["ColorizeReport", "colorize_photos", "colorize_images", "colorize_explorer", "find_photos",
           "output_paths", "find_checkpoints", "write_sample_photos", "load_colorizer", "checkpoint_info", "format_info"]
