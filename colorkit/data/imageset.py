"""ImageSet, the kit's one container of uint8 images, with batching and on-device augmentation."""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any, Iterator, Sequence

import torch


@dataclass
class ImageSet:
    """A set of uint8 images (N, 3, H, W) with optional int64 labels (N,) and where they came from."""

    images: torch.Tensor  # (N, 3, H, W) uint8, 0..255
    labels: torch.Tensor | None  # (N,) int64 or None
    classes: list[str]
    name: str  # e.g. "CIFAR-10", "CIFAR-10 (JPEG copy)", "embedded photo patches"
    source: str  # path or description

    def __post_init__(self):
        x = self.images
        if not isinstance(x, torch.Tensor) or x.dim() != 4 or x.shape[1] != 3 or x.dtype != torch.uint8:
            got = f"shape {tuple(x.shape)}, dtype {x.dtype}" if isinstance(x, torch.Tensor) else type(x).__name__
            raise ValueError(f"ImageSet: expected images as a (N, 3, H, W) uint8 tensor, got {got}")
        if self.labels is not None and (self.labels.shape != (x.shape[0],) or self.labels.dtype != torch.int64):
            raise ValueError(f"ImageSet: expected labels as a ({x.shape[0]},) int64 tensor, got shape "
                             f"{tuple(self.labels.shape)}, dtype {self.labels.dtype}")

    def __len__(self) -> int:
        return self.images.shape[0]

    def __repr__(self) -> str:
        n, c, h, w = self.images.shape
        return (f"ImageSet({_file_names(self.name)!r}: {n} images {c}x{h}x{w}, {len(self.classes)} classes, "
                f"from {_file_names(self.source)})")

    def to(self, device: torch.device | str) -> "ImageSet":
        """The same set with images and labels on `device`."""
        labels = None if self.labels is None else self.labels.to(device)
        return replace(self, images=self.images.to(device), labels=labels)

    def subset(self, index: int | torch.Tensor | Sequence[int]) -> "ImageSet":
        """The first `index` images (an int) or the images at `index` (an index tensor or list)."""
        if isinstance(index, int):
            if index < 0:
                raise ValueError(f"ImageSet.subset: n must be >= 0, got {index}")
            index = torch.arange(min(index, len(self)))
        index = torch.as_tensor(index, dtype=torch.long).to(self.images.device)
        labels = None if self.labels is None else self.labels[index.to(self.labels.device)]
        return replace(self, images=self.images[index], labels=labels)

    def select_classes(self, names: Sequence[str]) -> "ImageSet":
        """The images whose class is one of `names` (e.g. CIFAR-10's vehicles), labels and class list unchanged."""
        if self.labels is None:
            raise ValueError(f"ImageSet.select_classes: {self.name!r} has no labels; expected a labelled set "
                             "such as CIFAR-10")
        unknown = [n for n in names if n not in self.classes]
        if unknown or not names:
            raise ValueError(f"ImageSet.select_classes: unknown class(es) {unknown or list(names)}; "
                             f"valid classes: {', '.join(self.classes)}")
        wanted = torch.tensor([self.classes.index(n) for n in names], device=self.labels.device)
        picked = replace(self, name=f"{self.name}: {', '.join(names)}")
        return picked.subset(torch.isin(self.labels, wanted).nonzero().squeeze(1))


