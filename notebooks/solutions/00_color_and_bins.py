"""Solutions to notebook 00's exercises (try them first; `checks.<name>(fn)` tells you when you are right)."""
import torch

import colorkit as ck


def nearest_weight(ab, k):
    """Exercise 1: the weight the nearest bin keeps when a pixel (N, 2) is spread over its k nearest bins."""
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


def ycbcr_from_scratch(rgb):
    """Exercise 4: BT.601 studio-swing YCbCr of sRGB in [0, 1], (B, 3, H, W)."""
    m = torch.tensor([[65.481, 128.553, 24.966], [-37.797, -74.203, 112.0], [112.0, -93.786, -18.214]],
                     dtype=rgb.dtype)
    return torch.einsum("ij,bjhw->bihw", m, rgb) + torch.tensor([16.0, 128.0, 128.0], dtype=rgb.dtype).view(1, 3, 1, 1)
