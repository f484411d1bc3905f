"""Solutions to notebook 07's exercises (try them first; `checks.<name>(fn)` tells you when you are right)."""
import math
from statistics import NormalDist

import torch

import colorkit as ck

Z95 = NormalDist().inv_cdf(0.975)  # 1.95996


def _wilson_half(p, n):
    return Z95 / (1 + Z95 ** 2 / n) * math.sqrt(p * (1 - p) / n + Z95 ** 2 / (4 * n * n))


def fooling_rate(real_sides, choices):
    """Exercise 1: the fraction of trials whose pick was not the real side, and its 95 % Wilson interval."""
    n = len(real_sides)
    p = sum(c != r for r, c in zip(real_sides, choices)) / n
    centre = (p + Z95 ** 2 / (2 * n)) / (1 + Z95 ** 2 / n)
    return p, max(0.0, centre - _wilson_half(p, n)), min(1.0, centre + _wilson_half(p, n))


def more_colourful(left, right):
    """Exercise 2: the scripted observer: True where the left uint8 image's mean Lab chroma is at least the right's."""
    def chroma(images):
        ab = ck.rgb_to_lab(images.double() / 255)[:, 1:]  # (B, 2, H, W)
        return ab.square().sum(1).sqrt().flatten(1).mean(1)
    return chroma(left) >= chroma(right)


def trials_needed(p, half_width):
    """Exercise 3: the fewest trials n whose 95 % Wilson half-width at a fooling rate p is below half_width."""
    n = 1
    while _wilson_half(p, n) >= half_width:
        n += 1
    return n


def chance_p_value(fooled, n):
    """Exercise 4: P(at most `fooled` of n trials fooled) for a colorizer that fools half the time: exact binomial."""
    return sum(math.comb(n, k) for k in range(fooled + 1)) / 2 ** n
