"""Solutions to notebook 06's exercises (try them first; `checks.<name>(fn)` tells you when you are right)."""
import math
from statistics import NormalDist

import numpy as np
import scipy.linalg
import torch

Z95 = NormalDist().inv_cdf(0.975)  # 1.95996


def top1_with_interval(logits, labels):
    """Exercise 1: top-1 accuracy of logits (N, K) against labels (N,), with its 95 % Wilson score interval.

    How wide: at p near 0.85 the interval is about +-8.5 points on smoke's 64 images (a different judge, or colorizer,
    cannot be told apart there) and about +-0.7 points on 10,000 (it shrinks as 1 / sqrt(n)).
    """
    n = labels.shape[0]
    p = (logits.argmax(1) == labels).double().mean().item()
    centre = (p + Z95 ** 2 / (2 * n)) / (1 + Z95 ** 2 / n)
    half = Z95 / (1 + Z95 ** 2 / n) * math.sqrt(p * (1 - p) / n + Z95 ** 2 / (4 * n * n))
    return p, max(0.0, centre - half), min(1.0, centre + half)


def gap_recovered(gray, colorized, truth):
    """Exercise 2: the fraction of the grayscale-to-truth accuracy gap a colorizer closes (negative: it hurts).

    A negative value says the colorizer's colours mislead the judge more than no colour: wrong colours are evidence
    for the wrong class. The number means nothing when truth - gray is within noise (the gap is a difference of
    two noisy accuracies, so dividing by a near-zero gap blows the noise up), e.g. a judge that ignores colour.
    """
    return (colorized - gray) / (truth - gray)


def two_proportion_z(k1, n1, k2, n2):
    """Exercise 3: pooled two-proportion z statistic of k1/n1 vs k2/n2 and its two-sided p-value.

    It assumes two independent samples; grayscale and truth are judged on the same images, so McNemar's test
    (exercise 5) on the discordant images is the right, sharper one.
    """
    p1, p2, pooled = k1 / n1, k2 / n2, (k1 + k2) / (n1 + n2)
    z = (p1 - p2) / math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    return z, math.erfc(abs(z) / math.sqrt(2))  # = 2 (1 - Phi(|z|)), without the cancellation


def frechet(feats_a, feats_b):
    """Exercise 4: |mu_a - mu_b|^2 + tr(C_a + C_b - 2 (C_a C_b)^(1/2)) of two feature sets (N, D).

    Why eigh in the kit: C_a C_b is not symmetric, so sqrtm needs a general (Schur) decomposition, slow and prone
    to small imaginary parts from rounding. tr (C_a C_b)^(1/2) equals tr (S C_b S)^(1/2) with S = C_a^(1/2), and
    S C_b S is symmetric positive semi-definite: eigh is exact, stable and real, and only its eigenvalues are needed.
    """
    a, b = np.asarray(feats_a, dtype=np.float64), np.asarray(feats_b, dtype=np.float64)
    ca, cb = np.cov(a, rowvar=False), np.cov(b, rowvar=False)  # unbiased, as torch.cov
    root = scipy.linalg.sqrtm(ca @ cb).real  # tiny imaginary parts are rounding
    return float(np.sum((a.mean(0) - b.mean(0)) ** 2) + np.trace(ca + cb - 2 * root))


def mcnemar_p(fixed, broken):
    """Exercise 5: McNemar's two-sided exact p-value from the discordant counts (fixed, broken).

    Why only the discordant images: an image both rows get right (or both wrong) says nothing about which row is
    better; under "no difference" each discordant image is equally likely to fall either way, so fixed is
    Binomial(fixed + broken, 1/2). It is sharper than the two-proportion test because the rows are paired: the
    two-proportion test treats them as independent samples and counts the images' own difficulty (shared by both
    rows) as noise, so its variance is larger and its p-value bigger on the same numbers.
    """
    n = fixed + broken
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(min(fixed, broken) + 1)) / 2 ** n
    return min(1.0, 2 * tail)
