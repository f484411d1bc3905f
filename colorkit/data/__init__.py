"""Image data: CIFAR-10 (torchvision pickles or the JPEG copy), photo folders, embedded photo patches, batching.

`load_dataset` is the notebooks' one entry point; the sources live in cifar.py and photos.py, the container
and its batching / augmentation in imageset.py.
"""
from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import torch
import torch.nn.functional as F

from .cifar import (CIFAR10_CLASSES, CIFAR10_URL, ENV_CACHE, ENV_CIFAR10, JPEG_NAME, cache_dir_path,  # noqa: F401
                    find_cifar10, is_cifar_path, load_cifar10)
from .imageset import ImageSet, augment, batches, image_tensor  # noqa: F401
from .photos import (DEFAULT_MAX_PIXELS, EMBEDDED_PHOTOS, IMAGE_EXTENSIONS, Photos, embedded_images,  # noqa: F401
                     load_photos, photo_pixels, sample_photo)

_DATA_FORMS = ("'auto' (CIFAR-10 if found, else embedded photo patches), 'embedded', 'cifar10', or a path: "
               "a cifar-10-batches-py folder, a folder train/<class>/*.jpg, a cifar10-jpeg.tar.gz, "
               "or a folder of photos")
_DEFAULT_EMBEDDED = {"train": 10000, "test": 2000}


def _banner(lines: list[str]) -> None:
    width = max(map(len, lines))
    print("+" + "-" * (width + 2) + "+")
    for line in lines:
        print(f"| {line.ljust(width)} |")
    print("+" + "-" * (width + 2) + "+")


def _resize(s: ImageSet, size: int) -> ImageSet:
    if s.images.shape[-2:] == (size, size):
        return s
    x = F.interpolate(s.images.float(), size=(size, size), mode="bilinear", antialias=True, align_corners=False)
    return replace(s, images=x.round().clamp(0, 255).to(torch.uint8))


def load_dataset(data: str | os.PathLike = "auto", split: str = "train", limit: int | None = None, size: int = 32,
                 cache_dir=None, download: bool = True) -> ImageSet:
    """The one data entry point of the notebooks: 'auto', 'embedded', 'cifar10' or a path (see _DATA_FORMS)."""
    if split not in ("train", "test"):
        raise ValueError(f"load_dataset: split must be 'train' or 'test', got {split!r}")
    if data == "auto":
        p = find_cifar10(None, cache_dir, download)
        if p is None:
            n = limit or _DEFAULT_EMBEDDED[split]
            _banner(["No CIFAR-10 found (no $COLORKIT_CIFAR10, nothing in the cache, no download).",
                     f"Using instead: {n} embedded photo patches ({size}x{size} crops of scikit-image /",
                     "matplotlib sample photos); fine for learning the code, not for real numbers.",
                     "To use CIFAR-10, pass data=\"/path/to/cifar-10-batches-py or cifar10-jpeg.tar.gz\"",
                     f"or set {ENV_CIFAR10}=/path/to/... before starting."])
            return embedded_images(n, size=size, split=split)
        return _resize(load_cifar10(p, split, limit, cache_dir, download=False), size)
    if data == "embedded":
        return embedded_images(limit or _DEFAULT_EMBEDDED[split], size=size, split=split)
    if data == "cifar10":
        return _resize(load_cifar10(None, split, limit, cache_dir, download), size)
    if isinstance(data, (str, os.PathLike)) and Path(data).expanduser().exists():
        p = Path(data).expanduser()
        if is_cifar_path(p):
            return _resize(load_cifar10(p, split, limit, cache_dir, download=False), size)
        photos = load_photos(p / split if (p / split).is_dir() else p, size=size)
        return photos if limit is None else photos.subset(limit)
    raise ValueError(f"load_dataset: data={data!r} is neither a known name nor an existing path; "
                     f"valid forms: {_DATA_FORMS}")
