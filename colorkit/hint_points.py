"""Hints a person gives: points (x, y, colour) checked against an image, painted into hint maps, and hint files.

A colour is "#rrggbb" (sRGB; its a and b are used) or Lab (a, b). `hints_from_points` gives the (ab_hint, mask) maps of
colorkit.hints; `load_hints_file` reads the HINTS.json of `colorkit colorize --hints` (one list, or one per photo).
"""
from __future__ import annotations

import json
import math
import os
import re
import stat
from pathlib import Path
from typing import Any, Sequence

import torch

from . import color
from .hints import paint_hints

_HEX = re.compile(r"#[0-9a-fA-F]{6}")


def _is_number(value: Any) -> bool:
    """An int or float, not a bool."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _finite(value: Any) -> bool:
    """A finite number; an int of any size is finite (math.isfinite would overflow on a 400-digit one)."""
    return _is_number(value) and (isinstance(value, int) or math.isfinite(value))


def _short(value: Any, limit: int = 60) -> str:
    """repr(value) cut to `limit` characters, for one-line messages (a huge int gives its digit count)."""
    try:
        text = repr(value)
    except ValueError:  # an int beyond Python's str conversion limit
        text = f"<an int of {len(str(value.bit_length()))}+ digits>" if isinstance(value, int) else type(value).__name__
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _check_color(value: Any, where: str) -> None:
    """A one-line ValueError unless value is "#rrggbb" or (a, b) with |a|, |b| <= 128 (so finite)."""
    if isinstance(value, str):
        if not _HEX.fullmatch(value):
            raise ValueError(f"{where}: expected a colour as '#rrggbb' or (a, b), got {_short(value)}")
        return
    if not (isinstance(value, Sequence) and len(value) == 2 and all(_is_number(v) and abs(v) <= 128 for v in value)):
        raise ValueError(f"{where}: expected a colour as '#rrggbb' or (a, b) with finite |a|, |b| <= 128, "
                         f"got {_short(value)}")


def _to_ab(values: Sequence[Any]) -> list[tuple[float, float]]:
    """Checked colours as (a, b): every "#rrggbb" among them converted by one batched rgb_to_lab call."""
    out = [None if isinstance(v, str) else (float(v[0]), float(v[1])) for v in values]
    hexes = [i for i, v in enumerate(values) if isinstance(v, str)]
    if hexes:
        rgb = torch.tensor([[int(values[i][k:k + 2], 16) for k in (1, 3, 5)] for i in hexes], dtype=torch.float64)
        lab = color.rgb_to_lab((rgb / 255.0).T.reshape(1, 3, len(hexes), 1))[0, 1:, :, 0]  # (2, K) a, b
        for i, a, b in zip(hexes, *lab.tolist()):
            out[i] = (a, b)
    return out


def parse_color(value: Any, where: str = "color") -> tuple[float, float]:
    """A hint colour as Lab (a, b): from "#rrggbb" (sRGB, its a and b; its lightness is ignored) or from (a, b)."""
    _check_color(value, where)
    return _to_ab([value])[0]


def check_points(points: Sequence[tuple], size: int | tuple[int, int],
                 fn: str = "hints_from_points") -> list[tuple[int, int, float, float]]:
    """User points [(x, y, colour)] checked against an image of `size` (H, W): [(row, column, a, b)].

    At most one point a pixel (H * W); the colours are converted together (one rgb_to_lab call).
    """
    H, W = (size, size) if isinstance(size, int) else tuple(size)
    if not isinstance(points, (list, tuple)):
        raise ValueError(f"{fn}: expected points as a list of (x, y, colour), got {type(points).__name__}")
    if len(points) > H * W:
        raise ValueError(f"{fn}: {len(points):,} points for a {W} x {H} image; expected at most {H * W:,} "
                         "(one a pixel)")
    cells = []
    for i, point in enumerate(points):
        if not isinstance(point, (tuple, list)) or len(point) != 3:
            raise ValueError(f"{fn}: point {i} must be (x, y, colour), got {_short(point)}")
        x, y, value = point
        if not (_finite(x) and _finite(y)):
            raise ValueError(f"{fn}: point {i} has non-numeric or non-finite coordinates x={_short(x)}, "
                             f"y={_short(y)}")
        col, row = round(x), round(y)
        if not (0 <= col < W and 0 <= row < H):
            raise ValueError(f"{fn}: point {i} (x={_short(x)}, y={_short(y)}) lies outside the {W} x {H} image; "
                             f"expected 0 <= x < {W} and 0 <= y < {H}")
        _check_color(value, f"{fn}: point {i}")
        cells.append((row, col))
    return [(row, col, a, b) for (row, col), (a, b) in zip(cells, _to_ab([p[2] for p in points]))]


def hints_from_points(points: Sequence[tuple], size: int | tuple[int, int], patch: int = 1,
                      device: torch.device | str | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """User hints [(x, y, (a, b)) or (x, y, "#rrggbb")] in pixel coordinates -> (ab_hint (1, 2, H, W), mask).

    x is the column, y the row (0-based); each hint fills a patch x patch square centred on its pixel (clipped).
    """
    H, W = (size, size) if isinstance(size, int) else tuple(size)
    if isinstance(patch, bool) or not isinstance(patch, int) or patch < 1:
        raise ValueError(f"hints_from_points: patch must be an int >= 1, got {patch!r}")
    rows = check_points(points, (H, W))
    if not rows:
        z = torch.zeros(1, 3, H, W, device=device)
        return z[:, :2], z[:, 2:]
    t = torch.tensor(rows, dtype=torch.float64, device=device)  # (K, 4): row, column, a, b
    start = t[:, :2].long() - (patch - 1) // 2  # (K, 2) top, left of the centred square
    corner = start.clamp(min=0)
    side = (torch.minimum(start + patch, torch.tensor([H, W], device=t.device)) - corner).amin(dim=1)  # clipped
    return paint_hints(t[None, :, 2:].float(), corner[None, :, 0], corner[None, :, 1], side[None],
                       torch.ones(1, len(rows), dtype=torch.bool, device=t.device), (H, W))


# ---------------------------------------------------------------- hint files (colorkit colorize --hints)

MAX_HINTS_BYTES = 10_000_000  # a hints file over 10 MB (some 400,000 points) is refused, read no further


def _read_hints_text(path: Path) -> str:
    """A hints file's text: a regular file of at most MAX_HINTS_BYTES, read without blocking on a pipe or device."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise FileNotFoundError(f"hints: file {str(path)!r} does not exist") from None
    except OSError as exc:
        raise ValueError(f"hints: cannot open {path}: {exc.strerror or exc}") from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        what = "a folder" if stat.S_ISDIR(mode) else "not a regular file (a device, pipe or socket)"
        raise ValueError(f"hints: {path} is {what}; expected a JSON file")
    with os.fdopen(fd, "rb") as f:
        try:
            raw = f.read(MAX_HINTS_BYTES + 1)
        except OSError as exc:
            raise ValueError(f"hints: cannot read {path}: {exc.strerror or exc}") from None
    if len(raw) > MAX_HINTS_BYTES:
        raise ValueError(f"hints: {path} is larger than {MAX_HINTS_BYTES / 1e6:g} MB, the limit for a hints file")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"hints: {path} is not a readable JSON file (not UTF-8 text: {exc.reason} at byte "
                         f"{exc.start})") from None


