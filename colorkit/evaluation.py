"""Notebook 06's machinery: every colorizer a run saved, found in its folder and decoded the way its name says."""
from __future__ import annotations

import os
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn as nn

from .device import default_device
from .quantize import DEFAULT_T


class OutputCache:
    """The raw output of the last (model, input batch) pair: the decodings of one model judged one after another run
    the network once per batch. One slot, so at most one output is held; a batch is matched by its values."""

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


@dataclass(eq=False)
class DecodedColorizer:
    """A trained colorizer decoded one way, for the judge and metrics: from_rgb(RGB (B, 3, H, W)) -> Lab ab."""

    model: nn.Module
    source: str  # the checkpoint's name (stem)
    method: str = "annealed"  # "annealed" | "mode" | "mean"; regressors ignore it
    T: float = DEFAULT_T
    space: str = "lab"  # the model's training space: it sees that space's luma, its chroma is read back as Lab ab
    cache: OutputCache | None = None

    @property
    def kind(self) -> str:
        """"regression" (ab output) or "classifier" (313 logits)."""
        return "classifier" if getattr(self.model, "output_kind", None) == "logits" else "regression"

    def from_rgb(self, rgb: torch.Tensor) -> torch.Tensor:
        """Lab ab (B, 2, H, W) for RGB images (B, 3, H, W), through targets.predict_colors like every colorizer."""
        from .targets import predict_colors

        return predict_colors(self.model, rgb, self.space, T=self.T, method=self.method, output="lab_ab",
                              batch_size=max(1, rgb.shape[0]), forward=self.cache or OutputCache())


def default_decoding(name: str) -> str:
    """How a classifier checkpoint is decoded under its own name: "mode" / "mean" if the name says so, else annealed."""
    words = set(re.split(r"[^a-z0-9]+", name.lower()))
    return "mode" if "mode" in words else "mean" if "mean" in words else "annealed"


def decodings(model: nn.Module, name: str, space: str = "lab", temperatures: tuple[float, ...] = (DEFAULT_T, 0.89),
              cache: OutputCache | None = None) -> dict[str, DecodedColorizer]:
    """A model as judge callables: a regressor under `name`; a classifier under `name` decoded as default_decoding
    says (annealed: T = quantize.DEFAULT_T), plus "<name>, mode" and "<name>, T=<t>" for each temperature."""
    cache = cache or OutputCache()
    first = DecodedColorizer(model, name, default_decoding(name), DEFAULT_T, space, cache)
    out = {name: first}
    if first.kind == "classifier":
        if first.method != "mode":
            out[f"{name}, mode"] = DecodedColorizer(model, name, "mode", DEFAULT_T, space, cache)
        for t in temperatures:
            if t <= 0:
                raise ValueError(f"decodings: temperatures must be > 0 (mode is T -> 0), got {t}")
            if first.method != "annealed" or t != DEFAULT_T:
                out[f"{name}, T={t:g}"] = DecodedColorizer(model, name, "annealed", float(t), space, cache)
    return out


def load_run_colorizers(run_dir: str | os.PathLike, device: torch.device | str | None = None,
                        temperatures: tuple[float, ...] = (DEFAULT_T, 0.89)) -> dict[str, DecodedColorizer]:
    """Every colorizer checkpoint in run_dir/checkpoints (train.fit or GAN generators) as judge callables.

    Named by checkpoint stem (the experiment name slugified), regressors first; classifiers several ways (see
    decodings). Files that are not colorizers (judges) are left out; ones that fail to load are skipped with a warning.
    """
    from .checkpoint import CheckpointError, find_checkpoints
    from .checkpoint import load_model

    if not Path(run_dir).is_dir():
        raise FileNotFoundError(f"load_run_colorizers: run_dir {str(run_dir)!r} is not a folder")
    device = torch.device(device) if device is not None else default_device()
    cache, found = OutputCache(), {}
    for path in find_checkpoints(run_dir):
        try:
            model, meta = load_model(path, device)
        except (CheckpointError, ValueError, TypeError, KeyError, RuntimeError) as exc:
            warnings.warn(f"load_run_colorizers: skipping {path.name}: {exc}", RuntimeWarning, stacklevel=2)
            continue
        found.update(decodings(model, path.stem, (meta.get("config") or {}).get("color_space", "lab"),
                               tuple(temperatures), cache))
    return dict(sorted(found.items(), key=lambda item: item[1].kind != "regression"))  # stable: regressors first


