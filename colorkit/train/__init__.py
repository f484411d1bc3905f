"""One training loop for every non-adversarial colorizer: TrainConfig, fit (AMP, DDP, resume).

`python -m colorkit.train` runs colorkit.train_cli (a package, so that running it does not import this twice).
"""
from __future__ import annotations

import hashlib
import math
import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from .. import targets
from .._checks import check_positive
from ..data import augment
from ..device import resolve_device
from ..data.photos import random_crops
from ..hints import hint_channels, hint_input, simulate_hints
from ..loop import (AMP_MODES, AUGMENT, Curves, amp_dtype, checkpoint_state, device_images, dist_info, epoch_seed,
                    restore, run_epochs, use_channels_last, validate)

# Optimiser presets, airbench style: each line says why it is here. cfg.lr / cfg.weight_decay override them.
OPTIMIZERS: dict[str, dict[str, Any]] = {
    # Zhang et al. 2016 as reproduced by seed 001; weight decay is Caffe-style L2 on the gradient, as torch's Adam does.
    "adam": dict(lr=3.16e-5, betas=(0.9, 0.99), weight_decay=1e-3),
    # seed 000: ADADELTA adapts a step size per parameter, so no learning rate to tune (torch's has no momentum term).
    "adadelta": dict(lr=1.0, rho=0.95, eps=1e-6, weight_decay=0.0),
    # seed 002: Keras' "rmsprop" defaults (rho 0.9, lr 1e-3) for the CNN regressor with a tanh head.
    "rmsprop": dict(lr=1e-3, alpha=0.9, eps=1e-7, weight_decay=0.0),
    # seed 000's Nesterov momentum on plain SGD: the classic baseline, needs a tuned lr.
    "sgd": dict(lr=1e-2, momentum=0.9, nesterov=True, weight_decay=1e-4),
}
_OPTIMIZER_CLASSES = {"adam": torch.optim.Adam, "adadelta": torch.optim.Adadelta,
                      "rmsprop": torch.optim.RMSprop, "sgd": torch.optim.SGD}
LOSSES = ("auto",) + targets.REGRESSION_LOSSES + targets.CLASSIFICATION_LOSSES
COLOR_SPACES = ("lab", "ycbcr")


@dataclass
class TrainConfig:
    """Everything fit needs besides the model and data; to_dict() is what checkpoints store."""

    epochs: int = 1
    batch_size: int = 64
    optimizer: str = "adam"  # a key of OPTIMIZERS
    lr: float | None = None  # None: the optimiser preset's
    weight_decay: float | None = None  # None: the optimiser preset's
    loss: str = "auto"  # auto: l2 for "ab" models, ce for "logits" models
    k: int = 5  # nearest bins in the soft target (seed 001: 5)
    sigma: float = 5.0  # Gaussian std of the soft target, ab units
    class_weights: torch.Tensor | None = None  # (313,) for loss "rebalanced"
    target_blur: float = 0.0  # Gaussian std (pixels) of the blur on the chroma target, seed 000; 0 = off
    color_space: str = "lab"  # "lab" | "ycbcr" (seed 000); logits models need "lab"
    augment: bool = False  # random crop + flip on the device
    crop: int | None = None  # side of one random crop of every training image, on the device (photos); None: whole
    amp: str = "auto"  # auto: bf16 autocast on CUDA (fp16 without bf16) and on CPUs with native bf16; "off": fp32
    channels_last: str | bool = "auto"  # auto: on CUDA and on CPUs with native bf16
    seed: int = 0
    checkpoint: str | os.PathLike | None = None  # written atomically each epoch; resumed from when it exists
    log_every: int = 10  # steps between loss read-backs (one device sync each)
    profile: str | None = None  # the run profile, recorded in checkpoints for `colorkit info`; no effect on training

    def __post_init__(self) -> None:
        for name, valid in (("optimizer", tuple(OPTIMIZERS)), ("loss", LOSSES), ("color_space", COLOR_SPACES),
                            ("amp", AMP_MODES), ("channels_last", ("auto", True, False))):
            if getattr(self, name) not in valid:
                raise ValueError(f"TrainConfig: unknown {name} {getattr(self, name)!r}; "
                                 f"valid values: {', '.join(map(str, valid))}")
        for name in ("epochs", "batch_size", "k", "log_every"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"TrainConfig: {name} must be an int >= 1, got {value!r}")
        check_positive(self.sigma, "sigma", "TrainConfig")
        if self.crop is not None and (isinstance(self.crop, bool) or not isinstance(self.crop, int) or self.crop < 1):
            raise ValueError(f"TrainConfig: crop must be an int >= 1 or None, got {self.crop!r}")
        for name in ("target_blur", "lr", "weight_decay"):
            value = getattr(self, name)
            if value is not None:
                check_positive(value, name, "TrainConfig", allow_zero=name != "lr")
                if not math.isfinite(value):  # lr inf trains NaN weights
                    raise ValueError(f"TrainConfig: {name} must be a finite number {'>' if name == 'lr' else '>='} 0, "
                                     f"got {value!r}")
        cw = self.class_weights
        if cw is not None and (not isinstance(cw, torch.Tensor) or tuple(cw.shape) != (313,)):
            got = tuple(cw.shape) if isinstance(cw, torch.Tensor) else type(cw).__name__
            raise ValueError(f"TrainConfig: class_weights must be a (313,) tensor or None, got {got}")

    def to_dict(self) -> dict[str, Any]:
        """Plain types only (str paths, CPU tensor), so checkpoints load with weights_only=True."""
        d = {f.name: getattr(self, f.name) for f in fields(self)}
        d["checkpoint"] = None if self.checkpoint is None else str(self.checkpoint)
        d["class_weights"] = None if self.class_weights is None else self.class_weights.detach().float().cpu()
        return d


