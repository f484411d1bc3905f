"""Colour hints for user-guided colorization (Zhang et al. 2017, "Real-Time User-Guided Image Colorization with
Learned Deep Priors"): simulated from the ground truth for training, or placed by a person.

A hint map is ab_hint (B, 2, H, W) in Lab units, zero where there is no hint, and mask (B, 1, H, W), 1 where there
is one. A hint model (`model.hint_channels == 3`) takes torch.cat([L, ab_hint, mask], 1) (hint_input). Where hint
patches overlap, their colours are averaged. Everything is batched and runs on the tensors' device.
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
import torch.nn.functional as F

from . import color
from ._checks import check_image_batch

HINT_CHANNELS = 3  # ab hints (2) + mask (1)
P_NONE = 0.125  # no hint at all: with geometric_p = 1/8 this is the paper's geometric count starting at 0
GEOMETRIC_P = 0.125  # points per image ~ geometric(1/8) on 1, 2, ...: mean 8 (the paper's p = 1/8)
PATCH = 5  # patch sides 1..5 px (the paper: 1..9 at 176-256 px; CIFAR-10's images are 32 px)
MAX_POINTS = 128  # the geometric count is capped here (P(more) = (7/8)^128 < 4e-8): a fixed-size, sync-free draw
LOCATIONS = ("gaussian", "uniform")  # gaussian: centre ~ N(image centre, side / 4), as the paper
_HEX = re.compile(r"#[0-9a-fA-F]{6}")


def hint_channels(model: torch.nn.Module) -> int:
    """The number of hint input channels of a model: 3 for hint models, 0 for automatic colorizers."""
    return int(getattr(model, "hint_channels", 0) or 0)


def _check_ab(ab: torch.Tensor, generator: torch.Generator | None, fn: str) -> None:
    check_image_batch(ab, "ab", fn, channels=2)
    if generator is not None and generator.device.type != ab.device.type:
        raise ValueError(f"{fn}: generator is on {generator.device}, ab on {ab.device}; expected the same device")


def _boxes(ab: torch.Tensor, points: int, generator: torch.Generator | None, patch: int,
           location: str) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Random square patches, (B, points) each: top row, left column and side (1..patch, within the image)."""
    B, _, H, W = ab.shape
    kw = dict(generator=generator, device=ab.device)
    side = torch.randint(1, patch + 1, (B, points), **kw).clamp(max=min(H, W))
    room_y, room_x = H - side, W - side  # top in [0, room_y], left in [0, room_x]
    if location == "uniform":
        top = (torch.rand(B, points, **kw) * (room_y + 1)).floor().long().clamp(max=room_y)
        left = (torch.rand(B, points, **kw) * (room_x + 1)).floor().long().clamp(max=room_x)
    else:
        top = (room_y / 2 + torch.randn(B, points, **kw) * H / 4).round().long().clamp(min=0).minimum(room_y)
        left = (room_x / 2 + torch.randn(B, points, **kw) * W / 4).round().long().clamp(min=0).minimum(room_x)
    return top, left, side


