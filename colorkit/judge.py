"""The judge of seed 004: a CIFAR-10 classifier's top-1, confidence, features (with test-time augmentation) and the
Frechet distance between feature sets. Colorizers are judged through effects.measure; training a judge (recipes,
the cache) lives in colorkit.judge_train, which scores with this module.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from ._checks import check_image_batch, check_tensor
from .color import uint8_to_float

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


