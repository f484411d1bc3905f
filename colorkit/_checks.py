"""Input validation shared by every module: clear errors that name the argument, shape and value."""
from __future__ import annotations

import torch


def check_tensor(x: object, name: str, fn: str) -> torch.Tensor:
    """Raise a clear TypeError unless x is a torch.Tensor."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{fn}: expected {name} to be a torch.Tensor, got {type(x).__name__}")
    return x


def check_image_batch(x: object, name: str, fn: str, channels: int | None = None,
                      floating: bool = True) -> torch.Tensor:
    """Check that x is a (B, C, H, W) tensor, optionally with C == channels and a float dtype."""
    x = check_tensor(x, name, fn)
    if x.dim() != 4:
        want = f"(B, {channels}, H, W)" if channels else "(B, C, H, W)"
        raise ValueError(f"{fn}: expected {name} as a {want} tensor, got shape {tuple(x.shape)}")
    if channels is not None and x.shape[1] != channels:
        raise ValueError(f"{fn}: expected {name} with {channels} channels (B, {channels}, H, W), "
                         f"got shape {tuple(x.shape)}")
    if floating and not x.is_floating_point():
        raise ValueError(f"{fn}: expected {name} as a floating-point tensor, got dtype {x.dtype}")
    return x


def check_positive(value: float, name: str, fn: str, allow_zero: bool = False) -> float:
    """Check that a scalar parameter is positive (or non-negative)."""
    ok = value >= 0 if allow_zero else value > 0
    if not ok:
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{fn}: {name} must be {bound}, got {value!r}")
    return value
