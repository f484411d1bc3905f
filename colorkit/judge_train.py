"""Training the judges of notebook 06 and of the kit's pretrained judge: recipes, one-cycle SGD, resume, cache."""
from __future__ import annotations

import hashlib
import os
import time
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

from .checkpoint import load_checkpoint, save_checkpoint
from .data import ImageSet, augment, batches
from .device import default_device
from .judge import _to_input, judge_images
from .loop import amp_dtype, run_epochs, use_channels_last
from .models.airnet import AirNet, AirNetConfig
from .models.vgg import VGG, WeightsAbsentError, load_imagenet_vgg


@dataclass(frozen=True)
class JudgeConfig:
    """How a judge is trained: recipes.RECIPES builds the shipped judges' (pretrained_train), IMAGENET_JUDGE is seed 004's."""

    arch: str = "vgg16"  # "vgg16" / "vgg11" (CIFAR VGG-bn) or "vgg16_bn_imagenet" (fine-tuned torchvision net)
    width: float = 1.0
    epochs: int = 40
    batch_size: int = 512
    lr: float = 0.2  # peak learning rate of the one-cycle schedule
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float = 5e-4  # on conv / linear weights only, not on BN parameters and biases
    label_smoothing: float = 0.1
    warmup: float = 0.15  # fraction of steps of linear warm-up from 0, then linear decay to 0
    crop_padding: int = 4  # random crop after padding by this much (colorkit.data.augment, reflect; 0 = off)
    flip: bool = True  # random horizontal flips
    bf16: bool = True  # bf16 autocast where it is fast: CUDA, CPUs with native bf16 (loop.amp_dtype)
    channels_last: bool = True  # NHWC memory layout where bf16 is used (loop.use_channels_last)
    tta: int = 1  # test-time augmentation: 0 none, 1 horizontal flip, 2 flip and 1-pixel translations (judge.py)
    ema: float = 0.0  # decay per step of an exponential moving average of the weights, used at the end; 0 = off
    widths: tuple[int, int, int] | None = None  # AirNet's block widths (None: AirNetConfig's)
    inputs: str = "rgb"  # AirNet: "rgb", or "ab" for a judge that sees only colour (the chroma judge)
    eval_batch_size: int = 1000
    n_train: int | None = None  # use the first n_train training images (None = all)
    seed: int = 0
    profile: str = "custom"  # a label, part of the cache key
    progress: bool = True  # tqdm progress bar over epochs


# Seed 004's own judge: torchvision's ImageNet VGG-16-bn fine-tuned on 10,000 CIFAR images upscaled to 224 (49x the
# FLOPs per image of 32x32, so few epochs and a small batch); the pretrained body needs a small lr. The kit's shipped
# judges are trained by recipes.RECIPES ("judge", "chroma_judge") through pretrained_train.
IMAGENET_JUDGE = JudgeConfig(arch="vgg16_bn_imagenet", width=1.0, epochs=10, batch_size=128, lr=0.01, warmup=0.1,
                             n_train=10000, eval_batch_size=250, profile="imagenet")


# ---------------------------------------------------------------- training and the cache

def _autocast(device: torch.device, enabled: bool):
    """bf16 autocast where it is fast (CUDA with bf16, CPUs with native bf16: loop.amp_dtype); else a no-op."""
    dtype = amp_dtype("auto" if enabled else "off", device, "train_judge")
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=dtype == torch.bfloat16)


def _new_judge(cfg: JudgeConfig, num_classes: int, pretrained: bool) -> nn.Module:
    if cfg.arch == "airnet":
        widths = AirNetConfig.widths if cfg.widths is None else tuple(cfg.widths)
        return AirNet(AirNetConfig(num_classes=num_classes, widths=widths, inputs=cfg.inputs))
    if cfg.arch.endswith("_imagenet"):  # seed 004's judge; pretrained=False when a cached checkpoint follows
        return load_imagenet_vgg(cfg.arch.removesuffix("_imagenet"), num_classes, pretrained=pretrained)
    return VGG(cfg.arch, num_classes=num_classes, width=cfg.width)


def one_cycle(step: int, total: int, warmup: float) -> float:
    """lr factor at `step` of `total`: linear 0 -> 1 over the first warmup * total steps, then linear 1 -> 0."""
    w = max(1, round(warmup * total))
    return (step + 1) / w if step < w else max(0.0, (total - step) / max(1, total - w))