@dataclass
class History(Curves):
    """What fit measured: training loss per step and per epoch, validation metrics, speed."""

    train_loss_step: list[float] = field(default_factory=list)  # every step, mean over ranks
    train_loss: list[float] = field(default_factory=list)  # per epoch
    val_loss: list[float] = field(default_factory=list)  # per epoch (empty without val_set)
    val_rmse_ab: list[float] = field(default_factory=list)  # per epoch, chroma RMSE of the decoded prediction
    epoch_seconds: list[float] = field(default_factory=list)
    images_per_second: list[float] = field(default_factory=list)  # training images (all ranks) per second


    def plot(self, ax=None):
        """Plot the loss curves (steps faint, epochs as points) on a matplotlib axis; returns the axis."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6, 3.5))
        epochs = range(1, len(self.train_loss) + 1)
        if self.train_loss_step and self.train_loss:
            per_epoch = len(self.train_loss_step) / len(self.train_loss)
            ax.plot([(i + 1) / per_epoch for i in range(len(self.train_loss_step))], self.train_loss_step,
                    alpha=0.35, label="train (step)")
        ax.plot(epochs, self.train_loss, "o-", label="train (epoch)")
        if self.val_loss:
            ax.plot(epochs, self.val_loss, "s-", label="validation")
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss")
        ax.legend()
        return ax


def make_optimizer(params, cfg: TrainConfig) -> torch.optim.Optimizer:
    """The optimiser named by cfg.optimizer with its preset, cfg.lr / cfg.weight_decay taking precedence."""
    options = dict(OPTIMIZERS[cfg.optimizer])
    if cfg.lr is not None:
        options["lr"] = cfg.lr
    if cfg.weight_decay is not None:
        options["weight_decay"] = cfg.weight_decay
    return _OPTIMIZER_CLASSES[cfg.optimizer](params, **options)


def shard_indices(perm: torch.Tensor, rank: int, world: int) -> torch.Tensor:
    """Rank `rank`'s disjoint share of a shuffled epoch: every world-th index, all ranks the same length."""
    usable = (perm.numel() // world) * world  # drop the remainder so every rank runs the same number of steps
    return perm[rank:usable:world]


def weights_digest(model: torch.nn.Module) -> str:
    """SHA-256 of the model's state_dict bytes: equal digests mean bit-identical weights and buffers."""
    h = hashlib.sha256()
    for name, t in model.state_dict().items():
        h.update(name.encode())
        h.update(t.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def fit(model: torch.nn.Module, train_set: Any, val_set: Any = None, cfg: TrainConfig | None = None,
        device: str | torch.device | None = None, progress: bool = True) -> History:
    """Train `model` on `train_set` (ImageSet or uint8 tensor) per cfg; resumes from cfg.checkpoint if it exists.

    Hint models (model.hint_channels > 0, colorkit.hints) see L + hints simulated from each batch's true ab.
    """
    cfg = TrainConfig() if cfg is None else cfg
    if not isinstance(cfg, TrainConfig):
        raise TypeError(f"fit: expected cfg as a TrainConfig, got {type(cfg).__name__}")
    rank, world = dist_info()
    device = resolve_device(device, world)
    kind = targets.output_kind(model, "fit")
    loss_name = targets.resolve_loss(cfg.loss, kind)
    if kind == "logits" and cfg.color_space != "lab":
        raise ValueError(f"fit: logits models classify Lab ab bins; color_space must be 'lab', got {cfg.color_space!r}")
    if loss_name == "rebalanced" and cfg.class_weights is None:
        raise ValueError("fit: loss 'rebalanced' needs cfg.class_weights, a (313,) tensor (see colorkit.rebalance)")
    n_hints = hint_channels(model)
    if n_hints and cfg.color_space != "lab":
        raise ValueError(f"fit: hint models take Lab ab hints; color_space must be 'lab', got {cfg.color_space!r}")
    images, val_images = device_images(model, train_set, val_set, device, "fit")
    multiple = getattr(model, "input_multiple", 1)
    if cfg.crop is not None and (cfg.crop > min(images.shape[-2:]) or cfg.crop % multiple):
        raise ValueError(f"fit: crop must be a multiple of {multiple} (the model's input multiple) and at most the "
                         f"images' side {min(images.shape[-2:])}, got {cfg.crop}")
    if images.shape[0] < world:
        raise ValueError(f"fit: train_set has {images.shape[0]} images, fewer than the {world} ranks")

    torch.manual_seed(cfg.seed)
    channels_last = use_channels_last(cfg.channels_last, device)
    model.to(device, memory_format=torch.channels_last if channels_last else torch.preserve_format)
    opt = make_optimizer(model.parameters(), cfg)
    autocast_dtype = amp_dtype(cfg.amp, device, "fit")
    scaler = torch.amp.GradScaler("cuda") if autocast_dtype == torch.float16 else None
    shuffle_gen = torch.Generator().manual_seed(cfg.seed)  # same permutation on every rank, then sharded
    aug_gen = torch.Generator(device=device)
    class_weights = None if cfg.class_weights is None else cfg.class_weights.to(device, torch.float32)
    path = None if cfg.checkpoint is None else Path(cfg.checkpoint)
    history, start = History(), 0
    dataset = str(getattr(train_set, "name", "") or "")
    if path is not None and path.exists():
        state = restore(path, model, opt, scaler, shuffle_gen, cfg, "fit", dataset=dataset)
        start, history = int(state["epoch"]), History.from_dict(state["history"])
    net = model
    if world > 1:
        ids = [device.index if device.index is not None else torch.cuda.current_device()] \
            if device.type == "cuda" else None
        net = DistributedDataParallel(model, device_ids=ids)  # broadcasts rank 0's weights once
    order = torch.empty(0, dtype=torch.long)

    def begin(epoch: int) -> None:
        nonlocal order
        model.train()
        aug_gen.manual_seed(epoch_seed(cfg.seed, epoch, rank))
        order = shard_indices(torch.randperm(images.shape[0], generator=shuffle_gen), rank, world).to(device)

    def step(epoch: int, i: int) -> dict[str, torch.Tensor]:
        batch = images[order[i * cfg.batch_size:(i + 1) * cfg.batch_size]]  # (B, 3, H, W) uint8
        if cfg.crop is not None:
            batch = random_crops(batch, cfg.crop, aug_gen)  # (B, 3, crop, crop)
        if cfg.augment:
            batch = augment(batch, generator=aug_gen, **AUGMENT)
        luma, chroma = targets.luma_chroma(batch, cfg.color_space, cfg.target_blur)
        x = hint_input(luma, *simulate_hints(chroma, aug_gen)) if n_hints else luma  # (B, 1 or 4, H, W)
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        with torch.autocast(device.type, dtype=autocast_dtype, enabled=autocast_dtype is not None):
            out = net(x)  # (B, 2, H, W) or (B, 313, H', W')
        loss = targets.compute_loss(out, chroma, loss_name, cfg.k, cfg.sigma, class_weights, in_gamut=True)
        opt.zero_grad(set_to_none=True)
        if scaler is not None:
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
        else:
            loss.backward()
            opt.step()
        return {"loss": loss.detach()}

    def end(epoch: int, values: dict[str, list], seconds: float) -> dict[str, float]:
        if world > 1:  # DDP syncs gradients only: make BatchNorm statistics identical to rank 0's
            for buf in model.buffers():
                dist.broadcast(buf, src=0)
        history.train_loss_step += values["loss"]
        history.train_loss.append(sum(values["loss"]) / len(values["loss"]))
        history.epoch_seconds.append(seconds)
        history.images_per_second.append(order.numel() * world / seconds)
        if val_images is None:
            return {"loss": history.train_loss[-1]}
        val_loss, val_rmse = validate(model, val_images, loss_name, cfg.color_space, cfg.k, cfg.sigma,
                                      class_weights, cfg.batch_size, autocast_dtype, rank, world)
        history.val_loss.append(val_loss)
        history.val_rmse_ab.append(val_rmse)
        return {"loss": history.train_loss[-1], "val_loss": val_loss, "val_rmse_ab": val_rmse}

    steps = math.ceil(shard_indices(torch.arange(images.shape[0]), rank, world).numel() / cfg.batch_size)
    run_epochs("fit", start, cfg.epochs, steps, begin, step, end,
               lambda done: checkpoint_state(model, opt, scaler, done, history, cfg, shuffle_gen, images, dataset),
               path, [model], {"val_loss": "validation loss"},
               lambda: f"Lower the learning rate (lr={opt.param_groups[0]['lr']:g}).", cfg.log_every, progress,
               world, rank)
    if channels_last:  # back to the default layout: predictions equal those of the model reloaded from disk
        model.to(memory_format=torch.contiguous_format)
    model.eval()
    return history

