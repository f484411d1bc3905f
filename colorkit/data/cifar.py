"""CIFAR-10 from torchvision's pickles, the JPEG copy (folder or .tar.gz) or a download; decoded once, cached."""
from __future__ import annotations

import hashlib
import io
import os
import pickle
import socket
import tarfile
import threading
import warnings
import zlib
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from PIL import Image

from .._files import atomic_write
from .imageset import ImageSet
from .photos import IMAGE_EXTENSIONS, pil_to_rgb

CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
ENV_CIFAR10, ENV_CACHE = "COLORKIT_CIFAR10", "COLORKIT_CACHE"
JPEG_NAME = "CIFAR-10 (JPEG copy)"


def cache_dir_path(cache_dir: str | os.PathLike | None = None) -> Path:
    """colorkit's cache folder: `cache_dir`, else $COLORKIT_CACHE, else ~/.cache/colorkit."""
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


def is_cifar_path(p: Path) -> bool:
    """True when p is a CIFAR-10 archive or folder in one of the three layouts load_cifar10 reads."""
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
    cache = cache_dir_path(cache_dir)
    if _is_pickle_dir(cache / "cifar-10-batches-py"):
        return cache / "cifar-10-batches-py"
    if download and _online():
        import torchvision  # the downloader checks the md5 and extracts both splits into <cache>/cifar-10-batches-py
        print(f"Downloading CIFAR-10 (163 MB) from {CIFAR10_URL} into {cache} ...")
        torchvision.datasets.CIFAR10(root=str(cache), train=True, download=True)
        return cache / "cifar-10-batches-py"
    return None


def _not_found_message(cache_dir) -> str:
    cache = cache_dir_path(cache_dir)
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


def _latin1(text: str, encoding: str = "utf-8") -> bytes:
    """_codecs.encode as Python 3's protocol-2 pickles use it for bytes, and for nothing else."""
    if encoding not in ("latin1", "latin-1"):
        raise pickle.UnpicklingError(f"_codecs.encode with encoding {encoding!r}")
    return text.encode("latin1")


def _cifar_globals() -> dict[tuple[str, str], object]:
    """The only globals a CIFAR-10 batch refers to: numpy's array rebuilders, ndarray, dtype, a latin1 encoder."""
    from numpy._core.multiarray import _reconstruct
    from numpy._core.numeric import _frombuffer

    found = {("_codecs", "encode"): _latin1, ("numpy", "ndarray"): np.ndarray, ("numpy", "dtype"): np.dtype}
    for module in ("numpy.core", "numpy._core"):  # pickles written by numpy 1 and by numpy 2
        found[(f"{module}.multiarray", "_reconstruct")] = _reconstruct
        found[(f"{module}.numeric", "_frombuffer")] = _frombuffer
    return found


class _CifarUnpickler(pickle.Unpickler):
    """An unpickler that builds only what CIFAR-10 batches hold: dicts, lists, bytes, str, ints, numpy arrays."""

    def find_class(self, module: str, name: str) -> object:
        allowed = _cifar_globals()
        if (module, name) not in allowed:
            raise pickle.UnpicklingError(f"it refers to {module}.{name}, which CIFAR-10 batches never hold")
        return allowed[(module, name)]


def read_cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """One torchvision CIFAR-10 batch file as (N, 3, 32, 32) uint8 images and (N,) int64 labels, read safely."""
    try:
        with open(path, "rb") as f:
            d = _CifarUnpickler(f, encoding="bytes").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError, KeyError) as e:
        reason = " ".join(str(e).split()) or type(e).__name__
        raise ValueError(f"load_cifar10: refusing {path}: not a CIFAR-10 batch pickle ({reason})") from e
    if not isinstance(d, dict) or not isinstance(d.get(b"data"), (np.ndarray, list)) or b"labels" not in d:
        raise ValueError(f"load_cifar10: {path} is not a CIFAR-10 batch: expected a dict with b'data' and "
                         f"b'labels', got {type(d).__name__}")
    try:
        images = np.asarray(d[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32)
        labels = np.asarray(d[b"labels"], dtype=np.int64).reshape(-1)
    except (ValueError, TypeError) as e:
        raise ValueError(f"load_cifar10: {path} is not a CIFAR-10 batch: {' '.join(str(e).split())}") from e
    if len(images) != len(labels) or (len(labels) and (labels.min() < 0 or labels.max() > 9)):
        raise ValueError(f"load_cifar10: {path} is not a CIFAR-10 batch: {len(images)} images, {len(labels)} "
                         "labels; expected as many labels as images, each in 0..9")
    return images, labels


def _load_pickles(folder: Path, split: str, limit: int | None) -> tuple[np.ndarray, np.ndarray]:
    names = [f"data_batch_{i}" for i in range(1, 6)] if split == "train" else ["test_batch"]
    data, labels = [], []
    for name in names:
        if not (folder / name).is_file():
            raise FileNotFoundError(f"load_cifar10: {folder / name} is missing; a cifar-10-batches-py folder "
                                    "holds data_batch_1 ... data_batch_5 and test_batch")
        images, batch_labels = read_cifar_batch(folder / name)
        data.append(images)
        labels.append(batch_labels)
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
    try:
        with tarfile.open(p, "r|*") as tar:  # streamed: the archive is decompressed once
            for m in tar:
                parts = m.name.split("/")
                if m.isfile() and len(parts) >= 3 and parts[-3] in out and parts[-2] in CIFAR10_CLASSES:
                    out[parts[-3]].append((CIFAR10_CLASSES.index(parts[-2]), parts[-1], tar.extractfile(m).read()))
    except (tarfile.TarError, EOFError, OSError, zlib.error) as e:  # garbage, truncated or corrupt archives
        reason = " ".join(str(e).split()) or type(e).__name__
        raise ValueError(f"load_cifar10: {p} is not a readable tar archive, or is truncated ({reason})") from e
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
            out[i] = pil_to_rgb(Image.open(io.BytesIO(blobs[i]))).transpose(2, 0, 1)
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
    atomic_write(path, lambda f: np.savez(f, **arrays))


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
    if not is_cifar_path(p):
        raise ValueError(f"load_cifar10: {str(p)!r} is not CIFAR-10: expected a cifar-10-batches-py folder "
                         "(data_batch_1 ...), a folder train/<class>/*.jpg, test/<class>/*.jpg or a .tar.gz of it")
    if p.is_dir() and _is_pickle_dir(p / "cifar-10-batches-py"):
        p = p / "cifar-10-batches-py"
    if _is_pickle_dir(p):
        images, labels = _load_pickles(p, split, limit)
        name = "CIFAR-10"
    else:
        cache = {s: cache_dir_path(cache_dir) / f"cifar10-jpeg-{_source_key(p, s, limit)}.npz" for s in ("train", "test")}
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
