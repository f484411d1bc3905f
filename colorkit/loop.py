"""The training skeleton (run_epochs) and what the trainers share: train.fit, gan.fit_gan and the judges' fit.

run_epochs owns epochs, steps, the deferred loss read-back, progress bars, divergence checks and atomic per-epoch
checkpoints; a trainer plugs in its begin / step / end. Shared here too: device choice, mixed precision,
per-epoch augmentation seeds, images moved to the device once, validation, and the checkpoint state that makes a
killed run resume bit-exactly.
Bit-exact on the CPU (tests/test_train.py, test_gan.py); on CUDA some kernels (bilinear upsampling's backward,
cuDNN's weight gradients) are not deterministic, so a resumed GPU run matches up to float rounding unless
torch.use_deterministic_algorithms(True) is set.
"""
from __future__ import annotations

import math
import os
import time
from dataclasses import fields
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import torch
import torch.distributed as dist
from tqdm.auto import tqdm

from . import hints, targets
from .checkpoint import load_checkpoint, save_checkpoint
from .data.imageset import image_tensor
from .metrics import rmse_ab

AMP_MODES = ("auto", "off", "bf16", "fp16")
AUGMENT = dict(crop_padding=4, flip=True)  # CIFAR-style random crop (4 px padding) + horizontal flip
# Config fields that may differ between a checkpoint and the run resuming from it: they change how long or
# how a run is logged and executed, not what it computes.
EVAL_HINT_SEED = 0  # validation hints of hint models: the same every epoch (generator seeded per batch)
RESUMABLE = frozenset({"epochs", "checkpoint", "log_every", "amp", "channels_last", "sample_every", "sample_dir"})


class TrainingDiverged(FloatingPointError):
    """The training loss became NaN or infinite."""


class Curves:
    """Base of the trainers' histories (dataclasses of float lists): to_dict / from_dict as checkpoints store them."""

    def to_dict(self) -> dict[str, list[float]]:
        """Plain lists of floats, as stored in checkpoints."""
        return {f.name: [float(v) for v in getattr(self, f.name)] for f in fields(self)}

    @classmethod
    def from_dict(cls, d: dict[str, list[float]]):
        """Inverse of to_dict."""
        return cls(**{f.name: list(d.get(f.name, [])) for f in fields(cls)})


def dist_info() -> tuple[int, int]:
    """(rank, world size) of the torch.distributed group, (0, 1) outside torchrun."""
    ddp = dist.is_available() and dist.is_initialized()
    return (dist.get_rank(), dist.get_world_size()) if ddp else (0, 1)


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


