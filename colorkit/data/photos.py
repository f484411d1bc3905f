"""Photos: folders or files of any format read as RGB uint8, and the embedded sample photos (offline default)."""
from __future__ import annotations

import math
import os
import warnings
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageOps

from .imageset import ImageSet

DEFAULT_MAX_PIXELS = 40_000_000  # 40 megapixels: a larger photo is refused before decoding (colorize needs ~140 B/px)
IMAGE_EXTENSIONS = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm"}


@dataclass
class Photos:
    """Photos at native size: `images` are (3, H, W) uint8 tensors read from `paths`; `skipped` could not be read."""

    images: list[torch.Tensor]
    paths: list[Path]
    skipped: list[tuple[Path, str]]  # (file, reason)


def pil_to_rgb(im: Image.Image) -> np.ndarray:
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


def _check_budget(im: Image.Image, max_pixels: int | None) -> int:
    """The pixel count of an opened (not yet decoded) image; ValueError when it is over max_pixels."""
    pixels = im.width * im.height
    if max_pixels is not None and pixels > max_pixels:
        raise ValueError(f"{im.width} x {im.height} = {pixels / 1e6:.1f} megapixels, over the budget of "
                         f"{max_pixels / 1e6:g} megapixels (max_pixels); not decoded")
    return pixels


def photo_pixels(path: str | os.PathLike, max_pixels: int | None = None) -> int:
    """Width x height of an image file from its header alone (nothing decoded); ValueError over max_pixels."""
    with Image.open(path) as im:
        return _check_budget(im, max_pixels)


def _read_photo(path: Path, size: int | None, max_pixels: int | None = None) -> np.ndarray:
    with Image.open(path) as im:
        _check_budget(im, max_pixels)  # from the header, before any pixel is decoded
        im.load()  # decode now so that truncated / corrupt files fail here
        im = ImageOps.exif_transpose(im)
        rgb = pil_to_rgb(im)
    if size is not None:  # shorter side -> size, centre crop
        rgb = np.asarray(ImageOps.fit(Image.fromarray(rgb), (size, size), method=Image.Resampling.BICUBIC))
    return rgb


def photo_files(paths, recursive: bool = True, fn: str = "load_photos") -> list[Path]:
    """The files given and the image files (by extension) in each folder given, sorted per folder, each file once.

    recursive: also in sub-folders (training data, priors); `colorkit colorize` lists a folder's own files only, as
    it writes one flat folder of outputs named after the photos."""
    items = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
    files = []
    for item in map(Path, items):
        if item.is_dir():
            found = item.rglob("*") if recursive else item.iterdir()
            files += sorted(f for f in found if f.is_file() and f.suffix.lower() in IMAGE_EXTENSIONS)
        elif item.is_file():
            files.append(item)
        else:
            raise FileNotFoundError(f"{fn}: {str(item)!r} is neither an image file nor a folder")
    return list(dict.fromkeys(files))


def load_photos(paths, size: int | None = None, on_error: str = "raise",
                max_pixels: int | None = DEFAULT_MAX_PIXELS) -> Photos | ImageSet:
    """Read a folder (recursively) or image files as RGB uint8; size=None -> Photos, size=int -> ImageSet.

    Files over max_pixels (width x height, read from the header before decoding; None: no limit) are refused.
    """
    if on_error not in ("raise", "skip"):
        raise ValueError(f"load_photos: on_error must be 'raise' or 'skip', got {on_error!r}")
    if size is not None and (not isinstance(size, int) or size <= 0):
        raise ValueError(f"load_photos: size must be a positive int or None, got {size!r}")
    if max_pixels is not None and (not isinstance(max_pixels, int) or max_pixels <= 0):
        raise ValueError(f"load_photos: max_pixels must be a positive int or None, got {max_pixels!r}")
    images, kept, skipped, files = [], [], [], photo_files(paths)
    for f in files:
        try:
            rgb = _read_photo(f, size, max_pixels)
        except (OSError, ValueError, SyntaxError, MemoryError, Image.DecompressionBombError) as e:
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
        where = str(paths) if isinstance(paths, (str, os.PathLike)) else f"the {len(files)} file(s) given"
        first = f" (first: {skipped[0][0]}: {skipped[0][1]})" if skipped else ""
        raise ValueError(f"load_photos: no readable images in {where}{first}")
    return ImageSet(torch.stack(images), None, [], "photos", str(paths))