def augment(batch: torch.Tensor, crop_padding: int = 4, flip: bool = True, generator: torch.Generator | None = None,
            padding_mode: str = "reflect") -> torch.Tensor:
    """Random crop (pad by crop_padding, reflect or zeros) and horizontal flip, per image, as one gather."""
    if not isinstance(batch, torch.Tensor) or batch.dim() != 4:
        raise ValueError(f"augment: expected batch as a (B, C, H, W) tensor, got "
                         f"{tuple(batch.shape) if isinstance(batch, torch.Tensor) else type(batch).__name__}")
    if padding_mode not in ("reflect", "zeros"):
        raise ValueError(f"augment: padding_mode must be 'reflect' or 'zeros', got {padding_mode!r}")
    b, c, h, w = batch.shape
    p = crop_padding
    if p < 0 or (padding_mode == "reflect" and p >= min(h, w)):
        raise ValueError(f"augment: crop_padding must be in [0, {min(h, w) - 1}] for {h}x{w} images, got {p}")
    gen_device = generator.device if generator is not None else torch.device("cpu")
    # draws on the generator's device; a CPU generator's go to the GPU without a blocking copy (no stream sync)
    oy = torch.randint(0, 2 * p + 1, (b,), generator=generator, device=gen_device).to(batch.device, non_blocking=True)
    ox = torch.randint(0, 2 * p + 1, (b,), generator=generator, device=gen_device).to(batch.device, non_blocking=True)
    flips = (torch.rand(b, generator=generator, device=gen_device) < 0.5).to(batch.device, non_blocking=True) \
        if flip else torch.zeros(b, dtype=torch.bool, device=batch.device)
    ar_h, ar_w = torch.arange(h, device=batch.device), torch.arange(w, device=batch.device)
    rows = oy[:, None] - p + ar_h  # (B, H) source row of each output row, in unpadded coordinates
    cols = ox[:, None] - p + torch.where(flips[:, None], w - 1 - ar_w, ar_w)  # (B, W)
    if padding_mode == "reflect":  # mirror about the edge pixels, like F.pad(mode="reflect")
        rows, cols = rows.abs(), cols.abs()
        rows = torch.where(rows > h - 1, 2 * (h - 1) - rows, rows)
        cols = torch.where(cols > w - 1, 2 * (w - 1) - cols, cols)
        inside = None
    else:
        inside = ((rows >= 0) & (rows < h))[:, :, None] & ((cols >= 0) & (cols < w))[:, None, :]  # (B, H, W)
        rows, cols = rows.clamp(0, h - 1), cols.clamp(0, w - 1)
    flat = (rows[:, :, None] * w + cols[:, None, :]).reshape(b, 1, h * w).expand(b, c, h * w)  # (B, C, H*W)
    out = batch.reshape(b, c, h * w).gather(2, flat).reshape(b, c, h, w)
    return out if inside is None else out * inside[:, None].to(out.dtype)


def batches(imageset: ImageSet, batch_size: int, shuffle: bool = True, generator: torch.Generator | None = None,
            device: torch.device | str | None = None, drop_last: bool = False,
            max_preload_bytes: int = 2 << 30) -> Iterator[tuple[torch.Tensor, torch.Tensor | None]]:
    """Yield (uint8 images (B, 3, H, W), labels (B,) or None) on `device`; small sets are moved there once."""
    if not isinstance(batch_size, int) or batch_size <= 0:
        raise ValueError(f"batches: batch_size must be a positive int, got {batch_size!r}")
    device = torch.device(device) if device is not None else imageset.images.device
    images, labels = imageset.images, imageset.labels
    if images.numel() <= max_preload_bytes:  # e.g. CIFAR-10 train: 50000*3*32*32 = 154 MB, kept on the device
        images = images.to(device)
        labels = None if labels is None else labels.to(device)
    n = len(imageset)
    gen_device = generator.device if generator is not None else "cpu"
    order = torch.randperm(n, generator=generator, device=gen_device) if shuffle else torch.arange(n)
    order = order.to(images.device)  # one copy an epoch, not one (blocking) copy a batch
    stop = n - n % batch_size if drop_last else n
    for s in range(0, stop, batch_size):
        idx = order[s:s + batch_size]
        x = images[idx].to(device, non_blocking=True)
        y = None if labels is None else labels[idx.to(labels.device)].to(device, non_blocking=True)
        yield x, y


_ABSOLUTE = re.compile(r"(?<![\w.])/(?:[^/\s,()'\"]+/)*([^/\s,()'\"]+)")


def _file_names(text: str) -> str:
    """Absolute paths in text shortened to their last part: what a printed set shows, never a machine's folders."""
    return _ABSOLUTE.sub(r"\1", text)


def image_tensor(ds: Any, name: str, fn: str, allow_empty: bool = True) -> torch.Tensor:
    """The uint8 (N, 3, H, W) images of an ImageSet (or anything with .images) or a bare tensor; TypeError for
    another type, ValueError for another shape or dtype (or no image, unless allow_empty), naming what was given."""
    x = getattr(ds, "images", ds)
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{fn}: expected {name} as an ImageSet or a uint8 (N, 3, H, W) tensor, got {type(ds).__name__}")
    if x.dim() != 4 or x.shape[1] != 3 or x.dtype != torch.uint8:
        raise ValueError(f"{fn}: expected {name} as an ImageSet or a uint8 (N, 3, H, W) tensor, got shape "
                         f"{tuple(x.shape)}, dtype {x.dtype}")
    if x.shape[0] == 0 and not allow_empty:
        raise ValueError(f"{fn}: expected at least one image in {name}, got shape {tuple(x.shape)}")
    return x
