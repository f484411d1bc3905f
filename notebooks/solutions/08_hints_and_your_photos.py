"""Solutions to notebook 08's exercises (try them first; `checks.<name>(fn)` tells you when you are right)."""
import torch
import torch.nn.functional as F

import colorkit as ck


def square_hints(ab, points, patch):
    """Exercise 1: each point fills a clipped patch x patch square with the mean true ab of that square."""
    _, H, W = ab.shape
    ab_hint, mask = torch.zeros_like(ab), torch.zeros(1, H, W, dtype=ab.dtype)
    for x, y in points:
        top, left = max(0, y - (patch - 1) // 2), max(0, x - (patch - 1) // 2)
        bottom, right = min(H, y - (patch - 1) // 2 + patch), min(W, x - (patch - 1) // 2 + patch)
        ab_hint[:, top:bottom, left:right] = ab[:, top:bottom, left:right].mean(dim=(1, 2), keepdim=True)
        mask[:, top:bottom, left:right] = 1.0
    return ab_hint, mask


def palette_bins(logits, k):
    """Exercise 2: the ab centres and probabilities of the k most probable bins, best first."""
    probs = torch.softmax(logits.double(), dim=0)
    top = torch.topk(probs, k)
    return ck.ab_bins(dtype=torch.float64)[top.indices], top.values


def shrink_hints(ab_hint, mask, factor):
    """Exercise 3: block means of the hinted pixels only; a block is hinted when any of its pixels is."""
    hinted = F.avg_pool2d(mask, factor)  # (B, 1, h, w) share of hinted pixels per block
    total = F.avg_pool2d(ab_hint * mask, factor)  # mean of ab over the block, unhinted pixels counted as 0
    out_mask = (hinted > 0).to(mask.dtype)
    return torch.where(hinted > 0, total / hinted.clamp(min=1e-12), torch.zeros_like(total)), out_mask
