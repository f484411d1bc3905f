"""Image data: CIFAR-10 (torchvision pickles or the JPEG copy), photo folders, embedded photo patches, batching."""
from __future__ import annotations

import hashlib
import io
import os
import pickle
import socket
import tarfile
import threading
import warnings
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageOps

CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
ENV_CIFAR10, ENV_CACHE = "COLORKIT_CIFAR10", "COLORKIT_CACHE"
IMAGE_EXTENSIONS = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm"}
JPEG_NAME = "CIFAR-10 (JPEG copy)"


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
        return f"ImageSet({self.name!r}: {n} images {c}x{h}x{w}, {len(self.classes)} classes, from {self.source})"

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


# ---------------------------------------------------------------- CIFAR-10

def _cache_dir(cache_dir: str | os.PathLike | None) -> Path:
    return Path(cache_dir or os.environ.get(ENV_CACHE) or Path.home() / ".cache" / "colorkit").expanduser()


def _online(host: str = "www.cs.toronto.edu", port: int = 443, timeout: float = 3.0) -> bool:
    """Quick connectivity check; runs in a thread so that a hanging DNS lookup cannot stall us."""
    ok = []

    def probe():
        try:
            socket.create_connection((host, port), timeout=timeout).close()
            ok.append(True)
        except OSError:
            pass
    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    thread.join(timeout + 0.5)
    return bool(ok)


def _is_pickle_dir(p: Path) -> bool:
    return p.is_dir() and (p / "data_batch_1").is_file()


def _jpeg_root(p: Path) -> Path | None:
    """The folder holding train/<class>/ or test/<class>/ (p itself or one of its subfolders), else None."""
    for root in [p] + sorted(q for q in p.iterdir() if q.is_dir()):
        if any((root / s / c).is_dir() for s in ("train", "test") for c in CIFAR10_CLASSES):
            return root
    return None


def _is_cifar_path(p: Path) -> bool:
    if p.is_file():
        return p.name.endswith((".tar", ".tar.gz", ".tgz"))
    return p.is_dir() and (_is_pickle_dir(p) or _is_pickle_dir(p / "cifar-10-batches-py") or _jpeg_root(p) is not None)


def find_cifar10(path=None, cache_dir=None, download: bool = False) -> Path | None:
    """Where CIFAR-10 is: `path`, $COLORKIT_CIFAR10, <cache>/cifar-10-batches-py or a fresh download; else None."""
    for given, what in ((path, "path"), (os.environ.get(ENV_CIFAR10), f"${ENV_CIFAR10}")):
        if given:
            p = Path(given).expanduser()
            if not p.exists():
                raise FileNotFoundError(f"load_cifar10: {what} = {str(given)!r} does not exist; expected "
                                        "a cifar-10-batches-py folder, a train/<class>/*.jpg folder or a .tar.gz of it")
            return p
    cache = _cache_dir(cache_dir)
    if _is_pickle_dir(cache / "cifar-10-batches-py"):
        return cache / "cifar-10-batches-py"
    if download and _online():
        import torchvision  # the downloader checks the md5 and extracts both splits into <cache>/cifar-10-batches-py
        print(f"Downloading CIFAR-10 (163 MB) from {CIFAR10_URL} into {cache} ...")
        torchvision.datasets.CIFAR10(root=str(cache), train=True, download=True)
        return cache / "cifar-10-batches-py"
    return None


def _not_found_message(cache_dir) -> str:
    cache = _cache_dir(cache_dir)
    return (f"load_cifar10: CIFAR-10 not found (no path argument, ${ENV_CIFAR10} unset, no "
            f"{cache / 'cifar-10-batches-py'}, no download: offline or download=False). To fix, either\n"
            f"  - download {CIFAR10_URL} and extract it into {cache}/ so that "
            f"{cache / 'cifar-10-batches-py' / 'data_batch_1'} exists, or\n"
            f"  - set {ENV_CIFAR10}=/path/to/cifar-10-batches-py (or to a cifar10-jpeg.tar.gz / a folder "
            "train/<class>/*.jpg, test/<class>/*.jpg), or\n"
            "  - pass path=... (load_cifar10) / data='/path/...' (load_dataset).")