# ---------------------------------------------------------------- training on a folder of your own photos

PHOTO_LOAD_SCALE = 1.5  # photos are loaded at 1.5x the crop side (shorter side, centre square), as ImageNet's 256 px
# photos give 176-224 px crops: a crop sees most of the scene at the scale the model is later shown whole photos


def random_crops(images: torch.Tensor, size: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """One size x size crop at a random place of each image of a (B, C, H, W) batch, batched on its device."""
    if images.dim() != 4:
        raise ValueError(f"random_crops: expected images as a (B, C, H, W) tensor, got shape {tuple(images.shape)}")
    B, C, H, W = images.shape
    if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= min(H, W):
        raise ValueError(f"random_crops: size must be an int in [1, {min(H, W)}] (the images are {H} x {W}), "
                         f"got {size!r}")
    if (H, W) == (size, size):
        return images
    kw = dict(generator=generator, device=images.device)
    top = torch.randint(0, H - size + 1, (B,), **kw)
    left = torch.randint(0, W - size + 1, (B,), **kw)
    steps = torch.arange(size, device=images.device)
    rows, cols = top[:, None] + steps, left[:, None] + steps  # (B, size) each
    b = torch.arange(B, device=images.device)[:, None, None, None]
    c = torch.arange(C, device=images.device)[None, :, None, None]
    return images[b, c, rows[:, None, :, None], cols[:, None, None, :]]  # (B, C, size, size)


def photo_training_sets(folder: str | os.PathLike, size: int, multiple: int = 1, limit: int | None = None,
                        limit_test: int | None = None) -> tuple[ImageSet, ImageSet]:
    """Training and validation sets of a folder of photos for random size x size crops (TrainConfig.crop).

    Photos are loaded at PHOTO_LOAD_SCALE x size (shorter side, centre square; rounded up to `multiple`), unreadable
    ones skipped with a warning. folder/train and folder/test are used when both exist; else every 10th photo is
    held out for validation (with fewer than 10 photos the training photos validate too).
    """
    root = Path(folder).expanduser()
    if not root.is_dir():
        raise FileNotFoundError(f"photo_training_sets: folder {str(root)!r} does not exist")
    if isinstance(size, bool) or not isinstance(size, int) or size < 1 or size % multiple:
        raise ValueError(f"photo_training_sets: size must be a positive multiple of {multiple} (the model's input "
                         f"multiple), got {size!r}")
    split = (root / "train").is_dir() and (root / "test").is_dir()
    if split:
        train_files, test_files = photo_files(root / "train"), photo_files(root / "test")
    else:
        files = photo_files(root)
        held = files[::10] if len(files) >= 10 else []
        train_files, test_files = [f for f in files if f not in held], held or files
    for files, part in ((train_files, "train"), (test_files, "test")):
        if not files:
            where = f"{root / part} (with train/ and test/ both there, test/ validates)" if split else str(root)
            raise ValueError(f"photo_training_sets: no image files ({', '.join(sorted(IMAGE_EXTENSIONS))}) in "
                             f"{where}")
    side = math.ceil(size * PHOTO_LOAD_SCALE / multiple) * multiple
    sets = []
    for files, n, split in ((train_files, limit, "train"), (test_files, limit_test, "test")):
        s = load_photos(files[:n] if n else files, size=side, on_error="skip")
        sets.append(replace(s, name=f"photos in {root.resolve()}", source=f"{len(s)} photos of {root} ({split}) "
                            f"at {side} px for random {size} px crops"))
    return sets[0], sets[1]


SAMPLE_PHOTOS = ("astronaut", "chelsea", "coffee", "rocket")  # colour photos bundled with scikit-image


def write_sample_photos(folder: str | os.PathLike, names: Sequence[str] = SAMPLE_PHOTOS) -> Path:
    """Write colour photos bundled with scikit-image (and matplotlib's grace_hopper) into folder as JPEGs."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        if not (folder / f"{name}.jpg").is_file():
            Image.fromarray(_embedded_photo(name)).save(folder / f"{name}.jpg", quality=92)
    return folder


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