def _recipe(config: dict) -> dict:
    """The fields of a JudgeConfig that change the trained weights (not progress bars or evaluation)."""
    return {k: v for k, v in config.items() if k not in ("progress", "eval_batch_size", "tta")}


def _fit(model: nn.Module, train_set: ImageSet, cfg: JudgeConfig, device: torch.device,
         resume: Path | None = None) -> list[dict]:
    """SGD-Nesterov one-cycle training with label smoothing; uint8 data on the device, augmentation there too.

    With `resume`, the state after each epoch is written there atomically and a stopped run continues from it.
    """
    n = len(train_set)
    bs = min(cfg.batch_size, n)
    steps = n // bs  # full batches only: steady BN statistics and one input shape for cuDNN
    total = steps * cfg.epochs
    decay = [p for p in model.parameters() if p.ndim > 1]  # conv / linear weights
    rest = [p for p in model.parameters() if p.ndim <= 1]  # BN scales and shifts, biases: no weight decay
    opt = torch.optim.SGD([{"params": decay, "weight_decay": cfg.weight_decay}, {"params": rest, "weight_decay": 0.0}],
                          lr=cfg.lr, momentum=cfg.momentum, nesterov=cfg.nesterov)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: one_cycle(s, total, cfg.warmup))
    channels_last = cfg.channels_last and use_channels_last("auto", device)
    if channels_last:
        model.to(memory_format=torch.channels_last)
    g = torch.Generator().manual_seed(cfg.seed)  # CPU generator: the same shuffles and crops on every device
    data = train_set.to(device)  # (N, 3, H, W) uint8 kept on the device
    ema = None
    if cfg.ema > 0:  # weights and BN statistics averaged every step; the average is what the judge keeps
        ema = torch.optim.swa_utils.AveragedModel(
            model, multi_avg_fn=torch.optim.swa_utils.get_ema_multi_avg_fn(cfg.ema), use_buffers=True)
    history, start = [], 0
    if resume is not None and resume.is_file():
        state = load_checkpoint(resume)
        if _recipe(state.get("config", {})) != _recipe(asdict(cfg)):
            raise ValueError(f"train_judge: cannot resume from {resume}: it was written by another judge config; "
                             "delete it to start again")
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        g.set_state(state["generator"])
        if ema is not None:
            ema.load_state_dict(state["ema"])
        history, start = state["history"], int(state["epoch"])
    epoch_batches = iter(())

    def begin(epoch: int) -> None:
        nonlocal epoch_batches
        model.train()
        epoch_batches = batches(data, bs, shuffle=True, generator=g, drop_last=True)  # shuffled at the first step

    def step(epoch: int, i: int) -> dict[str, torch.Tensor]:
        x, y = next(epoch_batches)
        x = _to_input(augment(x, cfg.crop_padding, cfg.flip, generator=g), device, channels_last)
        with _autocast(device, cfg.bf16):
            logits = model(x)  # (B, K)
        loss = F.cross_entropy(logits.float(), y, label_smoothing=cfg.label_smoothing)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        if ema is not None:
            ema.update_parameters(model)
        return {"loss": loss.detach(), "acc": (logits.argmax(1) == y).float().mean()}

    def end(epoch: int, values: dict[str, list], seconds: float) -> dict[str, float]:
        history.append({"epoch": epoch + 1, "loss": sum(values["loss"]) / steps,
                        "train_acc": sum(values["acc"]) / steps, "seconds": seconds})
        return {"loss": history[-1]["loss"], "acc": history[-1]["train_acc"]}

    run_epochs("train_judge", start, cfg.epochs, steps, begin, step, end,
               lambda done: {"config": asdict(cfg), "epoch": done, "history": history, "model": model.state_dict(),
                             "optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
                             "generator": g.get_state(), "ema": None if ema is None else ema.state_dict()},
               resume, [model], advice=lambda: "Lower the learning rate (lr).", progress=cfg.progress,
               desc=f"judge {cfg.arch} epoch")
    if ema is not None:
        model.load_state_dict(ema.module.state_dict())
    model.eval()
    return history


def _slug(text: str) -> str:
    return "-".join("".join(c if c.isalnum() else " " for c in text.lower()).split()) or "data"


def judge_key(cfg: JudgeConfig, data_name: str, n_train: int) -> str:
    """Cache key: profile, arch, width and data name, plus a hash of the rest of the training recipe."""
    recipe = _recipe(asdict(cfg))
    digest = hashlib.sha1(f"{sorted(recipe.items())}|{n_train}".encode()).hexdigest()[:8]
    return f"judge-{cfg.profile}-{cfg.arch}-w{cfg.width:g}-{_slug(data_name)}-{digest}"