def _per_class_quota(limit: int | None, n_classes: int = 10) -> list[int] | None:
    # limit images split evenly over the classes, the first limit % 10 classes take one more
    return None if limit is None else [limit // n_classes + (c < limit % n_classes) for c in range(n_classes)]


def _load_pickles(folder: Path, split: str, limit: int | None) -> tuple[np.ndarray, np.ndarray]:
    names = [f"data_batch_{i}" for i in range(1, 6)] if split == "train" else ["test_batch"]
    data, labels = [], []
    for name in names:
        with open(folder / name, "rb") as f:
            d = pickle.load(f, encoding="bytes")
        data.append(np.asarray(d[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32))
        labels.append(np.asarray(d[b"labels"], dtype=np.int64))
    images, labels = np.concatenate(data), np.concatenate(labels)
    quota = _per_class_quota(limit)
    if quota is not None:  # first quota[c] images of each class, kept in the original order
        rank = np.zeros_like(labels)
        for c in range(10):
            rank[labels == c] = np.arange((labels == c).sum())
        keep = rank < np.asarray(quota)[labels]
        images, labels = images[keep], labels[keep]
    return images, labels


def _sort_key(name: str) -> tuple:
    stem = Path(name).stem
    return (0, int(stem), "") if stem.isdigit() else (1, 0, stem)


def _jpeg_members(p: Path, splits: Sequence[str]) -> dict[str, list[tuple[int, str, bytes]]]:
    """Per split, (class index, file name, bytes) of every image, from a folder or one pass over a tar."""
    out = {s: [] for s in splits}
    if p.is_dir():
        root = _jpeg_root(p)
        for s in splits:
            for c, cls in enumerate(CIFAR10_CLASSES):
                folder = root / s / cls
                for f in sorted(folder.glob("*")) if folder.is_dir() else []:
                    if f.suffix.lower() in IMAGE_EXTENSIONS:
                        out[s].append((c, f.name, f.read_bytes()))
        return out
    with tarfile.open(p, "r|*") as tar:  # streamed: the archive is decompressed once
        for m in tar:
            parts = m.name.split("/")
            if m.isfile() and len(parts) >= 3 and parts[-3] in out and parts[-2] in CIFAR10_CLASSES:
                out[parts[-3]].append((CIFAR10_CLASSES.index(parts[-2]), parts[-1], tar.extractfile(m).read()))
    return out


def _decode(blobs: list[bytes], names: list[str]) -> np.ndarray:
    """Decode encoded images to (N, 3, H, W) uint8: torchvision's batched JPEG decoder if present, else PIL."""
    out = [None] * len(blobs)
    jpeg = [i for i, b in enumerate(blobs) if b[:2] == b"\xff\xd8"]
    try:
        with warnings.catch_warnings():  # torchvision 0.29 marks its image io as deprecated (moving to torchcodec)
            warnings.simplefilter("ignore", DeprecationWarning)
            from torchvision.io import ImageReadMode, decode_jpeg
            for s in range(0, len(jpeg), 4096):  # about 3x faster than PIL for 32 x 32 JPEGs
                idx = jpeg[s:s + 4096]
                tensors = [torch.frombuffer(bytearray(blobs[i]), dtype=torch.uint8) for i in idx]
                for i, img in zip(idx, decode_jpeg(tensors, mode=ImageReadMode.RGB)):
                    out[i] = img.numpy()
    except (ImportError, RuntimeError):  # no torchvision decoder, or a file it rejects: PIL below
        pass
    for i in (i for i, o in enumerate(out) if o is None):
        try:
            out[i] = _pil_to_rgb(Image.open(io.BytesIO(blobs[i]))).transpose(2, 0, 1)
        except OSError as e:
            raise ValueError(f"load_cifar10: cannot decode image {names[i]!r}: {e}") from e
    sizes = {o.shape for o in out}
    if len(sizes) > 1:
        bad = next(n for n, o in zip(names, out) if o.shape != out[0].shape)
        raise ValueError(f"load_cifar10: all images must have one size, {bad!r} is {out[0].shape}; sizes seen {sizes}")
    return np.stack(out) if out else np.zeros((0, 3, 32, 32), np.uint8)


def _select_and_decode(members: list, limit: int | None) -> tuple[np.ndarray, np.ndarray]:
    by_class = [sorted((m for m in members if m[0] == c), key=lambda m: _sort_key(m[1])) for c in range(10)]
    quota = _per_class_quota(limit) or [len(b) for b in by_class]
    # interleave the classes (k-th image of class 0, 1, ..., 9, then k+1 ...) so that prefixes are balanced
    chosen = sorted(((k, c) for c in range(10) for k in range(min(quota[c], len(by_class[c])))))
    picked = [by_class[c][k] for k, c in chosen]
    images = _decode([m[2] for m in picked], [m[1] for m in picked])
    return images, np.asarray([m[0] for m in picked], dtype=np.int64)


def _source_key(p: Path, split: str, limit: int | None) -> str:
    stats = [p] if p.is_file() else [p] + sorted(q for q in p.rglob("*") if q.is_dir())
    ident = "|".join(f"{q.resolve()}:{q.stat().st_size}:{q.stat().st_mtime_ns}" for q in stats)
    return hashlib.sha1(f"{ident}|{split}|{limit}".encode()).hexdigest()[:16]


def _save_npz(path: Path, **arrays) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as f:  # written under a temporary name, then renamed: atomic
        np.savez(f, **arrays)
    os.replace(tmp, path)


def load_cifar10(path=None, split: str = "train", limit: int | None = None, cache_dir=None,
                 download: bool = True) -> ImageSet:
    """CIFAR-10 from `path`, $COLORKIT_CIFAR10, the cache dir or a download; JPEG copies are decoded once, cached."""
    if split not in ("train", "test"):
        raise ValueError(f"load_cifar10: split must be 'train' or 'test', got {split!r}")
    if limit is not None and (not isinstance(limit, int) or limit <= 0):
        raise ValueError(f"load_cifar10: limit must be a positive int or None, got {limit!r}")
    p = find_cifar10(path, cache_dir, download)
    if p is None:
        raise FileNotFoundError(_not_found_message(cache_dir))
    if not _is_cifar_path(p):
        raise ValueError(f"load_cifar10: {str(p)!r} is not CIFAR-10: expected a cifar-10-batches-py folder "
                         "(data_batch_1 ...), a folder train/<class>/*.jpg, test/<class>/*.jpg or a .tar.gz of it")
    if p.is_dir() and _is_pickle_dir(p / "cifar-10-batches-py"):
        p = p / "cifar-10-batches-py"
    if _is_pickle_dir(p):
        images, labels = _load_pickles(p, split, limit)
        name = "CIFAR-10"
    else:
        cache = {s: _cache_dir(cache_dir) / f"cifar10-jpeg-{_source_key(p, s, limit)}.npz" for s in ("train", "test")}
        if not cache[split].is_file():
            # a full load decodes both splits in the one pass over the archive and caches both
            todo = [s for s in cache if s == split or (limit is None and not cache[s].is_file())]
            for s, members in _jpeg_members(p, todo).items():
                images, labels = _select_and_decode(members, limit)
                if len(images) == 0 and s == split:
                    raise ValueError(f"load_cifar10: no {s}/<class>/*.jpg images found in {str(p)!r}")
                if len(images):
                    _save_npz(cache[s], images=images, labels=labels)
        with np.load(cache[split]) as z:
            images, labels = z["images"], z["labels"]
        name = JPEG_NAME
    return ImageSet(torch.from_numpy(images), torch.from_numpy(labels), list(CIFAR10_CLASSES), name, str(p))


# ---------------------------------------------------------------- photos

@dataclass
class Photos:
    """Photos at native size: `images` are (3, H, W) uint8 tensors read from `paths`; `skipped` could not be read."""

    images: list[torch.Tensor]
    paths: list[Path]
    skipped: list[tuple[Path, str]]  # (file, reason)


def _pil_to_rgb(im: Image.Image) -> np.ndarray:
    """Any PIL image to (H, W, 3) uint8: 16-bit scaled (not clipped), alpha composited on white, CMYK etc. converted."""
    # (16-bit RGB PNGs arrive here already as 8-bit "RGB": Pillow keeps the high byte, i.e. scales by 1/256)
    if im.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N"):  # 16-bit grey (PNG): 0..65535 -> 0..255
        gray = np.rint(np.asarray(im, dtype=np.float64) / 257.0).clip(0, 255).astype(np.uint8)
        return np.repeat(gray[..., None], 3, axis=2)
    if im.mode == "F":  # float grey: [0, 1] when it fits, else 0..255
        f = np.asarray(im, dtype=np.float64)
        gray = np.rint(f * (255.0 if f.max() <= 1.0 else 1.0)).clip(0, 255).astype(np.uint8)
        return np.repeat(gray[..., None], 3, axis=2)
    if im.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in im.info:
        rgba = im.convert("RGBA")
        im = Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba)
    return np.asarray(im.convert("RGB"), dtype=np.uint8)


def _read_photo(path: Path, size: int | None) -> np.ndarray:
    with Image.open(path) as im:
        im.load()  # decode now so that truncated / corrupt files fail here
        im = ImageOps.exif_transpose(im)
        rgb = _pil_to_rgb(im)
    if size is not None:  # shorter side -> size, centre crop
        rgb = np.asarray(ImageOps.fit(Image.fromarray(rgb), (size, size), method=Image.Resampling.BICUBIC))
    return rgb


def _photo_files(paths) -> list[Path]:
    items = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
    files = []
    for item in map(Path, items):
        if item.is_dir():
            files += sorted(f for f in item.rglob("*") if f.is_file() and f.suffix.lower() in IMAGE_EXTENSIONS)
        elif item.is_file():
            files.append(item)
        else:
            raise FileNotFoundError(f"load_photos: {str(item)!r} is neither an image file nor a folder")
    return files


def load_photos(paths, size: int | None = None, on_error: str = "raise") -> Photos | ImageSet:
    """Read a folder (recursively) or a list of image files as RGB uint8; size=None -> Photos, size=int -> ImageSet."""
    if on_error not in ("raise", "skip"):
        raise ValueError(f"load_photos: on_error must be 'raise' or 'skip', got {on_error!r}")
    if size is not None and (not isinstance(size, int) or size <= 0):
        raise ValueError(f"load_photos: size must be a positive int or None, got {size!r}")
    images, kept, skipped = [], [], []
    for f in _photo_files(paths):
        try:
            rgb = _read_photo(f, size)
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as e:
            if on_error == "raise":
                raise ValueError(f"load_photos: cannot read image {str(f)!r}: {e}") from e
            warnings.warn(f"load_photos: skipping unreadable image {str(f)!r}: {e}", stacklevel=2)
            skipped.append((f, str(e)))
            continue
        images.append(torch.from_numpy(np.ascontiguousarray(rgb.transpose(2, 0, 1))))
        kept.append(f)
    if size is None:
        return Photos(images, kept, skipped)
    if not images:
        raise ValueError(f"load_photos: no readable images in {paths!r}")
    return ImageSet(torch.stack(images), None, [], "photos", str(paths))


# ---------------------------------------------------------------- embedded photo patches

EMBEDDED_PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "motorcycle", "grace_hopper")
_GRID = 4  # every photo is cut into 4 x 4 tiles; crops never cross a tile border
_TEST_TILES = {(0, 1), (1, 3), (2, 0), (3, 2)}  # one tile per row and column is held out for split="test"


