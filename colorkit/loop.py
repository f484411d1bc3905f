"""Machinery shared by the two training loops, train.fit (supervised) and gan.fit_gan (adversarial).

Device choice, mixed precision, per-epoch augmentation seeds, images moved to the device once, and the
checkpoint state that makes a killed run resume bit-exactly: written here once so both loops agree.
Bit-exact on the CPU (tests/test_train.py, test_gan.py); on CUDA some kernels (bilinear upsampling's backward,
cuDNN's weight gradients) are not deterministic, so a resumed GPU run matches up to float rounding unless
torch.use_deterministic_algorithms(True) is set.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterable

import torch
import torch.distributed as dist

from .checkpoint import load_checkpoint
from .data.imageset import image_tensor
from .device import default_device

AMP_MODES = ("auto", "off", "bf16", "fp16")
AUGMENT = dict(crop_padding=4, flip=True)  # CIFAR-style random crop (4 px padding) + horizontal flip
# Config fields that may differ between a checkpoint and the run resuming from it: they change how long or
# how a run is logged and executed, not what it computes.
RESUMABLE = frozenset({"epochs", "checkpoint", "log_every", "amp", "channels_last", "sample_every", "sample_dir"})


class TrainingDiverged(FloatingPointError):
    """The training loss became NaN or infinite."""


def dist_info() -> tuple[int, int]:
    """(rank, world size) of the torch.distributed group, (0, 1) outside torchrun."""
    ddp = dist.is_available() and dist.is_initialized()
    return (dist.get_rank(), dist.get_world_size()) if ddp else (0, 1)


def resolve_device(device: str | torch.device | None, world: int = 1) -> torch.device:
    """The device asked for, else this rank's GPU under torchrun, else colorkit's default device."""
    if device is None and world > 1 and torch.cuda.is_available():
        return torch.device("cuda", torch.cuda.current_device())  # torchrun: set_device(LOCAL_RANK) beforehand
    return default_device() if device is None else torch.device(device)


def cpu_fast_bf16() -> bool:
    """True when this CPU multiplies bf16 natively (AVX-512 BF16 or AMX) and COLORKIT_CPU_BF16 is not 0."""
    if os.environ.get("COLORKIT_CPU_BF16", "1") == "0":
        return False
    checks = (getattr(torch.cpu, "_is_avx512_bf16_supported", None), getattr(torch.cpu, "_is_amx_tile_supported", None))
    return any(check is not None and check() for check in checks)


def amp_dtype(mode: str, device: torch.device, fn: str = "fit") -> torch.dtype | None:
    """The autocast dtype for an AMP mode on a device: None (fp32), bfloat16 or float16.

    "auto": bf16 on CUDA GPUs that have it (else fp16) and on CPUs with native bf16 (cpu_fast_bf16), fp32 elsewhere.
    Losses, colour maths and decoding stay float32 inside autocast (targets.compute_loss, color, quantize).
    """
    if mode not in AMP_MODES:
        raise ValueError(f"{fn}: unknown amp {mode!r}; valid values: {', '.join(AMP_MODES)}")
    if mode == "off" or (mode == "auto" and device.type == "cpu" and not cpu_fast_bf16()):
        return None
    if mode == "auto" and device.type not in ("cuda", "cpu"):
        return None
    if mode == "fp16" and device.type != "cuda":
        raise ValueError(f"{fn}: amp 'fp16' needs a CUDA device, got {device}; use 'bf16' or 'off'")
    if device.type == "cuda" and (mode == "fp16" or (mode == "auto" and not torch.cuda.is_bf16_supported())):
        return torch.float16
    return torch.bfloat16


def use_channels_last(setting: str | bool, device: torch.device) -> bool:
    """channels_last "auto": on CUDA, and on CPUs with native bf16 (oneDNN's fast kernels want NHWC)."""
    if setting != "auto":
        return bool(setting)
    return device.type == "cuda" or (device.type == "cpu" and cpu_fast_bf16())


def epoch_seed(seed: int, epoch: int, rank: int = 0) -> int:
    """Seed of the augmentation stream of one epoch on one rank (resume replays it exactly)."""
    return (seed * 1_000_003 + epoch * 1009 + rank) % (2**63)


def device_images(model: torch.nn.Module, train_set: Any, val_set: Any, device: torch.device,
                  fn: str) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Training / validation uint8 images moved to the device once, checked against the model's input_multiple."""
    images = image_tensor(train_set, "train_set", fn).to(device)  # (N, 3, H, W) uint8
    val_images = None if val_set is None else image_tensor(val_set, "val_set", fn).to(device)
    multiple = getattr(model, "input_multiple", 1)
    if images.shape[-1] % multiple or images.shape[-2] % multiple:
        raise ValueError(f"{fn}: {type(model).__name__} needs H and W divisible by {multiple}, "
                         f"got images of shape {tuple(images.shape)}")
    return images, val_images


def checkpoint_state(model: torch.nn.Module, opt: torch.optim.Optimizer, scaler: Any, epoch: int, history: Any,
                     cfg: Any, shuffle_gen: torch.Generator, images: torch.Tensor, dataset: str) -> dict[str, Any]:
    """Everything a run needs to continue after `epoch` epochs: weights, optimiser, RNG streams, config.

    Its provenance (`dataset`) is checked once, by restore, before a resumed run trains.
    """
    spec, (h, w) = getattr(model, "spec", None), images.shape[-2:]
    return {"model": model.state_dict(), "optimizer": opt.state_dict(),
            "scaler": scaler.state_dict() if scaler is not None else None, "epoch": epoch,
            "history": history.to_dict(), "config": cfg.to_dict(), "spec": dict(spec) if spec else None,
            "rng": {"torch_cpu": torch.get_rng_state(), "shuffle": shuffle_gen.get_state(),
                    "torch_cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None},
            "dataset": dataset, "image_size": int(h) if h == w else [int(h), int(w)]}


def check_config_matches(saved: dict[str, Any], cfg: Any, path: Path, fn: str,
                         resumable: Iterable[str] = RESUMABLE) -> None:
    """Refuse to resume a checkpoint whose config differs from cfg in a field that changes the result."""
    now = cfg.to_dict()
    for key in sorted(set(now) - set(resumable)):
        a, b = saved.get(key), now[key]
        same = torch.equal(a, b) if isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor) else a == b
        if not same:
            raise ValueError(f"{fn}: cannot resume from {path}: its config has {key}={a!r} but cfg has {key}={b!r}; "
                             "use another checkpoint path or the same config")


def restore(path: Path, model: torch.nn.Module, opt: torch.optim.Optimizer, scaler: Any,
            shuffle_gen: torch.Generator, cfg: Any, fn: str, dataset: str | None = None) -> dict[str, Any]:
    """Load a checkpoint_state back into model, optimiser, scaler and RNGs; returns the whole state.

    dataset: the name of the training set to go on with; a checkpoint of another one is refused (ValueError).
    """
    state = load_checkpoint(path, map_location="cpu")
    if dataset and state.get("dataset") and state["dataset"] != dataset:
        raise ValueError(f"{fn}: cannot resume from {path}: it was trained on {state['dataset']!r}, the training "
                         f"set given is {dataset!r}; use the same data or another checkpoint path")
    spec = getattr(model, "spec", None)
    if state.get("spec") != (dict(spec) if spec else None):
        raise ValueError(f"{fn}: cannot resume from {path}: it holds model {state.get('spec')!r}, "
                         f"the model given is {spec!r}")
    check_config_matches(state["config"], cfg, path, fn)
    bad = [k for k, v in state["model"].items() if v.is_floating_point() and not bool(torch.isfinite(v).all())]
    if bad:
        raise ValueError(f"{fn}: cannot resume from {path}: it holds non-finite weights (NaN or inf) in "
                         f"{', '.join(bad[:3])}; use another checkpoint path")
    model.load_state_dict(state["model"])
    opt.load_state_dict(state["optimizer"])  # moves the optimiser state to the parameters' device
    if scaler is not None and state.get("scaler"):
        scaler.load_state_dict(state["scaler"])
    rng = state["rng"]
    torch.set_rng_state(rng["torch_cpu"])
    if rng.get("torch_cuda") and torch.cuda.is_available() and len(rng["torch_cuda"]) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(rng["torch_cuda"])
    shuffle_gen.set_state(rng["shuffle"])
    return state
