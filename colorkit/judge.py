"""The judge of seed 004: score colorizers with a CIFAR-10 classifier (accuracy, confidence, Frechet distance).

Training a judge (recipes, the one-cycle loop, the cache) lives in colorkit.judge_train, which scores with this module.
"""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn as nn

from ._checks import check_image_batch, check_tensor
from .color import join_lab, split_lab, uint8_to_float
from .data import ImageSet
from .metrics import colorizer_ab, rmse_ab

# Seed 004 (Li & Wang, Figure 7): top-1 accuracy of their ImageNet-pretrained VGG fine-tuned on CIFAR-10, for
# the test images as grayscale, colorized by each model, and in true colour. Published as percentages.
SEED_004_TABLE: dict[str, float] = {
    "grayscale": 0.22, "regression": 0.46, "classification": 0.57,
    "annealed_mean": 0.65,  # classification model decoded with the annealed mean, T = 0.89
    "vgg_transfer": 0.63, "ground_truth": 0.80,
}


# ---------------------------------------------------------------- evaluation

def _module_device(model: nn.Module) -> torch.device:
    """The device of a model's first parameter."""
    return next(model.parameters()).device


def _to_input(x: torch.Tensor, device: torch.device, channels_last: bool) -> torch.Tensor:
    """uint8 or float images -> float RGB in [0, 1] on device (NHWC when asked, on CUDA)."""
    x = x.to(device, non_blocking=True)
    x = uint8_to_float(x) if x.dtype == torch.uint8 else x.float()
    return x.contiguous(memory_format=torch.channels_last) if channels_last else x


def _shift(x: torch.Tensor, dx: int, dy: int) -> torch.Tensor:
    """x (B, C, H, W) translated by (dx, dy) pixels, reflecting at the border."""
    p = torch.nn.functional.pad(x, (1, 1, 1, 1), mode="reflect")
    return p[:, :, 1 + dy:1 + dy + x.shape[2], 1 + dx:1 + dx + x.shape[3]]


@torch.no_grad()
def _judge_batch(judge: nn.Module, x: torch.Tensor, tta: int | bool) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits (B, K) and penultimate features (B, D) of RGB x in [0, 1], with test-time augmentation `tta`:

    0 none; 1 the mean of x and its mirror image; 2 that plus half weight on the 1-pixel shifts (and their mirrors).
    Evaluation runs in float32 (no autocast): cheap next to training, and the Frechet distance wants precise features.
    """
    feats = judge.penultimate(x)
    head = getattr(judge, "logits", judge.fc)  # AirNet scales its head's output
    logits = head(feats)
    if tta:
        logits = logits + judge(x.flip(-1))
        if int(tta) >= 2:
            for dx, dy in ((1, 0), (-1, 0), (0, 1), (0, -1)):
                shifted = _shift(x, dx, dy)
                logits = logits + 0.5 * (judge(shifted) + judge(shifted.flip(-1)))
        logits = logits / (2 if int(tta) == 1 else 6)
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
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # LAPACK's threaded eigh of a 256 x 256 matrix: 0.008 s on one thread, ~1.5 s on two
    try:
        w, v = torch.linalg.eigh(cov_a)
        s = (v * w.clamp_min(0).sqrt()) @ v.T  # C_a^(1/2)
        m = s @ cov_b @ s
        tr_sqrt = torch.linalg.eigvalsh((m + m.T) / 2).clamp_min(0).sqrt().sum()
    finally:
        torch.set_num_threads(threads)
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
