"""Colorization losses: regression on ab (L2, L1) and cross-entropy against soft colour-bin targets.

Conventions: ab tensors are in Lab units and are divided by AB_SCALE inside, so losses are O(1).
Every loss is computed in float32 (whatever the autocast dtype) and is a MEAN over pixels and batch of
a per-pixel loss: regression sums over the 2 channels, cross-entropy sums over the bins.
"""
from __future__ import annotations

from typing import Callable, Mapping

import torch
from torch import nn

from colorkit._checks import check_image_batch, check_tensor
from colorkit.color import AB_SCALE


def _check_pair(pred: torch.Tensor, true: torch.Tensor, fn: str) -> None:
    check_image_batch(pred, "pred_ab", fn, channels=2)
    check_image_batch(true, "true_ab", fn, channels=2)
    if pred.shape != true.shape:
        raise ValueError(f"{fn}: expected pred_ab and true_ab of the same shape (B, 2, H, W), "
                         f"got {tuple(pred.shape)} and {tuple(true.shape)}")


def _weighted_mean(per_pixel: torch.Tensor, pixel_weights: torch.Tensor | None, fn: str) -> torch.Tensor:
    """Mean over batch and pixels of a (B, H, W) loss, optionally multiplied by (B, H, W) pixel weights."""
    if pixel_weights is not None:
        check_tensor(pixel_weights, "pixel_weights", fn)
        if pixel_weights.shape != per_pixel.shape:
            raise ValueError(f"{fn}: expected pixel_weights of shape (B, H, W) = {tuple(per_pixel.shape)}, "
                             f"got {tuple(pixel_weights.shape)}")
        per_pixel = per_pixel * pixel_weights.float()
    return per_pixel.mean()


def l2_loss(pred_ab: torch.Tensor, true_ab: torch.Tensor,
            pixel_weights: torch.Tensor | None = None) -> torch.Tensor:
    """Seed 000 eq. 2 / seed 004: mean over pixels and batch of 1/2 * sum_ab ((pred - true) / AB_SCALE)^2."""
    _check_pair(pred_ab, true_ab, "l2_loss")
    d = (pred_ab.float() - true_ab.float()) / AB_SCALE  # (B, 2, H, W), O(1)
    return _weighted_mean(0.5 * d.square().sum(1), pixel_weights, "l2_loss")


def l1_loss(pred_ab: torch.Tensor, true_ab: torch.Tensor,
            pixel_weights: torch.Tensor | None = None) -> torch.Tensor:
    """Seed 003: mean over pixels and batch of sum_ab |pred - true| / AB_SCALE."""
    _check_pair(pred_ab, true_ab, "l1_loss")
    d = (pred_ab.float() - true_ab.float()) / AB_SCALE  # (B, 2, H, W)
    return _weighted_mean(d.abs().sum(1), pixel_weights, "l1_loss")


def _check_logits_targets(logits: torch.Tensor, idx: torch.Tensor, weight: torch.Tensor, fn: str) -> None:
    check_image_batch(logits, "logits", fn)
    check_image_batch(idx, "idx", fn, floating=False)
    check_image_batch(weight, "weight", fn)
    if idx.dtype != torch.int64:
        raise ValueError(f"{fn}: expected idx as an int64 (B, k, H, W) tensor of bin indices, got dtype {idx.dtype}")
    if idx.shape != weight.shape:
        raise ValueError(f"{fn}: expected idx and weight of the same shape (B, k, H, W), "
                         f"got {tuple(idx.shape)} and {tuple(weight.shape)}")
    if idx.shape[0] != logits.shape[0] or idx.shape[-2:] != logits.shape[-2:]:
        raise ValueError(f"{fn}: expected targets (B, k, H', W') at the logits' batch and resolution "
                         f"{(logits.shape[0], 'k', *logits.shape[-2:])}, got {tuple(idx.shape)} "
                         f"(resize the ab to the model output before encoding)")


def soft_cross_entropy(logits: torch.Tensor, idx: torch.Tensor, weight: torch.Tensor,
                       pixel_weights: torch.Tensor | None = None) -> torch.Tensor:
    """Cross-entropy against sparse soft targets: mean over pixels of -sum_k weight_k * log softmax(logits)[idx_k].

    logits (B, Q, H, W); idx, weight (B, k, H, W) from quantize.soft_encode_sparse (k = 1: one-hot);
    pixel_weights (B, H, W) optional. The dense (B, Q, H, W) target is never built.
    """
    _check_logits_targets(logits, idx, weight, "soft_cross_entropy")
    z = logits.float()  # (B, Q, H, W)
    lse = torch.logsumexp(z, dim=1, keepdim=True)  # (B, 1, H, W)
    log_p = z.gather(1, idx) - lse  # (B, k, H, W): log-probabilities of the target bins
    per_pixel = -(weight.float() * log_p).sum(1)  # (B, H, W)
    return _weighted_mean(per_pixel, pixel_weights, "soft_cross_entropy")


def cross_entropy_dense(logits: torch.Tensor, target: torch.Tensor,
                        pixel_weights: torch.Tensor | None = None) -> torch.Tensor:
    """Cross-entropy against a dense (B, Q, H, W) target distribution (seed 000 eq. 4); for tests and teaching."""
    check_image_batch(logits, "logits", "cross_entropy_dense")
    check_image_batch(target, "target", "cross_entropy_dense")
    if logits.shape != target.shape:
        raise ValueError(f"cross_entropy_dense: expected logits and target of the same shape (B, Q, H, W), "
                         f"got {tuple(logits.shape)} and {tuple(target.shape)}")
    per_pixel = -(target.float() * torch.log_softmax(logits.float(), dim=1)).sum(1)  # (B, H, W)
    return _weighted_mean(per_pixel, pixel_weights, "cross_entropy_dense")


def rebalanced_cross_entropy(logits: torch.Tensor, idx: torch.Tensor, weight: torch.Tensor,
                             class_weights: torch.Tensor) -> torch.Tensor:
    """Zhang's class-rebalanced loss: soft cross-entropy with pixel weight class_weights[nearest target bin]."""
    _check_logits_targets(logits, idx, weight, "rebalanced_cross_entropy")
    check_tensor(class_weights, "class_weights", "rebalanced_cross_entropy")
    if class_weights.dim() != 1 or class_weights.shape[0] != logits.shape[1]:
        raise ValueError(f"rebalanced_cross_entropy: expected class_weights of shape ({logits.shape[1]},) "
                         f"(one per bin), got {tuple(class_weights.shape)}")
    pixel_weights = class_weights.to(logits.device)[idx[:, 0]]  # (B, H, W): v(Z_hw), idx[:, 0] = nearest bin
    return soft_cross_entropy(logits, idx, weight, pixel_weights)


LOSSES: dict[str, Callable[..., torch.Tensor]] = {
    "l2": l2_loss, "l1": l1_loss, "ce": soft_cross_entropy, "rebalanced": rebalanced_cross_entropy,
}


def loss_for(spec: Mapping | nn.Module) -> Callable[..., torch.Tensor]:
    """The default loss of a model (or its spec): soft_cross_entropy for the classify head, else l2_loss."""
    if isinstance(spec, nn.Module):
        spec = getattr(spec, "spec", {})
    head = spec.get("head") if isinstance(spec, Mapping) else None
    if head is None:
        raise ValueError(f"loss_for: expected a model spec (a dict with 'head') or a built model, got {spec!r}")
    return soft_cross_entropy if head == "classify" else l2_loss