def load_hints_file(path: str | os.PathLike) -> list[tuple] | dict[str, list[tuple]]:
    """Read HINTS.json: a list of {"x", "y", "color": "#rrggbb" | "ab": [a, b]}, or {photo_name: [...]} of them.

    Colours are returned as written (checked, not converted); coordinates are checked against a photo later.
    """
    path = Path(path)
    try:
        data = json.loads(_read_hints_text(path))
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, a number over Python's digit limit, deep nesting
        if str(exc).startswith("hints: "):
            raise
        text = " ".join(str(exc).split())[:200] or type(exc).__name__
        raise ValueError(f"hints: {path} is not a readable JSON file ({text})") from None

    def points(items: Any, where: str) -> list[tuple]:
        if not isinstance(items, list):
            raise ValueError(f"hints: {where} must be a list of points, got {type(items).__name__}")
        out = []
        for i, item in enumerate(items):
            keys = set(item) if isinstance(item, dict) else set()
            if not keys or not {"x", "y"} <= keys or len(keys & {"color", "ab"}) != 1 or keys - {"x", "y", "color", "ab"}:
                raise ValueError(f"hints: {where}[{i}] must be {{\"x\": .., \"y\": .., \"color\": \"#rrggbb\"}} or "
                                 f"{{\"x\": .., \"y\": .., \"ab\": [a, b]}}, got {_short(item)}")
            if not (_finite(item["x"]) and _finite(item["y"])):
                raise ValueError(f"hints: {where}[{i}] has non-numeric or non-finite coordinates "
                                 f"x={_short(item['x'])}, y={_short(item['y'])}")
            value = item.get("color", item.get("ab"))
            _check_color(value, f"hints: {where}[{i}]")
            out.append((item["x"], item["y"], value))
        return out

    if isinstance(data, dict):
        return {str(name): points(items, f"{path}: {_short(name)}") for name, items in data.items()}
    return points(data, str(path))


def hints_for_photos(hints: list[tuple] | dict[str, list[tuple]], photos: Sequence[Path]) -> dict[Path, list[tuple]]:
    """Which points go with which photo: a list to the one photo given, a dict by file name (or stem)."""
    if isinstance(hints, list):
        if len(photos) != 1:
            raise ValueError(f"hints: a list of points applies to one photo, got {len(photos)} photos; use "
                             "{\"photo_name\": [...], ...} for several")
        return {Path(photos[0]): hints}
    out: dict[Path, list[tuple]] = {}
    for name, points in hints.items():
        match = [p for p in photos if Path(p).name == name] or [p for p in photos if Path(p).stem == name]
        if len(match) != 1:
            names = [Path(p).name for p in photos]
            raise ValueError(f"hints: photo {_short(name)} is {'ambiguous' if match else 'not among the inputs'}; "
                             f"expected one of {', '.join(names[:10])}{', ...' if len(names) > 10 else ''}")
        out[Path(match[0])] = points
    return out