def _embedded_photo(name: str) -> np.ndarray:
    if name == "grace_hopper":  # matplotlib's sample data
        import matplotlib
        with Image.open(Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg") as im:
            return np.asarray(im.convert("RGB"))
    import skimage.data
    img = skimage.data.stereo_motorcycle()[0] if name == "motorcycle" else getattr(skimage.data, name)()
    return np.asarray(img)[..., :3]


_PHOTO_CACHE: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}


def _embedded_photos() -> tuple[list[str], list[tuple[torch.Tensor, torch.Tensor]]]:
    """The shipped photos that load offline here, each as float (1, 3, H, W) at full and half resolution."""
    if not _PHOTO_CACHE:
        for name in EMBEDDED_PHOTOS:
            try:
                full = torch.from_numpy(_embedded_photo(name).transpose(2, 0, 1).copy()).float()[None]
                _PHOTO_CACHE[name] = (full, F.avg_pool2d(full, 2))
            except Exception as e:  # a missing optional file: use the others
                warnings.warn(f"embedded_images: photo {name!r} unavailable ({e}); using the others")
        if not _PHOTO_CACHE:
            raise FileNotFoundError("embedded_images: none of the embedded photos loads; "
                                    "install scikit-image (skimage.data) or pass a data set")
    return list(_PHOTO_CACHE), list(_PHOTO_CACHE.values())


