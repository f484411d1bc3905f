"""Where colorize writes: output names that depend on the photo alone, the output folder, whole PNG files that
never replace one that appeared meanwhile (unless asked to)."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Sequence

import torch

from .data.photos import IMAGE_EXTENSIONS

SUFFIX = "_colorized.png"


def output_name(photo: str | os.PathLike, stems: dict[str, int] | None = None) -> str:
    """A photo's output name, from its file alone: <stem>_colorized.png, or <name>_colorized.png for stem twins.

    a.jpg -> a.jpg_colorized.png when another image file in its folder has the stem a (case aside), whether the
    photo is given alone or in its folder, so that a.jpg, a.png and a_2.png never share or swap outputs.
    stems: how many image files of each lower-cased stem its folder holds (read from the folder when None).
    """
    photo = Path(photo)
    if stems is None:
        stems = _folder_stems(photo.parent)
    own = 1 if photo.suffix.lower() in IMAGE_EXTENSIONS else 0  # the photo itself, when it is counted
    return (photo.name if stems.get(photo.stem.lower(), 0) > own else photo.stem) + SUFFIX


def _folder_stems(folder: Path) -> dict[str, int]:
    """How many image files (by extension) of each lower-cased stem a folder holds."""
    counts: dict[str, int] = {}
    try:
        for p in folder.iterdir():
            if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file():
                counts[p.stem.lower()] = counts.get(p.stem.lower(), 0) + 1
    except OSError:  # an unlistable folder: the file given is taken alone
        pass
    return counts


def output_paths(photos: Sequence[Path], out_dir: str | os.PathLike) -> list[Path]:
    """out_dir/output_name(photo) per photo (two photos may share one: _plan skips the second); never an input."""
    out_dir, folders, targets = Path(out_dir), {}, []
    inputs = {p.resolve() for p in photos}
    for photo in photos:
        folder = photo.parent.resolve()
        stems = folders[folder] = folders[folder] if folder in folders else _folder_stems(photo.parent)
        target = out_dir / output_name(photo, stems)
        if target.resolve() in inputs or any(target.exists() and target.samefile(p) for p in photos):
            raise ValueError(f"colorize_photos: the output for {photo} would overwrite the input photo {target}; "
                             "choose another out_dir")
        targets.append(target)
    return targets


def write_png(image: torch.Tensor, target: Path, overwrite: bool) -> None:
    """Write a uint8 (3, H, W) image as PNG, whole or not at all (a temporary file, then a rename or link).

    Without overwrite the file is created exclusively (a hard link): one that appeared meanwhile, say from another
    run, is kept and FileExistsError raised.
    """
    from PIL import Image

    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            Image.fromarray(image.permute(1, 2, 0).contiguous().numpy()).save(f, format="PNG")
        if overwrite:
            os.replace(tmp, target)
            return
        try:
            os.link(tmp, target)
        except FileExistsError:
            raise
        except OSError:  # a file system without hard links: an exclusive create, then the bytes
            with open(target, "xb") as f:
                f.write(Path(tmp).read_bytes())
    finally:
        Path(tmp).unlink(missing_ok=True)


def make_out_dir(out_dir: Path, create: bool) -> None:
    """Check (create=False) or create the output folder; a one-line ValueError if it is a file or uncreatable."""
    try:
        blocker = next((f for f in (out_dir, *out_dir.parents) if f.exists() and not f.is_dir()), None)
        if blocker is None and create:
            out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # no permission, a name too long, a read-only file system
        raise ValueError(f"colorize_photos: cannot create output folder {out_dir}: {exc.strerror or exc}") from exc
    if blocker is not None:
        where = "is an existing file" if blocker == out_dir else f"lies under {blocker}, which is a file"
        raise ValueError(f"colorize_photos: output folder {out_dir} {where}; expected a folder")
    if create and not os.access(out_dir, os.W_OK | os.X_OK):
        raise ValueError(f"colorize_photos: output folder {out_dir} is not writable")
