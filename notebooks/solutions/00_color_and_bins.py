"""Solutions to notebook 00's exercises (try them first; `checks.<name>(fn)` tells you when you are right)."""
import torch

import colorkit as ck


def nearest_weight(ab, k):
    """Exercise 1: the weight the nearest bin keeps when a pixel (N, 2) is spread over its k nearest bins.

    How much does k = 10 change a target, and why so little? On the check's four pixels the nearest bin keeps
    0.499, 0.649, 0.340, 0.492 of the weight at k = 5 and 0.478, 0.619, 0.330, 0.473 at k = 10: 2 to 5 % less.
    The bins are 10 apart and sigma is 5, so the weight falls as exp(-d^2 / 50): the nearest bin is at most
    7.1 away (weight >= exp(-1) = 0.37 before normalising), while the 6th to 10th nearest are about 14 or more
    away (exp(-4) = 0.02 or less each). Five extra bins with a few per cent of the weight move little: the
    target's mass stays on the same few bins, so the loss and what the network learns barely change.
    """
    d2 = torch.cdist(ab.double(), ck.ab_bins(dtype=torch.float64)).square()  # (N, 313)
    d2k = d2.topk(k, dim=1, largest=False).values  # (N, k), nearest first
    return torch.softmax(-d2k / (2 * 5.0 ** 2), dim=1)[:, 0]


def blue_until(logits):
    """Exercise 2: the largest T (to 0.01) at which the annealed mean of one pixel's logits is blue, b < -20."""
    temperatures = torch.arange(0.01, 1.0001, 0.005)
    blue = [T.item() for T in temperatures if ck.annealed_mean(logits, T.item())[0, 1].item() < -20]
    return max(blue)


def prior_from_scratch(images):
    """Exercise 3: the fraction of pixels of uint8 images (N, 3, H, W) whose nearest bin is q, (313,)."""
    ab = ck.split_lab(ck.uint8_to_float(images).double())[1]  # (N, 2, H, W)
    nearest = torch.cdist(ab.permute(0, 2, 3, 1).reshape(-1, 2), ck.ab_bins(dtype=torch.float64)).argmin(1)
    counts = torch.bincount(nearest, minlength=313).double()
    return counts / counts.sum()


def grey_share(images):
    """Exercise 3, follow-up: the share of pixels on the 9 grey bins (|a|, |b| <= 10), from prior_from_scratch.

    Are your photos greyer? It depends on the photos, which is the point of measuring. The four colour photos
    that ship with scikit-image (astronaut, chelsea, coffee, rocket at 128 px) have 29 % of their pixels on the grey
    bins, against 66 % for 2,000 CIFAR-10 training images: those photos are chosen to be colourful, while
    CIFAR-10's are small, often dull, low-contrast shots (and JPEG'd). Holiday photos of sky, sea and faces
    usually sit in between; scans of old prints are greyer still. The greyer the prior, the larger the
    rebalancing weights of the rare colours (notebook 04).
    """
    grey = ck.ab_bins(dtype=torch.float64).abs().amax(dim=1) <= 10  # the 9 bins at a, b in {-10, 0, 10}
    return prior_from_scratch(images)[grey].sum()


def ycbcr_from_scratch(rgb):
    """Exercise 4: BT.601 studio-swing YCbCr of sRGB in [0, 1], (B, 3, H, W).

    Why is a fixed (Cb, Cr) not one colour at every Y, while a fixed (a, b) is (nearly)? YCbCr is a linear
    map of the gamma-encoded R'G'B': a fixed (Cb, Cr) adds the same offsets to R', G', B' whatever Y is. On a
    dark grey those offsets are large relative to the grey itself (a vivid colour); on a light grey the same
    offsets are a faint tint, and near white or black one channel clips at 0 or 1, which shifts the hue. Lab's
    a and b are differences of cube-root-compressed XYZ ratios, built so that equal steps look equally different
    whatever the lightness: a fixed (a, b) is (to the accuracy of that model, and where it is in gamut) the same
    hue and chroma at every L. So an L-to-ab colorizer predicts the colour alone, while in YCbCr the network must
    also undo the interaction with Y (seed 000, sec. III).
    """
    m = torch.tensor([[65.481, 128.553, 24.966], [-37.797, -74.203, 112.0], [112.0, -93.786, -18.214]],
                     dtype=rgb.dtype)
    return torch.einsum("ij,bjhw->bihw", m, rgb) + torch.tensor([16.0, 128.0, 128.0], dtype=rgb.dtype).view(1, 3, 1, 1)