def paint_hints(values: torch.Tensor, top: torch.Tensor, left: torch.Tensor, side: torch.Tensor,
                active: torch.Tensor, size: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
    """Fill square patches (B, K) with their ab values (B, K, 2): (ab_hint (B, 2, H, W), mask (B, 1, H, W)).

    A summed-area construction: +v / -v at each patch's four corners, then cumulative sums along H and W; where
    patches overlap the colours are averaged. Inactive patches (active False) add nothing.
    """
    B, K = top.shape
    H, W = size
    vals = torch.cat([values.double(), torch.ones_like(values[..., :1], dtype=torch.float64)], dim=-1)
    vals = vals * active[..., None]  # (B, K, 3): a, b, count
    y1, x1 = top + side, left + side
    corners = [(top, left, 1.0), (top, x1, -1.0), (y1, left, -1.0), (y1, x1, 1.0)]
    b = torch.arange(B, device=top.device)[:, None].expand(B, K)
    flat = torch.cat([((b * (H + 1) + y) * (W + 1) + x).reshape(-1) for y, x, _ in corners])
    diff = torch.zeros(B * (H + 1) * (W + 1), 3, dtype=torch.float64, device=top.device)
    diff.index_add_(0, flat, torch.cat([(s * vals).reshape(-1, 3) for _, _, s in corners]))
    total = diff.view(B, H + 1, W + 1, 3).cumsum(1).cumsum(2)[:, :H, :W].permute(0, 3, 1, 2)  # (B, 3, H, W)
    count = total[:, 2:].round()  # integer-valued sums: exact in float64
    mask = count > 0
    ab = torch.where(mask, total[:, :2] / count.clamp(min=1), torch.zeros_like(total[:, :2]))
    return ab.to(values.dtype), mask.to(values.dtype)


def patch_hints(ab: torch.Tensor, top: torch.Tensor, left: torch.Tensor, side: torch.Tensor,
                active: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Hints from the ground truth ab (B, 2, H, W): each patch (B, K) filled with the mean ab inside it."""
    check_image_batch(ab, "ab", "patch_hints", channels=2)
    B, _, H, W = ab.shape
    integral = F.pad(ab.double().cumsum(2).cumsum(3), (1, 0, 1, 0))  # (B, 2, H+1, W+1), summed-area table
    b = torch.arange(B, device=ab.device)[:, None]
    y1, x1 = top + side, left + side
    total = integral[b, :, y1, x1] - integral[b, :, top, x1] - integral[b, :, y1, left] + integral[b, :, top, left]
    means = (total / side[..., None].double().square()).to(ab.dtype)  # (B, K, 2)
    active = torch.ones_like(top, dtype=torch.bool) if active is None else active
    return paint_hints(means, top, left, side, active, (H, W))


def _check_options(p_none: float, geometric_p: float, patch: int, location: str, fn: str) -> None:
    if not 0.0 <= p_none <= 1.0:
        raise ValueError(f"{fn}: p_none must be in [0, 1], got {p_none!r}")
    if not 0.0 < geometric_p <= 1.0:
        raise ValueError(f"{fn}: geometric_p must be in (0, 1], got {geometric_p!r}")
    if isinstance(patch, bool) or not isinstance(patch, int) or patch < 1:
        raise ValueError(f"{fn}: patch must be an int >= 1, got {patch!r}")
    if location not in LOCATIONS:
        raise ValueError(f"{fn}: location must be one of {', '.join(LOCATIONS)}, got {location!r}")


def simulate_hints(ab: torch.Tensor, generator: torch.Generator | None = None, p_none: float = P_NONE,
                   geometric_p: float = GEOMETRIC_P, patch: int = PATCH, max_points: int = MAX_POINTS,
                   location: str = "gaussian") -> tuple[torch.Tensor, torch.Tensor]:
    """Training hints from true ab (B, 2, H, W): per image none (probability p_none) or a geometric number of points.

    Each point is a square patch of random side 1..patch at a random location, filled with the ground truth's mean
    ab over it. Returns (ab_hint (B, 2, H, W), mask (B, 1, H, W)); draws from `generator` (on ab's device).
    """
    _check_ab(ab, generator, "simulate_hints")
    _check_options(p_none, geometric_p, patch, location, "simulate_hints")
    if isinstance(max_points, bool) or not isinstance(max_points, int) or max_points < 1:
        raise ValueError(f"simulate_hints: max_points must be an int >= 1, got {max_points!r}")
    B = ab.shape[0]
    kw = dict(generator=generator, device=ab.device)
    none = torch.rand(B, **kw) < p_none
    u = torch.rand(B, **kw, dtype=torch.float64)  # geometric by inversion: 1 + floor(log(1 - u) / log(1 - p))
    count = (1 + torch.floor(torch.log1p(-u) / math.log1p(-geometric_p)) if geometric_p < 1 else torch.ones_like(u))
    count = torch.where(none, torch.zeros_like(count), count.clamp(max=max_points)).long()  # (B,)
    top, left, side = _boxes(ab, max_points, generator, patch, location)
    active = torch.arange(max_points, device=ab.device)[None] < count[:, None]  # (B, max_points)
    return patch_hints(ab, top, left, side, active)


def random_hints(ab: torch.Tensor, points: int, generator: torch.Generator | None = None, patch: int = PATCH,
                 location: str = "gaussian") -> tuple[torch.Tensor, torch.Tensor]:
    """Exactly `points` ground-truth patch hints per image (as simulate_hints draws them), for measuring."""
    _check_ab(ab, generator, "random_hints")
    _check_options(0.0, 1.0, patch, location, "random_hints")
    if isinstance(points, bool) or not isinstance(points, int) or points < 0:
        raise ValueError(f"random_hints: points must be an int >= 0, got {points!r}")
    if points == 0:
        return torch.zeros_like(ab), torch.zeros_like(ab[:, :1])
    return patch_hints(ab, *_boxes(ab, points, generator, patch, location))


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


def resize_hints(ab_hint: torch.Tensor, mask: torch.Tensor, size: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
    """Hint maps at another resolution: a pixel of the new grid is hinted when any hint falls in it (mean colour)."""
    if tuple(ab_hint.shape[-2:]) == tuple(size):
        return ab_hint, mask
    m = F.interpolate(mask, size=tuple(size), mode="area")
    s = F.interpolate(ab_hint * mask, size=tuple(size), mode="area")
    hinted = m > 0
    return torch.where(hinted, s / m.clamp(min=1e-12), torch.zeros_like(s)), hinted.to(mask.dtype)


def check_hints(hints: tuple[torch.Tensor, torch.Tensor], like: torch.Tensor,
                fn: str) -> tuple[torch.Tensor, torch.Tensor]:
    """hints = (ab_hint (B, 2, H, W), mask (B, 1, H, W)) at the batch and resolution of `like` (B, C, H, W)."""
    if not isinstance(hints, (tuple, list)) or len(hints) != 2:
        raise ValueError(f"{fn}: expected hints as (ab_hint, mask), got {type(hints).__name__}")
    ab, mask = hints
    check_image_batch(ab, "ab_hint", fn, channels=2)
    check_image_batch(mask, "mask", fn, channels=1)
    want = (like.shape[0], *like.shape[-2:])
    for name, t in (("ab_hint", ab), ("mask", mask)):
        if (t.shape[0], *t.shape[-2:]) != want:
            raise ValueError(f"{fn}: expected {name} of batch {want[0]} at {want[1]} x {want[2]} (the images'), "
                             f"got shape {tuple(t.shape)}")
    return ab, mask


def hint_input(L: torch.Tensor, ab_hint: torch.Tensor | None = None, mask: torch.Tensor | None = None) -> torch.Tensor:
    """A hint model's input torch.cat([L, ab_hint, mask], 1) (B, 4, H, W); zero hints when none are given."""
    if ab_hint is None or mask is None:
        return torch.cat([L, L.new_zeros(L.shape[0], HINT_CHANNELS, *L.shape[-2:])], dim=1)
    return torch.cat([L, ab_hint.to(L.dtype), mask.to(L.dtype)], dim=1)


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
