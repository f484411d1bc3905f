"""The VGG judge of seed 004: train (and cache) a CIFAR-10 classifier, then score colorizers with it."""
from __future__ import annotations

import hashlib
import os
import time
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import torch
import torch.nn as nn
import torch.nn.functional as F
from tqdm.auto import tqdm

from ._checks import check_image_batch, check_tensor
from .checkpoint import load_checkpoint, save_checkpoint
from .color import join_lab, split_lab, uint8_to_float
from .data import ImageSet, augment, batches
from .device import default_device
from .loop import amp_dtype, use_channels_last
from .metrics import colorizer_ab, rmse_ab
from .models.airnet import AirNet, AirNetConfig
from .models.vgg import (VGG, WeightsAbsentError, imagenet_judge_available, imagenet_weights_path,  # noqa: F401
                         load_imagenet_vgg)
from .profiles import Profile, get_profile

if TYPE_CHECKING:
    pass

# Seed 004 (Li & Wang, Figure 7): top-1 accuracy of their ImageNet-pretrained VGG fine-tuned on CIFAR-10, for
# the test images as grayscale, colorized by each model, and in true colour. Published as percentages.
SEED_004_TABLE: dict[str, float] = {
    "grayscale": 0.22, "regression": 0.46, "classification": 0.57,
    "annealed_mean": 0.65,  # classification model decoded with the annealed mean, T = 0.89
    "vgg_transfer": 0.63, "ground_truth": 0.80,
}


@dataclass(frozen=True)
class JudgeConfig:
    """How the judge is trained; build one with judge_config(profile) from JUDGE_PRESETS."""

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
    tta: bool = True  # evaluate with horizontal-flip test-time augmentation (mean of the two logits)
    eval_batch_size: int = 1000
    n_train: int | None = None  # use the first n_train training images (None = all)
    seed: int = 0
    profile: str = "full"  # part of the cache key
    progress: bool = True  # tqdm progress bar over epochs


# One dict of presets, one comment per reason. `epochs` comes from Profile.judge_epochs.
JUDGE_PRESETS: dict[str, dict] = {
    # One H100, all of CIFAR-10: VGG-16-bn with the fast-CIFAR recipe (batch 512, SGD Nesterov 0.9, one-cycle
    # lr peaking at 0.2 after 15 % warm-up then linear to 0, weight decay 5e-4 on weights only, label
    # smoothing 0.1, crop + flip, bf16 + channels_last). VGG-16-bn reaches ~93-94 % with such schedules in
    # 30-40 epochs; at ~0.63 GFLOP forward per image, 40 epochs are ~4 PFLOP: about a minute on an H100.
    # Target >= 92 % (91 % on the JPEG copy) in < 3 min; NOT measured on a GPU yet.
    "full": dict(arch="vgg16", width=1.0, batch_size=512, lr=0.2, warmup=0.15),
    # Laptop CPU: VGG-11 at quarter width is ~40x cheaper; smaller batch -> more steps in 4 epochs.
    "cpu": dict(arch="vgg11", width=0.25, batch_size=128, lr=0.1, warmup=0.2, eval_batch_size=500),
    # CI: the smallest net that exercises every code path; the numbers mean nothing.
    "smoke": dict(arch="vgg11", width=0.125, batch_size=64, lr=0.05, warmup=0.2, tta=False, eval_batch_size=256),
    # Seed 004's own judge: ImageNet VGG-16-bn fine-tuned on 10,000 CIFAR images upscaled to 224 (49x the
    # FLOPs per image of 32x32 -> fewer epochs, smaller batch); the pretrained body needs a small lr.
    "imagenet": dict(arch="vgg16_bn_imagenet", width=1.0, batch_size=128, lr=0.01, warmup=0.1,
                     n_train=10000, eval_batch_size=250),
}


