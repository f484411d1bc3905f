"""Output heads (features -> ab in Lab units, or 313 logits) and the Colorizer base class every model shares."""
from __future__ import annotations

import torch
from torch import nn

from colorkit._checks import check_image_batch
from colorkit.color import AB_SCALE, normalize_l

NUM_BINS = 313  # in-gamut ab bins of grid size 10 (Zhang et al.; seeds 001, 004)
HEADS = ("tanh", "sigmoid", "linear", "classify")


def check_head(head: str, fn: str = "Head") -> str:
    """Return head unchanged when it is a known head name, else raise a ValueError listing them."""
    if head not in HEADS:
        raise ValueError(f"{fn}: unknown head {head!r}; valid heads: {', '.join(HEADS)}")
    return head


def scale_channels(channels: int, width: float) -> int:
    """Channels times the width multiplier, rounded to a multiple of 8 (at least 8)."""
    if width <= 0:
        raise ValueError(f"scale_channels: width must be > 0, got {width!r}")
    return max(8, int(round(channels * width / 8)) * 8)


class Head(nn.Module):
    """A 1x1 (or kxk) conv from the body's features to 2 ab channels or NUM_BINS logits, plus the output map.

    tanh:     ab = 110 * tanh(x)           (seed 002: tanh so that negative a, b are reachable)
    sigmoid:  ab = 255 * sigmoid(x) - 128  (seed 004: ab scaled to [0, 1] and predicted by a sigmoid)
    linear:   ab = 110 * x                 (unbounded; x is O(1))
    classify: NUM_BINS raw logits          (Zhang: softmax over the quantised ab bins)
    """

    def __init__(self, kind: str, in_channels: int, kernel_size: int = 1, bias: bool = True):
        super().__init__()
        self.kind = check_head(kind)
        out = NUM_BINS if kind == "classify" else 2
        self.proj = nn.Conv2d(in_channels, out, kernel_size, padding=kernel_size // 2, bias=bias)

    @property
    def output_kind(self) -> str:
        return "logits" if self.kind == "classify" else "ab"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.proj(x)  # (B, 2 or 313, H, W)
        if self.kind == "tanh":
            return AB_SCALE * torch.tanh(y)
        if self.kind == "sigmoid":
            return 255.0 * torch.sigmoid(y) - 128.0
        if self.kind == "linear":
            return AB_SCALE * y
        return y


class Colorizer(nn.Module):
    """Base class: checks the raw L input, normalises it, runs `body` (features) and `head` (output).

    Subclasses build `self.body` (normalised L (B, 1, H, W) -> features) and `self.head` (a Head), and set
    `output_stride` (H / H_out) and `input_multiple` (H and W of L must be divisible by it).
    `spec` is filled in by `build_model` so that `build_model(**model.spec)` rebuilds the model.
    """

    output_stride: int = 1
    input_multiple: int = 1

    def __init__(self) -> None:
        super().__init__()
        self.spec: dict = {}

    @property
    def output_kind(self) -> str:
        return self.head.output_kind

    @property
    def model_name(self) -> str:
        return self.spec.get("name", type(self).__name__)

    def check_input(self, L: torch.Tensor) -> torch.Tensor:
        """Raise a ValueError naming the model unless L is a float (B, 1, H, W) with H, W divisible."""
        fn = f"{self.model_name}.forward"
        check_image_batch(L, "L", fn, channels=1)
        m = self.input_multiple
        if L.shape[-2] % m or L.shape[-1] % m:
            raise ValueError(f"{fn}: expected L with H and W divisible by {m} (B, 1, {m}*h, {m}*w), "
                             f"got shape {tuple(L.shape)}")
        return L

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Normalised L (B, 1, H, W) -> features for the head; subclasses with skips override this."""
        return self.body(x)

    def forward(self, L: torch.Tensor) -> torch.Tensor:
        self.check_input(L)
        return self.head(self.features(normalize_l(L)))  # (B, 2, H, W) ab or (B, 313, H', W') logits