def _device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"{device.type} ({torch.get_num_threads()} threads)"


def train_judge(train_set: ImageSet, test_set: ImageSet | None, cfg: JudgeConfig,
                device: torch.device | str | None = None, cache: str | os.PathLike | None = None
                ) -> tuple[nn.Module, dict]:
    """Train the judge once; with `cache` (a .pt file or a folder) later calls load the checkpoint instead.

    Returns (model in eval mode on device, info) with test_accuracy, train_time_s, data_name, device_name,
    history and cached (True when loaded). The checkpoint holds the weights, the config and this info.
    """
    if not isinstance(cfg, JudgeConfig):
        raise TypeError(f"train_judge: expected cfg as a JudgeConfig, got {type(cfg).__name__}")
    if not isinstance(train_set, ImageSet) or train_set.labels is None:
        raise ValueError(f"train_judge: expected train_set as a labelled ImageSet, got {type(train_set).__name__}")
    if len(train_set) < 2:
        raise ValueError(f"train_judge: expected at least 2 training images (batch norm), got {len(train_set)}")
    device = torch.device(device) if device is not None else default_device()
    if cfg.n_train is not None and cfg.n_train < len(train_set):
        train_set = train_set.subset(cfg.n_train)
    num_classes = max(len(train_set.classes), int(train_set.labels.max()) + 1)
    key = judge_key(cfg, train_set.name, len(train_set))
    path = None
    if cache is not None:
        path = Path(cache) if str(cache).endswith(".pt") else Path(cache) / f"{key}.pt"
        if path.is_file():
            state = load_checkpoint(path)
            if state.get("key") != key:
                raise ValueError(f"train_judge: cache {path} holds judge {state.get('key')!r}, expected {key!r}; "
                                 "delete it or pass a folder as cache (one file per key)")
            model = _new_judge(cfg, state["num_classes"], pretrained=False)
            model.load_state_dict(state["model"])
            return model.to(device).eval(), {**state["info"], "cached": True, "cache_path": str(path)}
    # the initial weights follow cfg.seed; the global CPU and CUDA RNGs are restored afterwards
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(cfg.seed)
        model = _new_judge(cfg, num_classes, pretrained=True).to(device)
        if isinstance(model, AirNet):
            model.init_whitening(train_set.images.to(device))
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    partial = None if path is None else path.with_name(path.stem + ".partial.pt")
    history = _fit(model, train_set, cfg, device, resume=partial)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    seconds = sum(h.get("seconds", 0.0) for h in history) or time.perf_counter() - start
    acc = None
    if test_set is not None:
        acc = judge_images(model, test_set.images, test_set.labels, cfg.eval_batch_size, tta=cfg.tta)["top1"]
    info = {"key": key, "arch": cfg.arch, "width": cfg.width, "profile": cfg.profile, "epochs": cfg.epochs,
            "data_name": train_set.name, "n_train": len(train_set), "n_test": len(test_set) if test_set else 0,
            "test_accuracy": acc, "train_time_s": seconds, "device_name": _device_name(device),
            "torch_version": str(torch.__version__), "history": history}
    if path is not None:
        weights = {k: v.detach().cpu() for k, v in model.state_dict().items()}
        save_checkpoint(path, {"kind": "judge", "key": key, "num_classes": num_classes, "config": asdict(cfg),
                               "model": weights, "info": info})
        partial.unlink(missing_ok=True)
    return model, {**info, "cached": False, "cache_path": str(path) if path else None}


def train_imagenet_judge(train_set: ImageSet, test_set: ImageSet | None, cfg: JudgeConfig | None = None,
                         device: torch.device | str | None = None, cache: str | os.PathLike | None = None
                         ) -> tuple[nn.Module, dict] | None:
    """Seed 004's judge: fine-tune torchvision's ImageNet VGG-16-bn on CIFAR-10 upscaled to 224 if its weights
    file is already in the torch hub cache (or a cached judge exists); otherwise warn and return None."""
    cfg = cfg or IMAGENET_JUDGE
    try:
        return train_judge(train_set, test_set, cfg, device, cache)
    except WeightsAbsentError as exc:
        warnings.warn(f"{exc}; skipping the ImageNet judge", RuntimeWarning, stacklevel=2)
        return None
