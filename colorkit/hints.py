"""Colour hints for user-guided colorization (Zhang et al. 2017, "Real-Time User-Guided Image Colorization with
Learned Deep Priors"): simulated from the ground truth for training (points a person places, and hint files:
colorkit.hint_points).

A hint map is ab_hint (B, 2, H, W) in Lab units, zero where there is no hint, and mask (B, 1, H, W), 1 where there
is one. A hint model (`model.hint_channels == 3`) takes torch.cat([L, ab_hint, mask], 1) (hint_input). Where hint
patches overlap, their colours are averaged. Everything is batched and runs on the tensors' device.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ._checks import check_image_batch

HINT_CHANNELS = 3  # ab hints (2) + mask (1)
P_NONE = 0.125  # no hint at all: with geometric_p = 1/8 this is the paper's geometric count starting at 0
GEOMETRIC_P = 0.125  # points per image ~ geometric(1/8) on 1, 2, ...: mean 8 (the paper's p = 1/8)
PATCH = 5  # patch sides 1..5 px (the paper: 1..9 at 176-256 px; CIFAR-10's images are 32 px)
MAX_POINTS = 128  # the geometric count is capped here (P(more) = (7/8)^128 < 4e-8): a fixed-size, sync-free draw
LOCATIONS = ("gaussian", "uniform")  # gaussian: centre ~ N(image centre, side / 4), as the paper


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
