"""Notebook 06's machinery: every colorizer a run saved, found in its folder, as Colorizers decoded the way their names say."""
from __future__ import annotations

import os
import re
import warnings
from pathlib import Path

import torch
import torch.nn as nn

from .checkpoint import CheckpointError, find_checkpoints, load_model
from .colorizer import Colorizer
from .device import default_device
from .quantize import DEFAULT_T


def default_decoding(name: str) -> str:
    """How a classifier checkpoint is decoded under its own name: "mode" / "mean" if the name says so, else annealed."""
    words = set(re.split(r"[^a-z0-9]+", name.lower()))
    return "mode" if "mode" in words else "mean" if "mean" in words else "annealed"


def decodings(model: nn.Module, name: str, space: str = "lab",
              temperatures: tuple[float, ...] = (DEFAULT_T, 0.89)) -> dict[str, Colorizer]:
    """A model as Colorizers: a regressor under `name`; a classifier under `name` decoded as default_decoding says
    (annealed: T = quantize.DEFAULT_T), plus "<name>, mode" and "<name>, T=<t>" for each temperature."""
    first = Colorizer(model, name, space=space, method=default_decoding(name))
    out = {name: first}
    if first.output_kind == "logits":
        if first.method != "mode":
            out[f"{name}, mode"] = first.with_method("mode")
        for t in temperatures:
            if t <= 0:
                raise ValueError(f"decodings: temperatures must be > 0 (mode is T -> 0), got {t}")
            if first.method != "annealed" or t != DEFAULT_T:
                out[f"{name}, T={t:g}"] = first.with_T(t)
    return out


def load_run_colorizers(run_dir: str | os.PathLike, device: torch.device | str | None = None,
                        temperatures: tuple[float, ...] = (DEFAULT_T, 0.89)) -> dict[str, Colorizer]:
    """Every colorizer checkpoint in run_dir/checkpoints (train.fit or GAN generators) as Colorizers.

    Named by checkpoint stem (the experiment name slugified), regressors first; classifiers several ways (see
    decodings). Files that are not colorizers (judges) are left out; ones that fail to load are skipped with a warning.
    """
    if not Path(run_dir).is_dir():
        raise FileNotFoundError(f"load_run_colorizers: run_dir {str(run_dir)!r} is not a folder")
    device = torch.device(device) if device is not None else default_device()
    found = {}
    for path in find_checkpoints(run_dir):
        try:
            model, meta = load_model(path, device)
        except (CheckpointError, ValueError, TypeError, KeyError, RuntimeError) as exc:
            warnings.warn(f"load_run_colorizers: skipping {path.name}: {exc}", RuntimeWarning, stacklevel=2)
            continue
        found.update(decodings(model, path.stem, (meta.get("config") or {}).get("color_space", "lab"),
                               tuple(temperatures)))
    return dict(sorted(found.items(), key=lambda item: item[1].output_kind != "ab"))  # stable: regressors first


