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
    """Exercise 3: block means of the hinted pixels only; a block is hinted when any of its pixels is.

    Why would averaging ab_hint alone be wrong? Unhinted pixels hold ab = 0, which is a real colour (grey), not
    "no value". A block with one hinted pixel of (40, -20) among 3 x 3 = 9 would average to (4.4, -2.2): a
    faint grey-blue the user never asked for, and the mask (1 for the block) would tell the network it is a
    sure hint. Dividing by the share of hinted pixels gives back (40, -20): the colour the user chose.
    """
    hinted = F.avg_pool2d(mask, factor)  # (B, 1, h, w) share of hinted pixels per block
    total = F.avg_pool2d(ab_hint * mask, factor)  # mean of ab over the block, unhinted pixels counted as 0
    out_mask = (hinted > 0).to(mask.dtype)
    return torch.where(hinted > 0, total / hinted.clamp(min=1e-12), torch.zeros_like(total)), out_mask


def palette_entropy(logits):
    """Exercise 2b: the entropy in bits of the softmax of one pixel's 313 logits.

    Where does a click help most? Where the palette is flat (high entropy): there the model spreads its
    probability over many colours and the annealed mean paints their dull average, so a true-colour point
    replaces a guess with the answer, for its pixel and, through the network, its region. Where the palette
    is peaked the model is already confident, usually rightly (sky, foliage), and a point mostly confirms what
    it would have painted: the PSNR gain is small. The flattest pixels are typically on objects whose colour
    the lightness does not tell (clothes, cars, painted walls). (A point at a peaked pixel can still help when
    the confident guess is wrong; entropy measures doubt, not error.)
    """
    p = torch.softmax(logits.double(), dim=0)
    return -(p * torch.log2(p.clamp_min(1e-300))).sum()


# Exercise 4 (open, by hand: no check can judge your eye). What to expect: on CIFAR-10's 32 px images two to five
# points usually fix an image (one for each region whose colour the lightness does not tell: a car's body, a
# shirt, a bird's wing), in line with the steep start of the random-point curve; placed by hand on those regions
# they beat the same number of random points. PSNR and the eye disagree where a point fixes a small, salient object
# (a red car in a grey street: a large visual change, a small PSNR gain, because few pixels change) or where a
# point shifts a large, dull background slightly (a PSNR gain nobody sees).
