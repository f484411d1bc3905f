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
    """Exercise 2: the scripted observer: True where the left uint8 image's mean Lab chroma is at least the right's.

    Which kind of colorizer fools this rule and not a person? One that paints more chroma than real photos have,
    right or wrong: everything in one saturated tint, or the mode of a rebalanced classifier at a low T, or random
    vivid colours. The rule only compares the amount of colour, never whether a colour fits its object, so a
    purple dog or a green sky beats the real, duller photo every time; a person rejects it at a glance. It is the
    mirror image of RMSE, which rewards too little colour: neither replaces people looking.
    """
    def chroma(images):
        ab = ck.rgb_to_lab(images.double() / 255)[:, 1:]  # (B, 2, H, W)
        return ab.square().sum(1).sqrt().flatten(1).mean(1)
    return chroma(left) >= chroma(right)


def trials_needed(p, half_width):
    """Exercise 3: the fewest trials n whose 95 % Wilson half-width at a fooling rate p is below half_width.

    Which needs more trials, and why? A rate near 50 % needs the most: the binomial variance p (1 - p) / n is
    largest at p = 0.5 (0.25 against 0.21 at p = 0.3 and 0.0475 at p = 0.05). For the same half-width, p = 0.05
    needs far fewer trials than p = 0.3, but the same half-width is then a much larger share of the rate itself
    (+-2 points on 5 % is +-40 %): to pin down a rare event relative to its size needs many more. The Wilson
    count differs from the textbook z^2 p (1 - p) / h^2 most at small p, where the interval is lopsided.
    """
    n = 1
    while _wilson_half(p, n) >= half_width:
        n += 1
    return n


def chance_p_value(fooled, n):
    """Exercise 4: P(at most `fooled` of n trials fooled) for a colorizer that fools half the time: exact binomial."""
    return sum(math.comb(n, k) for k in range(fooled + 1)) / 2 ** n


def chance_threshold(n):
    """Exercise 4b: the largest number of fooled trials out of n with chance_p_value below 0.05.

    With 50 trials it is 18 (p = 0.032; 19 gives 0.060): a colorizer must fool fewer than 19 of 50 before "people
    cannot tell it from real" is implausible. The scripted observer was fooled by the classifier on about 40 % of
    the trials (this run prints it): 20 of 50 is not implausible at 50 trials (p = 0.10), while on the machine
    baseline's 500 trials 42 % is (the threshold is 231 of 500, p < 0.001 at 210). So a 50-trial human test can
    tell a colorizer from "fools half the time" only when it is far below 50 %: to resolve differences of a few
    points, Zhang et al. needed thousands of trials.
    """
    return max((k for k in range(n + 1) if chance_p_value(k, n) < 0.05), default=-1)