def judge_config(profile: str | Profile = "full", preset: str | None = None, **overrides) -> JudgeConfig:
    """JudgeConfig for a profile: the preset of that name (or `preset`), epochs from profile.judge_epochs."""
    prof = get_profile(profile)
    name = preset or prof.name
    if name not in JUDGE_PRESETS:
        raise ValueError(f"judge_config: unknown preset {name!r}; valid presets: {', '.join(JUDGE_PRESETS)}")
    # The ImageNet judge fine-tunes at 224x224 (49x the pixels): a quarter of the epochs (full: 10; seed 004: 20).
    epochs = prof.judge_epochs if name != "imagenet" else max(1, prof.judge_epochs // 4)
    return JudgeConfig(**{"epochs": epochs, "profile": prof.name, **JUDGE_PRESETS[name], **overrides})


# ---------------------------------------------------------------- training and the cache

def _autocast(device: torch.device, enabled: bool):
    """bf16 autocast where it is fast (CUDA with bf16, CPUs with native bf16: loop.amp_dtype); else a no-op."""
    dtype = amp_dtype("auto" if enabled else "off", device, "train_judge")
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=dtype == torch.bfloat16)


def _module_device(model: nn.Module) -> torch.device:
    return next(model.parameters()).device


def _to_input(x: torch.Tensor, device: torch.device, channels_last: bool) -> torch.Tensor:
    """uint8 or float images -> float RGB in [0, 1] on device (NHWC when asked, on CUDA)."""
    x = x.to(device, non_blocking=True)
    x = uint8_to_float(x) if x.dtype == torch.uint8 else x.float()
    return x.contiguous(memory_format=torch.channels_last) if channels_last else x


def _new_judge(cfg: JudgeConfig, num_classes: int, pretrained: bool) -> nn.Module:
    if cfg.arch == "airnet":
        return AirNet(AirNetConfig(num_classes=num_classes))
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
        history, start = state["history"], int(state["epoch"])
    bar = tqdm(range(start, cfg.epochs), desc=f"judge {cfg.arch}", disable=not cfg.progress,
               initial=start, total=cfg.epochs)
    for epoch in bar:
        t0 = time.perf_counter()
        model.train()
        loss_sum, correct = torch.zeros((), device=device), torch.zeros((), device=device)
        step_bar = tqdm(total=steps, desc=f"epoch {epoch + 1}/{cfg.epochs}", leave=False,
                        disable=not cfg.progress or steps < 20)  # long epochs (CPU) show their steps
        for x, y in batches(data, bs, shuffle=True, generator=g, drop_last=True):
            step_bar.update()
            x = _to_input(augment(x, cfg.crop_padding, cfg.flip, generator=g), device, channels_last)
            with _autocast(device, cfg.bf16):
                logits = model(x)  # (B, K)
            loss = F.cross_entropy(logits.float(), y, label_smoothing=cfg.label_smoothing)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            loss_sum += loss.detach()  # no host sync inside the epoch
            correct += (logits.argmax(1) == y).sum()
        step_bar.close()
        history.append({"epoch": epoch + 1, "loss": loss_sum.item() / steps,
                        "train_acc": correct.item() / (steps * bs), "seconds": time.perf_counter() - t0})
        bar.set_postfix(loss=f"{history[-1]['loss']:.3f}", acc=f"{history[-1]['train_acc']:.3f}")
        if resume is not None:
            save_checkpoint(resume, {"config": asdict(cfg), "epoch": epoch + 1, "history": history,
                                     "model": model.state_dict(), "optimizer": opt.state_dict(),
                                     "scheduler": sched.state_dict(), "generator": g.get_state()})
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


def train_judge(train_set: ImageSet, test_set: ImageSet | None, cfg: JudgeConfig | str | Profile,
                device: torch.device | str | None = None, cache: str | os.PathLike | None = None
                ) -> tuple[nn.Module, dict]:
    """Train the judge once; with `cache` (a .pt file or a folder) later calls load the checkpoint instead.

    Returns (model in eval mode on device, info) with test_accuracy, train_time_s, data_name, device_name,
    history and cached (True when loaded). The checkpoint holds the weights, the config and this info.
    """
    cfg = cfg if isinstance(cfg, JudgeConfig) else judge_config(cfg)
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
    cfg = cfg or judge_config("full", preset="imagenet")
    try:
        return train_judge(train_set, test_set, cfg, device, cache)
    except WeightsAbsentError as exc:
        warnings.warn(f"{exc}; skipping the ImageNet judge", RuntimeWarning, stacklevel=2)
        return None


# ---------------------------------------------------------------- evaluation

