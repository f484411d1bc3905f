"""Paired comparisons for the effects table: bootstrap intervals over test images and McNemar's exact test."""
from __future__ import annotations

import math
from typing import Callable

import numpy as np

Z95 = 1.959963984540054  # two-sided 95 % normal quantile


def bootstrap_indices(n: int, n_boot: int = 1000, seed: int = 0) -> np.ndarray:
    """(n_boot, n) indices drawn with replacement from range(n): the same resamples for every side of a claim."""
    if n < 2 or n_boot < 1:
        raise ValueError(f"bootstrap_indices: need n >= 2 and n_boot >= 1, got n={n}, n_boot={n_boot}")
    return np.random.default_rng(seed).integers(0, n, size=(n_boot, n))


def percentile_interval(samples: np.ndarray) -> tuple[float, float]:
    """The 2.5th and 97.5th percentiles of bootstrap samples."""
    lo, hi = np.percentile(np.asarray(samples, dtype=np.float64), [2.5, 97.5])
    return float(lo), float(hi)


def paired_bootstrap(stat: Callable[[np.ndarray], tuple[float, float]], n: int, n_boot: int = 1000,
                     seed: int = 0, bias_correct: bool = False) -> dict[str, float | tuple[float, float]]:
    """Bootstrap a paired statistic: stat(idx) -> (value of A, value of B) on the images idx, both from one resample.

    Returns a, b, diff (= a - b on all images) and their 95 % percentile intervals a_ci, b_ci, diff_ci.
    bias_correct: shift each interval by the bootstrap's bias (mean of the draws minus the full-set value), for
    statistics that resampling itself inflates, such as a Frechet distance (duplicated images shrink the spread).
    """
    a, b = stat(np.arange(n))
    draws = np.array([stat(idx) for idx in bootstrap_indices(n, n_boot, seed)])  # (n_boot, 2)
    out = {"a": a, "b": b, "diff": a - b}
    for key, full, d in (("a", a, draws[:, 0]), ("b", b, draws[:, 1]), ("diff", a - b, draws[:, 0] - draws[:, 1])):
        bias = float(d.mean() - full) if bias_correct else 0.0
        lo, hi = percentile_interval(d)
        out[f"{key}_ci"] = (lo - bias, hi - bias)
    return out


def mean_pair(x: np.ndarray, y: np.ndarray) -> Callable[[np.ndarray], tuple[float, float]]:
    """A paired statistic for paired_bootstrap: the means of per-image values x and y over the same images."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"mean_pair: expected two (N,) arrays of the same images, got {x.shape} and {y.shape}")
    return lambda idx: (float(x[idx].mean()), float(y[idx].mean()))


def mean_paired_bootstrap(x: np.ndarray, y: np.ndarray, n_boot: int = 1000, seed: int = 0) -> dict:
    """paired_bootstrap of mean(x) and mean(y), vectorised (x, y: per-image values of the same N images)."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    mean_pair(x, y)  # shape checks
    idx = bootstrap_indices(x.shape[0], n_boot, seed)
    da, db = x[idx].mean(1), y[idx].mean(1)
    return {"a": float(x.mean()), "b": float(y.mean()), "diff": float(x.mean() - y.mean()),
            "a_ci": percentile_interval(da), "b_ci": percentile_interval(db), "diff_ci": percentile_interval(da - db)}


def _log_binom_cdf_half(k: int, n: int) -> float:
    """log P(X <= k) for X ~ Binomial(n, 1/2), summed in log space (exact for the n of a test set)."""
    terms = [math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1) for i in range(k + 1)]
    top = max(terms)
    return top + math.log(sum(math.exp(t - top) for t in terms)) - n * math.log(2)


def mcnemar(correct_a: np.ndarray, correct_b: np.ndarray) -> dict[str, float | int | tuple[float, float]]:
    """McNemar's exact test on paired right/wrong outcomes of the same images under A and B.

    Returns a, b (accuracies), diff = a - b with a 95 % interval (Wald, paired), the discordant counts
    n_ab (A right, B wrong) and n_ba, and the two-sided exact p-value 2 P(X <= min(n_ab, n_ba)), X ~ Bin(n_ab + n_ba, 1/2).
    """
    a, b = np.asarray(correct_a, dtype=bool), np.asarray(correct_b, dtype=bool)
    if a.shape != b.shape or a.ndim != 1 or a.size == 0:
        raise ValueError(f"mcnemar: expected two (N,) boolean arrays of the same images, got {a.shape} and {b.shape}")
    n = a.size
    n_ab, n_ba = int((a & ~b).sum()), int((~a & b).sum())
    m = n_ab + n_ba
    p = 1.0 if m == 0 else min(1.0, 2 * math.exp(_log_binom_cdf_half(min(n_ab, n_ba), m)))
    diff = (n_ab - n_ba) / n
    se = math.sqrt(max(m / n - diff ** 2, 0.0) / n)
    return {"a": float(a.mean()), "b": float(b.mean()), "diff": diff, "diff_ci": (diff - Z95 * se, diff + Z95 * se),
            "a_ci": wilson(int(a.sum()), n), "b_ci": wilson(int(b.sum()), n), "n_ab": n_ab, "n_ba": n_ba, "p": p}


def wilson(k: int, n: int) -> tuple[float, float]:
    """Wilson's 95 % score interval for k successes in n trials."""
    if n < 1 or not 0 <= k <= n:
        raise ValueError(f"wilson: expected 0 <= k <= n and n >= 1, got k={k}, n={n}")
    p, z2 = k / n, Z95 ** 2
    centre, half = (p + z2 / (2 * n)) / (1 + z2 / n), Z95 * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return centre - half, centre + half


def verdict(diff: float, diff_ci: tuple[float, float], direction: str, p: float | None = None) -> str:
    """'holds', 'reversed' or 'within noise' for a claim that A - B is 'higher' (> 0) or 'lower' (< 0).

    With p (McNemar) the difference counts when p < 0.05; otherwise when its interval excludes 0.
    """
    if direction not in ("higher", "lower"):
        raise ValueError(f"verdict: direction must be 'higher' or 'lower', got {direction!r}")
    clear = p < 0.05 if p is not None else (diff_ci[0] > 0 or diff_ci[1] < 0)
    if not clear or diff == 0:
        return "within noise"
    return "holds" if (diff > 0) == (direction == "higher") else "reversed"
