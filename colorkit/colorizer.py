"""One inference object: a colorizer model together with how its output is read.

    c = ck.Colorizer.from_pretrained("classifier")      # Zhang-style 313-bin classifier, annealed mean at T = 0.38
    rgb = c(images)                                      # uint8 or float RGB (B, 3, H, W) of any size -> RGB in [0, 1]
    ab = c.ab(L)                                         # Lab L (B, 1, H, W) in [0, 100] -> Lab ab (B, 2, H, W)
    vivid = c.with_T(0.1); mode = c.with_method("mode")  # sweeps: new objects, the model shared

The decoding settings travel with the model: colour space it was trained in, temperature, decoding method and
the size it sees images at. The default temperature is quantize.DEFAULT_T.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, replace

import torch
from torch import nn

from . import targets
from .quantize import DEFAULT_T


@dataclass(frozen=True)
class Colorizer:
    """A colorizer model and how to read it: space ("lab" | "ycbcr"), T, method, size (None: the image's own)."""

    model: nn.Module
    name: str = "colorizer"
    space: str = "lab"
    T: float = DEFAULT_T
    method: str = "annealed"
    size: int | tuple[int, int] | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.model, nn.Module):
            raise TypeError(f"Colorizer: expected model as a torch.nn.Module, got {type(self.model).__name__}")
        targets.output_kind(self.model, "Colorizer")  # refuses a model that is not a colorizer
        if self.method not in targets.DECODE_METHODS:
            raise ValueError(f"Colorizer: unknown method {self.method!r}; valid: {', '.join(targets.DECODE_METHODS)}")
        if not (isinstance(self.T, (int, float)) and 0 < self.T < float("inf")):
            raise ValueError(f"Colorizer: T must be a positive finite number, got {self.T!r}")
        if self.space not in ("lab", "ycbcr"):
            raise ValueError(f"Colorizer: space must be 'lab' or 'ycbcr', got {self.space!r}")

    @property
    def output_kind(self) -> str:
        """"ab" for regressors, "logits" for 313-bin classifiers (only these read T and method)."""
        return targets.output_kind(self.model, "Colorizer")

    @property
    def label(self) -> str:
        """The name plus the decoding where it matters: 'classifier (T=0.38)', 'classifier (mode)'."""
        if self.output_kind != "logits":
            return self.name
        return f"{self.name} ({'mode' if self.method == 'mode' else 'mean' if self.method == 'mean' else f'T={self.T:g}'})"

    def with_T(self, T: float) -> "Colorizer":
        """The same model decoded with the annealed mean at temperature T."""
        return replace(self, T=float(T), method="annealed")

    def with_method(self, method: str) -> "Colorizer":
        """The same model decoded by `method`: "annealed" (at self.T), "mean" or "mode"."""
        return replace(self, method=method)

    @torch.no_grad()
    def __call__(self, images: torch.Tensor, output: str = "rgb", batch_size: int = 256) -> torch.Tensor:
        """Colour RGB images (uint8 or float in [0, 1], (B, 3, H, W)): RGB in [0, 1], or Lab ab with output="ab"."""
        out = {"rgb": "rgb", "ab": "lab_ab"}.get(output)
        if out is None:
            raise ValueError(f"Colorizer: output must be 'rgb' or 'ab', got {output!r}")
        return targets.predict_colors(self.model, images, self.space, T=self.T, method=self.method, output=out,
                                      size=self.size, batch_size=batch_size)

    @torch.no_grad()
    def ab(self, L: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
        """Chroma (B, 2, H, W) for Lab lightness L (B, 1, H, W) in [0, 100] (Lab models only)."""
        if self.space != "lab":
            raise ValueError(f"Colorizer.ab: {self.name} works in {self.space!r}; call it on RGB images instead")
        return targets.predict_ab(self.model, L, T=self.T, method=self.method, batch_size=batch_size)

    @classmethod
    def from_pretrained(cls, name: str, device: str | torch.device | None = None, **decoding) -> "Colorizer":
        """A colorizer the kit ships (colorkit/weights), by name; decoding: T, method, size."""
        from .pretrained import load_pretrained

        model, card = load_pretrained(name, device)
        if not hasattr(model, "output_kind"):
            raise ValueError(f"Colorizer.from_pretrained: {name!r} is {card.get('task', 'not a colorizer')}; "
                             "not a colorizer")
        return cls(model, name=name, **decoding)

    @classmethod
    def from_checkpoint(cls, path: str | os.PathLike, device: str | torch.device | None = None,
                        **decoding) -> "Colorizer":
        """A colorizer from a training checkpoint (colorkit.train.fit), its colour space read from it."""
        from .colorize import load_colorizer

        model, info = load_colorizer(path, device)
        decoding.setdefault("size", tuple(info["image_size"]))  # the size it was trained at
        return cls(model, name=info.get("name") or os.path.basename(str(path)), space=info["color_space"],
                   **decoding)
