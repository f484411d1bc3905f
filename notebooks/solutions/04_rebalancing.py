"""Solutions to notebook 04's exercises (try them first; `checks.<name>(fn)` tells you when you are right)."""
import torch

import colorkit as ck


def weight_spread(prior, lam):
    """Exercise 1: how many times the heaviest class weight exceeds the lightest, for a mixing weight lambda."""
    w = 1 / ((1 - lam) * prior + lam / 313)
    return w.max() / w.min()  # the normalisation E_p[w] = 1 cancels in the ratio


def smooth(prior, sigma):
    """Exercise 2: spread each bin's mass over the bins with a Gaussian of the distance between bin centres."""
    bins = ck.ab_bins(dtype=torch.float64)
    kernel = torch.exp(-torch.cdist(bins, bins).square() / (2 * sigma ** 2))  # (313, 313)
    out = (kernel / kernel.sum(0, keepdim=True)) @ prior.double()  # each column says where one bin's mass goes
    return out / out.sum()


def auc_rebalanced(pred, true, prior):
    """Exercise 3: Zhang's AuC with each pixel weighted by 1 / prior of its true bin."""
    err = (pred - true).norm(dim=1).flatten()  # (B*H*W,) ab error
    p = prior.double().clamp(min=prior[prior > 0].min())
    w = 1 / p[ck.encode_hard(true).flatten()]
    within = err[None, :] <= torch.arange(151, dtype=err.dtype)[:, None]  # (151, pixels)
    return ((within * w).sum(1) / w.sum()).mean()


def top_weighted_bins(prior, n):
    """Exercise 4: the ab centres (n, 2) of the n bins the rebalanced loss weighs most (lambda 0.5, no smoothing)."""
    w = ck.class_weights(prior, lam=0.5, sigma=None)
    return ck.ab_bins(dtype=torch.float64)[w.argsort(descending=True, stable=True)[:n]]
