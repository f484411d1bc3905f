"""Atomic checkpoints that load with weights_only=True and say in one line when a file is not one; describe, find."""
from __future__ import annotations

import os
import pickle
import re
import zipfile
from pathlib import Path
from typing import Any

import torch

from ._files import atomic_write
from .device import default_device
from .models import build_model
from .profiles import PROFILES

FORMAT = "colorkit-checkpoint"
VERSION = 1
DEFAULT_IMAGE_SIZE = 32  # every profile trains at 32 x 32 (CIFAR-10); used when a checkpoint does not say


class CheckpointError(ValueError):
    """A file is missing, unreadable, or not a colorkit checkpoint."""


def save_checkpoint(path: str | os.PathLike, state: dict[str, Any]) -> Path:
    """Write state to path atomically (temp file, fsync, rename): a crash never leaves half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"format": FORMAT, "version": VERSION, **state}
    return atomic_write(path, lambda f: torch.save(payload, f))


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu",
                    mmap: bool = False) -> dict[str, Any]:
    """Load a colorkit checkpoint with weights_only=True; raise CheckpointError naming the file otherwise.

    mmap=True maps the tensors instead of reading them: cheap when only the metadata (spec, config) is wanted.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")
    if path.stat().st_size == 0:
        raise CheckpointError(f"{path} is empty / truncated")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True, mmap=mmap)
    except Exception as exc:  # pickle errors, truncated zip, foreign objects
        raise CheckpointError(_load_error(path, exc)) from exc
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a colorkit checkpoint (no '{FORMAT}' marker)")
    return state


def _load_error(path: Path, exc: Exception) -> str:
    """One line saying why torch.load refused path (torch's own texts run to paragraphs, with ANSI codes)."""
    text = " ".join(re.sub(r"\x1b\[[0-9;]*m", "", str(exc)).split())
    why = re.search(r"WeightsUnpickler error: (.*?)(?: Check the documentation|$)", text)
    if isinstance(exc, pickle.UnpicklingError) and why and "Unsupported operand" not in why.group(1):
        found = re.search(r"Unsupported global: GLOBAL ([\w.]+)", text)
        what = f"; found {found.group(1)}" if found else ""
        return f"{path} holds objects other than tensors and plain types; refusing to load it (weights_only{what})"
    with open(path, "rb") as f:  # torch.save writes a zip: one that starts as a zip but has no end was cut short
        cut = b"PK\x03\x04".startswith(f.read(4)) and not zipfile.is_zipfile(path)  # the file is not empty here
    if cut or isinstance(exc, EOFError) or "central directory" in text:
        return f"{path} is empty / truncated"
    if "mmap can only be used" in text:
        return f"{path} is not a readable colorkit checkpoint (not a torch.save zip file)"
    reason = why.group(1) if why else text
    return f"{path} is not a readable colorkit checkpoint ({type(exc).__name__}: {reason[:200]})"


def model_spec(state: dict[str, Any], path: str | os.PathLike) -> dict[str, Any]:
    """A checkpoint's model spec (a dict with a str 'name') and weights (a dict), else CheckpointError naming path."""
    spec, weights = state.get("spec"), state.get("model")
    if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
        raise CheckpointError(f"{path} holds no usable model spec: expected a dict with a 'name', got "
                              f"{type(spec).__name__} {str(spec)[:80]!r}; it was not written by colorkit.train.fit")
    if not isinstance(weights, dict):
        raise CheckpointError(f"{path} holds no model weights: expected a dict under 'model', "
                              f"got {type(weights).__name__}")
    return spec


def checkpoint_info(state: dict[str, Any]) -> dict[str, Any]:
    """What a train.fit checkpoint (or load_model's meta) says about its model, read defensively."""
    config = state.get("config") or {}
    spec = dict(state.get("spec") or {})
    history = state.get("history") or {}
    if not isinstance(history, dict):  # load_model's meta holds a History object
        history = history.to_dict()
    size = state.get("image_size") or config.get("image_size")
    profile = state.get("profile") or config.get("profile")
    if size is None and profile:
        size = PROFILES[profile].image_size if profile in PROFILES else None
    metrics = {k: v[-1] for k, v in history.items() if k in ("train_loss", "val_loss", "val_rmse_ab") and v}
    return {"name": spec.pop("name", None), "head": spec.pop("head", None), "options": spec,
            "data": state.get("dataset") or None, "profile": profile, "image_size": size,
            "size_recorded": size is not None, "epochs": state.get("epoch"), "config": config, "metrics": metrics,
            "color_space": config.get("color_space", "lab")}


def format_info(path: str | os.PathLike) -> str:
    """A human summary of a checkpoint: model, options, training data, profile, epochs, metrics."""
    state = load_checkpoint(path, mmap=True)  # only shapes and metadata are read
    model_spec(state, path)
    info = checkpoint_info(state)
    params = sum(t.numel() for t in state["model"].values() if isinstance(t, torch.Tensor) and t.is_floating_point())
    options = ", ".join(f"{k}={v}" for k, v in info["options"].items()) or "-"
    cfg = info["config"]
    size = info["image_size"] if info["size_recorded"] else f"{DEFAULT_IMAGE_SIZE} (not recorded; assumed)"
    metrics = ", ".join(f"{k} {v:.4g}" for k, v in info["metrics"].items()) or "none recorded"
    return "\n".join([
        f"checkpoint:     {path}",
        f"model:          {info['name']} (head {info['head']}, {params:,} parameters)",
        f"options:        {options}",
        f"training data:  {info['data'] or 'not recorded'}",
        f"profile:        {info['profile'] or 'not recorded'}",
        f"image size:     {size}",
        f"epochs:         {info['epochs']} of {cfg.get('epochs', '?')} (batch {cfg.get('batch_size', '?')}, "
        f"optimizer {cfg.get('optimizer', '?')}, loss {cfg.get('loss', '?')}, space {info['color_space']})",
        f"metrics:        {metrics}",
    ])


def find_checkpoints(folder: str | os.PathLike) -> list[Path]:
    """Colorizer checkpoints (written by train.fit) under folder/checkpoints or folder, classifiers first."""
    folder = Path(folder)
    found = []
    for path in sorted({*folder.glob("checkpoints/*.pt"), *folder.glob("*.pt")}):
        try:
            state = load_checkpoint(path, mmap=True)  # metadata only: the weights stay on disk
        except CheckpointError:
            continue
        spec = state.get("spec") if isinstance(state.get("spec"), dict) else {}
        if spec.get("head") in ("tanh", "sigmoid", "linear", "classify") and "model" in state:
            found.append((spec["head"] != "classify", path))
    return [p for _, p in sorted(found)]


def load_model(path: str | os.PathLike, device: str | torch.device | None = None) -> tuple[torch.nn.Module, dict]:
    """Rebuild a trained model from a train.fit checkpoint (eval mode); returns it and the checkpoint's metadata."""
    state = load_checkpoint(path, map_location="cpu")
    if not state.get("spec"):
        raise CheckpointError(f"load_model: {path} has no model spec; it was not written by colorkit.train.fit")
    model = build_model(**state["spec"])
    model.load_state_dict(state["model"])
    model.to(device or default_device()).eval()
    meta = {key: state.get(key) for key in ("epoch", "config", "spec", "dataset", "image_size", "history")}
    return model, meta
