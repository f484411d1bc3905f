"""One inference object: a colorizer model together with how its output is read.

    c = ck.Colorizer.from_pretrained("classifier")      # Zhang-style 313-bin classifier, annealed mean at DEFAULT_T
    rgb = c(images)                                      # uint8 or float RGB (B, 3, H, W) of any size -> RGB in [0, 1]
    ab = c.ab(L)                                         # Lab L (B, 1, H, W) in [0, 100] -> Lab ab (B, 2, H, W)
    vivid = c.with_T(0.1); mode = c.with_method("mode")  # sweeps: new objects, the model shared
    by_T = c.sweep(L, [1.0, 0.38, 0.0])                  # one network pass, decoded at each T (0: the mode)
    hinted = c(images, hints=(ab_hint, mask))            # hint models (colorkit.hint_points.hints_from_points)

The decoding settings travel with the model: colour space it was trained in, temperature, decoding method and
the size it sees images at. The default temperature is quantize.DEFAULT_T. Checkpoints and shipped models are
read here too (load_colorizer), for `colorkit colorize`, the photo explorer and the hint editor.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Sequence

import torch
from torch import nn

from . import targets
from .checkpoint import DEFAULT_IMAGE_SIZE, CheckpointError, checkpoint_info, load_checkpoint, load_model, model_spec
from .device import resolve_device
from .pretrained import NAMES, load_pretrained
from .quantize import DEFAULT_T
from .upsample import DEFAULT_UPSAMPLE, UPSAMPLE_METHODS


class OutputCache:
    """forward(model, x) for targets.predict_ab that runs the network once for a batch it has just seen: decoding
    one batch several ways costs one pass. One slot (the last batch), matched by the batch's values."""

    def __init__(self) -> None:
        self.key: tuple[nn.Module, torch.Tensor] | None = None
        self.out: torch.Tensor | None = None

    @torch.no_grad()
    def __call__(self, model: nn.Module, x: torch.Tensor) -> torch.Tensor:
        hit = (self.key is not None and self.key[0] is model and self.key[1].shape == x.shape
               and self.key[1].device == x.device and torch.equal(self.key[1], x))
        if not hit:
            self.key = self.out = None  # free the previous output first
            self.out, self.key = model(x).float(), (model, x)
        return self.out