@torch.no_grad()
def validate(model: torch.nn.Module, images: torch.Tensor, loss: str, space: str = "lab", k: int = 5,
             sigma: float = 5.0, class_weights: torch.Tensor | None = None, batch_size: int = 256,
             amp_dtype: torch.dtype | None = None, rank: int = 0, world: int = 1) -> tuple[float, float]:
    """A training loop's validation: mean loss and per-image chroma RMSE (annealed mean) over uint8 (N, 3, H, W) images.

    The chroma is the model's own (Lab ab, or YCbCr CbCr), predicted through predict_colors. Hint models get
    simulated hints drawn with a fixed seed (EVAL_HINT_SEED plus the batch's first index: the same on any number
    of ranks). Under torch.distributed each rank takes every world-th batch and the sums are all-reduced.
    """
    targets.output_kind(model, "validate")
    was_training = model.training
    model.eval()
    totals, count = torch.zeros(2, device=images.device, dtype=torch.float64), 0  # loss sum, rmse sum; images
    outs: list[torch.Tensor] = []

    def forward(m: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:  # predict_colors' model call, kept for the loss
        with torch.autocast(images.device.type, dtype=amp_dtype, enabled=amp_dtype is not None):
            outs.append(m(x))
        return outs[-1]

    for start in range(rank * batch_size, images.shape[0], world * batch_size):
        batch = images[start:start + batch_size]
        _, chroma = targets.luma_chroma(batch, space)  # (B, 2, H, W) true chroma in the model's space
        sim = None
        if hints.hint_channels(model):
            gen = torch.Generator(device=images.device).manual_seed(EVAL_HINT_SEED + start)
            sim = hints.simulate_hints(chroma, gen)
        pred = targets.predict_colors(model, batch, space, output="chroma", batch_size=batch.shape[0], forward=forward,
                                      hints=sim)
        n = batch.shape[0]
        count += n  # kept on the host: a tensor made from it would be one blocking copy a batch
        rmse = rmse_ab(pred, chroma, reduction="none")  # (B,)
        batch_loss = targets.compute_loss(outs.pop(), chroma, loss, k, sigma, class_weights, in_gamut=True).double()
        totals += torch.stack([batch_loss * n, rmse.double().sum()])
    totals = torch.cat([totals, totals.new_tensor([count])])  # loss sum, rmse sum, images
    if world > 1:
        dist.all_reduce(totals)
    model.train(was_training)
    loss_sum, rmse_sum, count = totals.tolist()
    return loss_sum / max(count, 1), rmse_sum / max(count, 1)


# ---------------------------------------------------------------- the skeleton every trainer plugs into

def _kept(path: Path | None, epoch: int) -> str:
    """What a stopped run leaves: only checkpoints of finite weights are ever written."""
    return (f"the last good checkpoint {path} (epoch {epoch}) is kept" if path is not None and path.exists()
            else "no checkpoint was written")


def run_epochs(name: str, start: int, epochs: int, steps: int, begin: Callable[[int], None],
               step: Callable[[int, int], dict[str, torch.Tensor]],
               end: Callable[[int, dict[str, list], float], dict[str, float]],
               state: Callable[[int], dict[str, Any]] | None = None, path: Path | None = None,
               models: Sequence[torch.nn.Module] = (), labels: dict[str, str] | None = None,
               advice: Callable[[], str] = lambda: "", log_every: int = 10, progress: bool = True,
               world: int = 1, rank: int = 0, desc: str = "epoch") -> None:
    """Epochs `start` .. `epochs` of `steps` steps each: the loop of train.fit, gan.fit_gan and judge_train.

    begin(epoch) readies an epoch (train mode, shuffle, augmentation seeds); step(epoch, i) runs one step and
    returns its values, detached tensors by name (a scalar, or a vector such as a GAN generator's loss terms).
    They are read back once `log_every` values wait (and at the epoch's end) in one device sync (averaged over ranks under DDP) and a
    non-finite one stops training (TrainingDiverged, naming `labels[key]`, the step and `advice()`).
    end(epoch, values, seconds) gets every value of the epoch by name and the seconds its steps took; it keeps
    history and validates, and returns numbers for the progress bar, each of which must be finite too. With a
    `path`, state(epochs done) is written there atomically after every epoch whose `models` are finite.
    """
    labels = labels or {}

    def stop(what: str, epoch: int) -> TrainingDiverged:
        hint = advice()
        return TrainingDiverged(f"{name}: {what}; training stopped ({_kept(path, epoch)}).{' ' + hint if hint else ''}")

    for epoch in range(start, epochs):
        t0 = time.perf_counter()
        begin(epoch)
        bar = tqdm(total=steps, desc=f"{desc} {epoch + 1}/{epochs}", disable=not progress or rank != 0)
        values: dict[str, list] = {}
        pending: list[tuple[int, str, torch.Tensor]] = []
        for i in range(steps):
            pending += [(i, key, t) for key, t in step(epoch, i).items()]
            if pending and (len(pending) >= log_every or i == steps - 1):
                flat = torch.cat([t.reshape(-1).float() for _, _, t in pending])
                if world > 1:
                    dist.all_reduce(flat)
                    flat = flat / world
                flat, k = flat.tolist(), 0
                for s, key, t in pending:
                    got, k = flat[k:k + t.numel()], k + t.numel()
                    bad = next((v for v in got if not math.isfinite(v)), None)
                    if bad is not None:
                        raise stop(f"{labels.get(key, key)} is {bad} at epoch {epoch + 1}, step {s + 1} of {steps}", epoch)
                    values.setdefault(key, []).append(got[0] if t.dim() == 0 else got)
                bar.update(pending[-1][0] + 1 - bar.n)
                bar.set_postfix({key: f"{v[-1] if not isinstance(v[-1], list) else v[-1][0]:.4g}"
                                 for key, v in values.items()})
                pending = []
        shown = end(epoch, values, time.perf_counter() - t0)
        bar.set_postfix({key: f"{v:.4g}" for key, v in shown.items()})
        bar.close()
        floats = [t.detach() for m in models for t in m.state_dict().values() if t.is_floating_point()]
        if floats and not bool(torch.stack([torch.isfinite(t).all() for t in floats]).all()):  # one device sync
            raise stop(f"the weights are NaN or infinite after epoch {epoch + 1}", epoch)
        bad = next((key for key, v in shown.items() if not math.isfinite(v)), None)
        if bad is not None:
            raise stop(f"the {labels.get(bad, bad)} is {shown[bad]} after epoch {epoch + 1}", epoch)
        if path is not None and state is not None and rank == 0:
            save_checkpoint(path, state(epoch + 1))
