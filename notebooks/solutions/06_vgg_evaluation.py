"""Solutions to notebook 06's exercises (try them first; `checks.<name>(fn)` tells you when you are right)."""
import math
from statistics import NormalDist

import numpy as np
import scipy.linalg
import torch

Z95 = NormalDist().inv_cdf(0.975)  # 1.95996


def top1_with_interval(logits, labels):
    """Exercise 1: top-1 accuracy of logits (N, K) against labels (N,), with its 95 % Wilson score interval."""
    n = labels.shape[0]
    p = (logits.argmax(1) == labels).double().mean().item()
    centre = (p + Z95 ** 2 / (2 * n)) / (1 + Z95 ** 2 / n)
    half = Z95 / (1 + Z95 ** 2 / n) * math.sqrt(p * (1 - p) / n + Z95 ** 2 / (4 * n * n))
    return p, max(0.0, centre - half), min(1.0, centre + half)


def gap_recovered(gray, colorized, truth):
    """Exercise 2: the fraction of the grayscale-to-truth accuracy gap a colorizer closes (negative: it hurts)."""
    return (colorized - gray) / (truth - gray)


def two_proportion_z(k1, n1, k2, n2):
    """Exercise 3: pooled two-proportion z statistic of k1/n1 vs k2/n2 and its two-sided p-value."""
    p1, p2, pooled = k1 / n1, k2 / n2, (k1 + k2) / (n1 + n2)
    z = (p1 - p2) / math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    return z, math.erfc(abs(z) / math.sqrt(2))  # = 2 (1 - Phi(|z|)), without the cancellation


def frechet(feats_a, feats_b):
    """Exercise 4: |mu_a - mu_b|^2 + tr(C_a + C_b - 2 (C_a C_b)^(1/2)) of two feature sets (N, D)."""
    a, b = np.asarray(feats_a, dtype=np.float64), np.asarray(feats_b, dtype=np.float64)
    ca, cb = np.cov(a, rowvar=False), np.cov(b, rowvar=False)  # unbiased, as torch.cov
    root = scipy.linalg.sqrtm(ca @ cb).real  # tiny imaginary parts are rounding
    return float(np.sum((a.mean(0) - b.mean(0)) ** 2) + np.trace(ca + cb - 2 * root))
