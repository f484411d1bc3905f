"""Input validation shared by every module: clear errors that name the argument, shape and value."""
from __future__ import annotations

import argparse
import math
from typing import Callable

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


def _shown(text: str, quote: bool = True) -> str:
    """A command-line value as an error shows it: cut to 40 characters, quoted unless it is a number."""
    text = text.strip() if not quote else text
    text = text if len(text) <= 40 else text[:37] + "..."
    return repr(text) if quote else text


def int_arg(low: int = 1, high: int | None = None) -> Callable[[str], int]:
    """An argparse type: an int in [low, high] (argparse turns the error into a one-line usage error, exit 2)."""
    want = f"an int >= {low}" if high is None else f"an int in [{low}, {high}]"

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:  # not an int, or more digits than Python converts
            raise argparse.ArgumentTypeError(f"expected {want}, got {_shown(text)}") from None
        if value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"expected {want}, got {_shown(text, quote=False)}")
        return value

    return parse


def float_arg(low: float = 0.0, high: float = math.inf, low_open: bool = True, zero: bool = False,
              why: str = "") -> Callable[[str], float]:
    """An argparse type: a finite float in (low, high] ([low, high] unless low_open), or exactly 0 when zero."""
    bounds = f"{'(' if low_open else '['}{low:g}, {high:g}]" if high < math.inf else None
    want = (f"a finite number {'>' if low_open else '>='} {low:g}" if bounds is None else f"a number in {bounds}")
    want = f"0 or {want}" if zero else want

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {want}{why}, got {_shown(text)}") from None
        inside = (value > low if low_open else value >= low) and value <= high and math.isfinite(value)
        if not (inside or (zero and value == 0)):
            raise argparse.ArgumentTypeError(f"expected {want}{why}, got {_shown(text, quote=False)}")
        return value

    return parse