@dataclass(frozen=True)
class Colorizer:
    """A colorizer model and how to read it: space ("lab" | "ycbcr"), T, method, size (None: the image's own),
    upsample ("guided" | "bilinear": how chroma predicted at size goes back onto a larger image's L)."""

    model: nn.Module
    name: str = "colorizer"
    space: str = "lab"
    T: float = DEFAULT_T
    method: str = "annealed"
    size: int | tuple[int, int] | None = None
    upsample: str = DEFAULT_UPSAMPLE

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
        if self.upsample not in UPSAMPLE_METHODS:
            raise ValueError(f"Colorizer: unknown upsample {self.upsample!r}; valid: {', '.join(UPSAMPLE_METHODS)}")

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
    def __call__(self, images: torch.Tensor, output: str = "rgb", batch_size: int = 256,
                 hints: tuple[torch.Tensor, torch.Tensor] | None = None) -> torch.Tensor:
        """Colour RGB images (uint8 or float in [0, 1], (B, 3, H, W)): RGB in [0, 1], or Lab ab with output="ab".

        hints (hint models only): (ab_hint (B, 2, H, W), mask (B, 1, H, W)) at the images' resolution.
        """
        out = {"rgb": "rgb", "ab": "lab_ab"}.get(output)
        if out is None:
            raise ValueError(f"Colorizer: output must be 'rgb' or 'ab', got {output!r}")
        return targets.predict_colors(self.model, images, self.space, T=self.T, method=self.method, output=out,
                                      size=self.size, batch_size=batch_size, hints=hints, upsample=self.upsample)

    @torch.no_grad()
    def ab(self, L: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
        """Chroma (B, 2, H, W) for Lab lightness L (B, 1, H, W) in [0, 100] (Lab models only)."""
        if self.space != "lab":
            raise ValueError(f"Colorizer.ab: {self.name} works in {self.space!r}; call it on RGB images instead")
        return targets.predict_ab(self.model, L, T=self.T, method=self.method, batch_size=batch_size)

    @torch.no_grad()
    def sweep(self, L: torch.Tensor, temperatures: Sequence[float], batch_size: int = 256) -> dict[float, torch.Tensor]:
        """{T: ab (B, 2, H, W)} for Lab L (B, 1, H, W): a classifier decoded at each T (T = 0: the mode), the
        network run once per batch; equal to with_T(T).ab(L) (with_method("mode") at 0)."""
        if self.output_kind != "logits":
            raise ValueError(f"Colorizer.sweep: {self.name} is a regression model; only classifiers have a temperature")
        temps = [float(t) for t in temperatures]
        if any(not (0 <= t < float("inf")) for t in temps):
            raise ValueError(f"Colorizer.sweep: temperatures must be finite and >= 0 (0 = the mode), got {temperatures!r}")
        cache, out = OutputCache(), {t: [] for t in temps}
        for start in range(0, L.shape[0], batch_size):
            part = L[start:start + batch_size]
            for t in temps:
                out[t].append(targets.predict_ab(self.model, part, T=t or 1.0, method="mode" if t == 0 else "annealed",
                                                 batch_size=batch_size, forward=cache))
        return {t: torch.cat(chunks) for t, chunks in out.items()}

    @classmethod
    def from_pretrained(cls, name: str, device: str | torch.device | None = None, **decoding) -> "Colorizer":
        """A colorizer the kit ships (colorkit/weights), by name; decoding: T, method, size."""
        model, card = load_pretrained(name, device)
        if not hasattr(model, "output_kind"):
            raise ValueError(f"Colorizer.from_pretrained: {name!r} is {card.get('task', 'not a colorizer')}; "
                             "not a colorizer")
        return cls(model, name=name, **decoding)

    @classmethod
    def from_checkpoint(cls, path: str | os.PathLike, device: str | torch.device | None = None,
                        **decoding) -> "Colorizer":
        """A colorizer from a training checkpoint (colorkit.train.fit) or a shipped model's name (load_colorizer);
        its colour space and training size read from it unless decoding (space, size, T, method) says otherwise."""
        model, info = load_colorizer(path, device)
        decoding = {"space": info["color_space"], "size": tuple(info["image_size"]), **decoding}
        return cls(model, name=info.get("name") or os.path.basename(str(path)), **decoding)


def image_pair(size: int | Sequence[int]) -> tuple[int, int]:
    """A training size as (H, W): checkpoints store an int for square images, [H, W] otherwise."""
    h, w = (size, size) if isinstance(size, int) else size
    if not (isinstance(h, int) and isinstance(w, int) and h > 0 and w > 0):
        raise ValueError(f"colorize: image_size must be a positive int or (H, W), got {size!r}")
    return h, w


def load_colorizer(path: str | os.PathLike, device: str | torch.device | None = None,
                   image_size: int | None = None) -> tuple[nn.Module, dict[str, Any]]:
    """A checkpoint's model (eval mode, on device) and its info; image_size overrides the recorded one."""
    if image_size is not None:
        image_pair(image_size)
    device = resolve_device(device)
    if str(path) in NAMES and not Path(path).exists():  # a pretrained model shipped with the kit, by name
        if str(path) == "judge":
            raise ValueError("colorize: 'judge' is a classifier of images, not a colorizer; use 'classifier' or "
                             "'regressor'")
        model, card = load_pretrained(str(path), device)
        return model, {"name": f"pretrained {path}", "color_space": "lab",
                       "image_size": image_pair(image_size if image_size is not None else DEFAULT_IMAGE_SIZE)}
    spec = model_spec(load_checkpoint(path, mmap=True), path)  # metadata only: refuse a bad spec before building
    try:
        model, meta = load_model(path, device)
    except (TypeError, KeyError, RuntimeError) as exc:  # options the model does not take, weights that do not fit
        raise CheckpointError(f"{path}: its model {spec.get('name')!r} cannot be rebuilt from the checkpoint "
                              f"({type(exc).__name__}: {' '.join(str(exc).split())[:200]})") from exc
    bad = [k for k, t in model.state_dict().items() if t.is_floating_point() and not torch.isfinite(t).all()]
    if bad:
        raise CheckpointError(f"{path} holds non-finite weights (NaN or inf) in {', '.join(bad[:3])}; "
                              "the model is unusable")
    info = checkpoint_info(meta)
    info["image_size"] = image_pair(image_size if image_size is not None else info["image_size"] or DEFAULT_IMAGE_SIZE)
    return model, info
