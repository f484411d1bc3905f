"""A colorization "Turing test" (Zhang et al. 2016, seed 000): real vs colorized pairs, the fooling rate and its CI.

Each trial shows one real photo and its colorization side by side in a seeded random order; the observer
picks the one they believe is REAL. The colorizer fools the observer when the colorized image is picked.
A perfect colorizer drives the fooling rate to 50 % (chance); Zhang et al. report 32 % for their full
classification net on ImageNet (seed 003 quotes 32 %, seed 000 quotes 20.4 %).
"""
from __future__ import annotations

import io
import json
import math
import os
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any, Callable

import torch

from ._files import atomic_write
from .color import rgb_to_lab, uint8_to_float

SIDES = ("left", "right")


def wilson_interval(successes: int, trials: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion (successes / trials); (0, 1) when trials == 0."""
    if not 0 < confidence < 1:
        raise ValueError(f"wilson_interval: confidence must be in (0, 1), got {confidence!r}")
    if trials < 0 or not 0 <= successes <= max(trials, 0):
        raise ValueError(f"wilson_interval: expected 0 <= successes <= trials, got successes={successes}, "
                         f"trials={trials}")
    if trials == 0:
        return 0.0, 1.0
    z = NormalDist().inv_cdf(0.5 + confidence / 2)  # 1.95996 for 95 %
    p, n = successes / trials, trials
    denom = 1 + z * z / n
    center = (p + z * z / (2 * n)) / denom
    half = z / denom * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, center - half), min(1.0, center + half)


@dataclass
class Trial:
    """One pair: which image (index into the batches) and on which side the real one is shown."""

    image: int
    real_side: str  # "left" or "right"
    choice: str | None = None  # the side the observer picked as real, None until answered

    @property
    def fooled(self) -> bool | None:
        """True when the observer picked the colorized image as the real one (None until answered)."""
        return None if self.choice is None else self.choice != self.real_side


class TuringTest:
    """Trials over two uint8 batches (real, colorized) of equal shape (N, 3, H, W) in a seeded random order."""

    def __init__(self, real: torch.Tensor, colorized: torch.Tensor, seed: int = 0, n_trials: int | None = None,
                 names: list[str] | None = None):
        for name, x in (("real", real), ("colorized", colorized)):
            if not isinstance(x, torch.Tensor) or x.dim() != 4 or x.shape[1] != 3 or x.dtype != torch.uint8:
                got = f"shape {tuple(x.shape)}, dtype {x.dtype}" if isinstance(x, torch.Tensor) else type(x).__name__
                raise ValueError(f"TuringTest: expected {name} as a (N, 3, H, W) uint8 tensor, got {got}")
        if real.shape != colorized.shape:
            raise ValueError(f"TuringTest: real and colorized must have the same shape, got {tuple(real.shape)} "
                             f"and {tuple(colorized.shape)}")
        n = real.shape[0] if n_trials is None else n_trials
        if not 1 <= n <= real.shape[0]:
            raise ValueError(f"TuringTest: n_trials must be in [1, {real.shape[0]}], got {n_trials!r}")
        self.real, self.colorized = real.cpu(), colorized.cpu()
        self.seed, self.names = seed, names
        g = torch.Generator().manual_seed(seed)
        order = torch.randperm(real.shape[0], generator=g)[:n].tolist()
        sides = torch.randint(0, 2, (n,), generator=g).tolist()
        self.trials = [Trial(i, SIDES[s]) for i, s in zip(order, sides)]
        self.position = 0  # the next trial to answer

    def __len__(self) -> int:
        return len(self.trials)

    @property
    def done(self) -> bool:
        """True when every trial has been answered."""
        return self.position >= len(self.trials)

    def pair(self, k: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """The (left, right) uint8 images (3, H, W) of trial k (default: the current trial)."""
        t = self.trials[self.position if k is None else k]
        real, fake = self.real[t.image], self.colorized[t.image]
        return (real, fake) if t.real_side == "left" else (fake, real)

    def pairs(self) -> tuple[torch.Tensor, torch.Tensor]:
        """All trials' left and right images as two (n, 3, H, W) uint8 batches, in trial order."""
        index = torch.tensor([t.image for t in self.trials])
        left_real = torch.tensor([t.real_side == "left" for t in self.trials])[:, None, None, None]
        real, fake = self.real[index], self.colorized[index]
        return torch.where(left_real, real, fake), torch.where(left_real, fake, real)

    def record(self, choice: str | int) -> bool:
        """Record the observer's pick ("left"/"right" or 0/1) for the current trial; return whether they were fooled."""
        if self.done:
            raise ValueError(f"TuringTest.record: all {len(self)} trials are already answered")
        side = SIDES[choice] if isinstance(choice, int) and choice in (0, 1) else choice
        if side not in SIDES:
            raise ValueError(f"TuringTest.record: choice must be 'left', 'right', 0 or 1, got {choice!r}")
        trial = self.trials[self.position]
        trial.choice = side
        self.position += 1
        return bool(trial.fooled)

    def run(self, observer: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> "TuringTest":
        """Answer every remaining trial with a scripted observer: (left, right) batches -> (n,) bool 'left is real'."""
        left, right = self.pairs()
        picks_left = observer(left[self.position:], right[self.position:])
        for pick in picks_left.tolist():
            self.record("left" if pick else "right")
        return self

    @property
    def answered(self) -> int:
        """Number of trials answered so far."""
        return self.position

    @property
    def fooled(self) -> int:
        """Number of answered trials where the colorized image was picked as real."""
        return sum(bool(t.fooled) for t in self.trials[:self.position])

    def fooling_rate(self) -> float:
        """Fraction of answered trials where the colorized image was picked (NaN before any answer)."""
        return self.fooled / self.answered if self.answered else float("nan")

    def interval(self, confidence: float = 0.95) -> tuple[float, float]:
        """Wilson score interval of the fooling rate."""
        return wilson_interval(self.fooled, self.answered, confidence)

    def summary(self) -> str:
        """One line: answered trials, fooling rate and its 95 % Wilson interval."""
        lo, hi = self.interval()
        rate = self.fooling_rate()
        shown = "n/a" if math.isnan(rate) else f"{100 * rate:.1f} %"
        return (f"{self.answered}/{len(self)} trials, fooled {self.fooled}: fooling rate {shown} "
                f"(95 % CI {100 * lo:.1f}-{100 * hi:.1f} %)")

    def to_json(self, path: str | os.PathLike | None = None, **extra: Any) -> dict[str, Any]:
        """The test's record (trials, counts, rate, interval) as a dict; also written to `path` when given."""
        lo, hi = self.interval()
        rate = self.fooling_rate()
        record = {"seed": self.seed, "n_trials": len(self), "answered": self.answered, "fooled": self.fooled,
                  "fooling_rate": None if math.isnan(rate) else rate, "interval_95": [lo, hi],
                  "trials": [{"image": t.image, "name": self.names[t.image] if self.names else None,
                              "real_side": t.real_side, "choice": t.choice, "fooled": t.fooled}
                             for t in self.trials], **extra}
        if path is not None:
            atomic_write(path, json.dumps(record, indent=2))
        return record


def mean_chroma(images: torch.Tensor) -> torch.Tensor:
    """Mean Lab chroma sqrt(a^2 + b^2) of each uint8 image (B, 3, H, W) -> (B,)."""
    ab = rgb_to_lab(uint8_to_float(images).float())[:, 1:]  # (B, 2, H, W)
    return ab.pow(2).sum(1).sqrt().flatten(1).mean(1)


def colorful_observer(left: torch.Tensor, right: torch.Tensor) -> torch.Tensor:
    """Scripted observer: the more colourful image (higher mean Lab chroma) is taken as real -> (B,) bool 'left'.

    Regression colorizers average the plausible colours and come out desaturated (Zhang et al.'s motivation
    for classification), so "pick the more saturated one" is a simple, strong heuristic against them.
    """
    return mean_chroma(left) >= mean_chroma(right)


def _png(image: torch.Tensor, display: int) -> bytes:
    """A uint8 (3, H, W) image as PNG bytes, upscaled (nearest) so its longer side is about `display` pixels."""
    from PIL import Image

    pil = Image.fromarray(image.permute(1, 2, 0).contiguous().numpy())
    scale = max(1, display // max(pil.size))
    pil = pil.resize((pil.width * scale, pil.height * scale), Image.NEAREST)
    buf = io.BytesIO()
    pil.save(buf, format="PNG")
    return buf.getvalue()


def turing_widget(test: TuringTest, display: int = 160, on_done: Callable[[TuringTest], None] | None = None):
    """An ipywidgets UI: two images, a 'this one is real' button under each, and a running score line."""
    import ipywidgets as w

    images = [w.Image(format="png") for _ in SIDES]
    buttons = [w.Button(description=f"{side} is real", layout=w.Layout(width=f"{display}px")) for side in SIDES]
    status = w.Label()

    def show() -> None:
        if test.done:
            for b in buttons:
                b.disabled = True
            status.value = "done: " + test.summary()
            return
        for img, picture in zip(images, test.pair()):
            img.value = _png(picture, display)
        status.value = f"trial {test.position + 1}/{len(test)} - " + test.summary()

    def answer(side: str) -> Callable:
        def click(_button) -> None:
            if not test.done:
                test.record(side)
                show()
                if test.done and on_done is not None:
                    on_done(test)
        return click

    for b, side in zip(buttons, SIDES):
        b.on_click(answer(side))
    show()
    columns = [w.VBox([img, b]) for img, b in zip(images, buttons)]
    title = w.HTML("<b>Which photo has the real colours?</b>")
    return w.VBox([title, w.HBox(columns), status])


__all__ = ["TuringTest", "Trial", "wilson_interval", "mean_chroma", "colorful_observer", "turing_widget"]