@torch.no_grad()
def _judge_batch(judge: nn.Module, x: torch.Tensor, tta: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits (B, K) (flip-TTA mean when asked) and penultimate features (B, D) of RGB x in [0, 1].

    Evaluation runs in float32 (no autocast): cheap next to training, and the Frechet distance wants precise features.
    """
    feats = judge.penultimate(x)
    logits = judge.fc(feats)
    if tta:
        logits = (logits + judge(x.flip(-1))) / 2
    return logits.float(), feats.float()


def judge_images(judge: nn.Module, images: torch.Tensor, labels: torch.Tensor, batch_size: int = 500,
                 tta: bool = False) -> dict:
    """Top-1 accuracy, mean true-class confidence and penultimate features of the judge on RGB images.

    images: (N, 3, H, W) uint8 or float in [0, 1]; labels: (N,) int64. Returns top1 and true_class_confidence
    as fractions, features (N, D) float32, predictions (N,) and confidences (N,), tensors on images' device.
    """
    check_image_batch(images, "images", "judge_images", channels=3, floating=False)
    check_tensor(labels, "labels", "judge_images")
    if labels.shape != (images.shape[0],):
        raise ValueError(f"judge_images: expected labels of shape ({images.shape[0]},), got {tuple(labels.shape)}")
    if batch_size < 1:
        raise ValueError(f"judge_images: batch_size must be >= 1, got {batch_size}")
    device, was_training = _module_device(judge), judge.training
    judge.eval()
    channels_last = next(judge.parameters()).is_contiguous(memory_format=torch.channels_last)
    probs, feats = [], []
    for i in range(0, images.shape[0], batch_size):
        logits, f = _judge_batch(judge, _to_input(images[i:i + batch_size], device, channels_last), tta)
        probs.append(logits.softmax(1))
        feats.append(f)
    judge.train(was_training)
    p = torch.cat(probs)  # (N, K)
    y = labels.to(device)
    true_p = p.gather(1, y[:, None]).squeeze(1)  # (N,)
    pred = p.argmax(1)
    return {"top1": (pred == y).float().mean().item(), "true_class_confidence": true_p.mean().item(),
            "features": torch.cat(feats).to(images.device), "predictions": pred.to(images.device),
            "confidences": true_p.to(images.device)}


def frechet_distance(feats_a: torch.Tensor, feats_b: torch.Tensor) -> float:
    """FID-style distance between Gaussian fits of two feature sets (N_a, D), (N_b, D), computed in float64.

    |mu_a - mu_b|^2 + tr(C_a + C_b - 2 (C_a C_b)^(1/2)), with tr (C_a C_b)^(1/2) = sum sqrt(eig(S C_b S)),
    S = C_a^(1/2) (both symmetric PSD, so eigh is exact and stable).
    """
    for name, f in (("feats_a", feats_a), ("feats_b", feats_b)):
        check_tensor(f, name, "frechet_distance")
        if f.dim() != 2 or f.shape[0] < 2:
            raise ValueError(f"frechet_distance: expected {name} as an (N, D) tensor with N >= 2, got {tuple(f.shape)}")
    if feats_a.shape[1] != feats_b.shape[1]:
        raise ValueError(f"frechet_distance: feature dims differ: feats_a {tuple(feats_a.shape)}, "
                         f"feats_b {tuple(feats_b.shape)}")
    a, b = (f.detach().to("cpu", torch.float64) for f in (feats_a, feats_b))
    mu_a, mu_b = a.mean(0), b.mean(0)
    d = a.shape[1]
    cov_a, cov_b = torch.cov(a.T).reshape(d, d), torch.cov(b.T).reshape(d, d)  # unbiased like numpy.cov
    w, v = torch.linalg.eigh(cov_a)
    s = (v * w.clamp_min(0).sqrt()) @ v.T  # C_a^(1/2)
    m = s @ cov_b @ s
    tr_sqrt = torch.linalg.eigvalsh((m + m.T) / 2).clamp_min(0).sqrt().sum()
    return float((mu_a - mu_b).square().sum() + cov_a.trace() + cov_b.trace() - 2 * tr_sqrt)


def compose_rgb(L: torch.Tensor, ab: torch.Tensor) -> torch.Tensor:
    """RGB in [0, 1] (B, 3, H, W) from the true L (B, 1, H, W) and an ab (B, 2, H, W); ab = 0 gives the gray image."""
    return join_lab(L, ab)  # lab_to_rgb clips to [0, 1]


def judge_colorizers(judge: nn.Module, test_set: ImageSet, colorizers: dict[str, Callable], batch_size: int = 500,
                     device: torch.device | str | None = None, tta: bool = False, keep_examples: int = 0) -> list[dict]:
    """Score grayscale, each colorizer (Lab L -> ab, or from_rgb: metrics.colorizer_ab) and ground truth.

    Rows {name, top1, confidence, frechet (vs ground-truth features), rmse_ab (colorkit.metrics.rmse_ab)};
    with keep_examples=k each row also holds the first k images as uint8 and the judge's predictions for them.
    """
    if not isinstance(test_set, ImageSet) or test_set.labels is None:
        raise ValueError(f"judge_colorizers: expected test_set as a labelled ImageSet, got {type(test_set).__name__}")
    device = torch.device(device) if device is not None else _module_device(judge)
    judge.to(device)
    names = ["grayscale", *colorizers, "ground_truth"]
    if len(set(names)) != len(names):
        raise ValueError(f"judge_colorizers: colorizer names must differ from 'grayscale'/'ground_truth' and each "
                         f"other, got {list(colorizers)}")
    was_training = judge.training
    judge.eval()
    stats = {n: {"correct": 0.0, "conf": 0.0, "rmse_ab": 0.0, "feats": [], "examples": [], "preds": []} for n in names}
    n_img = len(test_set)
    with torch.no_grad():
        for i in range(0, n_img, batch_size):
            rgb = uint8_to_float(test_set.images[i:i + batch_size].to(device))  # (B, 3, H, W)
            y = test_set.labels[i:i + batch_size].to(device)
            L, ab_true = split_lab(rgb)  # (B, 1, H, W), (B, 2, H, W)
            for name in names:
                if name == "ground_truth":
                    ab, x = ab_true, rgb
                else:
                    ab = torch.zeros_like(ab_true) if name == "grayscale" else colorizer_ab(colorizers[name], rgb, L)
                    if not isinstance(ab, torch.Tensor) or ab.shape != ab_true.shape:
                        got = tuple(ab.shape) if isinstance(ab, torch.Tensor) else type(ab).__name__
                        raise ValueError(f"judge_colorizers: colorizer {name!r} must map L {tuple(L.shape)} to ab "
                                         f"{tuple(ab_true.shape)}, got {got}")
                    ab = ab.to(L)  # dtype and device of L
                    x = compose_rgb(L, ab)
                logits, f = _judge_batch(judge, x, tta)
                p = logits.softmax(1)
                s = stats[name]
                s["correct"] += (p.argmax(1) == y).sum()  # device tensors: no sync per batch
                s["conf"] += p.gather(1, y[:, None]).sum()
                s["rmse_ab"] += rmse_ab(ab, ab_true, reduction="none").sum()
                s["feats"].append(f)
                if sum(len(e) for e in s["examples"]) < keep_examples:
                    s["examples"].append((x[:keep_examples] * 255).round().to(torch.uint8).cpu())
                    s["preds"].append(p[:keep_examples].argmax(1).cpu())
    judge.train(was_training)
    gt_feats = torch.cat(stats["ground_truth"]["feats"])
    rows = []
    for name in names:
        s = stats[name]
        row = {"name": name, "top1": float(s["correct"]) / n_img, "confidence": float(s["conf"]) / n_img,
               "frechet": frechet_distance(torch.cat(s["feats"]), gt_feats) if name != "ground_truth" else 0.0,
               "rmse_ab": float(s["rmse_ab"]) / n_img}
        if keep_examples:
            row["examples"] = torch.cat(s["examples"])[:keep_examples]
            row["example_predictions"] = torch.cat(s["preds"])[:keep_examples]
        rows.append(row)
    return rows


def with_seed_004(rows: list[dict]) -> list[dict]:
    """The rows with seed 004's published top-1 (a fraction, None where seed 004 has no such row) added."""
    return [{**row, "seed_004_top1": SEED_004_TABLE.get(row["name"])} for row in rows]
