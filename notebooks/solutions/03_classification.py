"""Solutions to notebook 03's exercises (try them first; `checks.<name>(fn)` tells you when you are right)."""
import torch
import torch.nn.functional as F

import colorkit as ck


def annealed_decode(logits, T, size):
    """Exercise 1: logits (B, 313, h, w) -> annealed-mean ab at temperature T, upsampled bilinearly to `size`."""
    log_z = torch.log_softmax(logits.double(), dim=1)  # log of the predicted distribution z
    f = torch.softmax(log_z / T, dim=1)  # f_T(z) = exp(log z / T), normalised over the 313 bins
    ab = torch.einsum("bqhw,qc->bchw", f, ck.ab_bins(dtype=torch.float64))  # the expected colour under f_T
    return F.interpolate(ab, size=size, mode="bilinear", align_corners=False)


def _soft_target(ab, k, sigma=5.0):
    """Dense targets (B, 313, H, W): each pixel's k nearest bins, Gaussian weights of the distance, summing to 1."""
    B, _, H, W = ab.shape
    d2 = torch.cdist(ab.double().permute(0, 2, 3, 1).reshape(-1, 2), ck.ab_bins(dtype=torch.float64)).square()
    near, idx = d2.topk(k, dim=1, largest=False)  # (pixels, k), nearest first
    w = torch.softmax(-near / (2 * sigma ** 2), dim=1)
    target = torch.zeros_like(d2).scatter_(1, idx, w)  # (pixels, 313)
    return target.reshape(B, H, W, 313).permute(0, 3, 1, 2)


def soft_ce(logits, ab, k):
    """Exercise 2: the training loss: ab area-averaged to the logits' size, k-nearest soft target, mean cross-entropy."""
    ab = F.interpolate(ab, size=logits.shape[-2:], mode="area")  # (B, 2, h, w)
    target = _soft_target(ab, k)
    return -(target * torch.log_softmax(logits.double(), dim=1)).sum(1).mean()


def mode_and_mean(p):
    """Exercise 3: the ab of the most probable bin and the expected ab of a distribution p (313,) over the bins."""
    bins = ck.ab_bins(dtype=torch.float64)
    return bins[p.argmax()], p.double() @ bins


def loss_floor(ab, k):
    """Exercise 4: the mean entropy of the k-nearest soft targets of ab (B, 2, H, W): a perfect network's loss."""
    target = _soft_target(ab, k)
    return -(target * target.clamp_min(1e-300).log()).sum(1).mean()  # 0 log 0 = 0