def embedded_images(n: int, size: int = 32, split: str = "train", seed: int = 0) -> ImageSet:
    """n random crops, resized to size x size, of photos shipped in scikit-image/matplotlib; split tiles disjoint."""
    from torchvision.ops import roi_align  # batched crop-and-resize
    if split not in ("train", "test"):
        raise ValueError(f"embedded_images: split must be 'train' or 'test', got {split!r}")
    if not isinstance(n, int) or n <= 0 or not isinstance(size, int) or size <= 0:
        raise ValueError(f"embedded_images: n and size must be positive ints, got n={n!r}, size={size!r}")
    names, photos = _embedded_photos()
    g = torch.Generator().manual_seed(2 * seed + (split == "test"))
    tiles = torch.tensor([(r, c) for r in range(_GRID) for c in range(_GRID)
                          if ((r, c) in _TEST_TILES) == (split == "test")])  # (T, 2) tile row, column
    labels = torch.arange(n) % len(photos)  # round robin over the photos: every prefix is balanced
    images = torch.empty(n, 3, size, size, dtype=torch.uint8)
    for i, (full, half) in enumerate(photos):
        idx = (labels == i).nonzero().squeeze(1)  # (k,)
        th, tw = full.shape[2] // _GRID, full.shape[3] // _GRID
        m = 2  # margin: bilinear samples (also from the half-resolution photo) stay inside the tile
        hi = min(th, tw) - 2 * m
        lo = min(hi, max(size, hi // 3))
        tile = tiles[torch.randint(len(tiles), (len(idx),), generator=g)]  # (k, 2)
        side = lo + torch.rand(len(idx), generator=g) * (hi - lo)  # (k,) crop side in pixels
        x = tile[:, 1] * tw + m + torch.rand(len(idx), generator=g) * (tw - 2 * m - side)
        y = tile[:, 0] * th + m + torch.rand(len(idx), generator=g) * (th - 2 * m - side)
        boxes = torch.stack([torch.zeros_like(x), x, y, x + side, y + side], dim=1)  # (k, 5) photo 0, x1 y1 x2 y2
        big = side > 2 * size  # shrinking by more than 2: sample the half-resolution photo (less aliasing)
        for level, sel, scale in ((full, ~big, 1.0), (half, big, 0.5)):
            # each output pixel averages 2 x 2 bilinear samples; aligned=True: pixel i covers [i, i + 1)
            crops = roi_align(level, boxes[sel], size, spatial_scale=scale, sampling_ratio=2, aligned=True)
            images[idx[sel]] = crops.round().clamp(0, 255).to(torch.uint8)  # (k', 3, size, size)
    return ImageSet(images, labels, names, "embedded photo patches",
                    f"random crops of {', '.join(names)} (scikit-image / matplotlib sample data), split={split}")



def sample_photo(name: str = "coffee", size: int | None = 256) -> torch.Tensor:
    """One shipped photo (see EMBEDDED_PHOTOS) as a float (1, 3, H, W) batch in [0, 1], centre-cropped to size."""
    if name not in EMBEDDED_PHOTOS:
        raise ValueError(f"sample_photo: unknown photo {name!r}; valid: {', '.join(EMBEDDED_PHOTOS)}")
    rgb = torch.from_numpy(_embedded_photo(name).transpose(2, 0, 1).copy())[None].float() / 255.0
    if size is not None:
        side = min(rgb.shape[-2:])
        top, left = (rgb.shape[-2] - side) // 2, (rgb.shape[-1] - side) // 2
        rgb = F.interpolate(rgb[..., top:top + side, left:left + side], size=(size, size), mode="area")
    return rgb

# ---------------------------------------------------------------- one entry point

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
        if _is_cifar_path(p):
            return _resize(load_cifar10(p, split, limit, cache_dir, download=False), size)
        photos = load_photos(p / split if (p / split).is_dir() else p, size=size)
        return photos if limit is None else photos.subset(limit)
    raise ValueError(f"load_dataset: data={data!r} is neither a known name nor an existing path; "
                     f"valid forms: {_DATA_FORMS}")


# ---------------------------------------------------------------- augmentation and batches

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
    oy = torch.randint(0, 2 * p + 1, (b,), generator=generator, device=gen_device).to(batch.device)  # (B,)
    ox = torch.randint(0, 2 * p + 1, (b,), generator=generator, device=gen_device).to(batch.device)
    flips = (torch.rand(b, generator=generator, device=gen_device) < 0.5).to(batch.device) if flip else \
        torch.zeros(b, dtype=torch.bool, device=batch.device)
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
    stop = n - n % batch_size if drop_last else n
    for s in range(0, stop, batch_size):
        idx = order[s:s + batch_size].to(images.device)
        x = images[idx].to(device, non_blocking=True)
        y = None if labels is None else labels[idx.to(labels.device)].to(device, non_blocking=True)
        yield x, y
