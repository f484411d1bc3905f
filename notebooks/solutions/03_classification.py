"""Solutions to notebook 03's exercises (try them first; `checks.<name>(fn)` tells you when you are right)."""
import torch
import torch.nn.functional as F

import colorkit as ck


def annealed_decode(logits, T, size):
    """Exercise 1: logits (B, 313, h, w) -> annealed-mean ab at temperature T, upsampled bilinearly to `size`.

    Why is f_T(z) the same as softmax(logits / T)? z = softmax(x) means log z_q = x_q - log sum_r exp(x_r): every bin
    gets the same constant c subtracted. Then exp(log z_q / T) = exp(x_q / T) * exp(-c / T), and the factor
    exp(-c / T) is the same for every bin, so it cancels when f_T is normalised over the 313 bins: f_T(z) =
    exp(x_q / T) / sum_r exp(x_r / T) = softmax(x / T)_q. Dividing the logits by T < 1 stretches their gaps, so the
    largest logit takes more of the mass; T -> 0 puts all of it on the mode, T = 1 leaves z as it is (the mean).
    """
    log_z = torch.log_softmax(logits.double(), dim=1)  # log of the predicted distribution z
    f = torch.softmax(log_z / T, dim=1)  # f_T(z) = exp(log z / T), normalised over the 313 bins
    ab = torch.einsum("bqhw,qc->bchw", f, ck.ab_bins(dtype=torch.float64))  # the expected colour under f_T
    return F.interpolate(ab, size=size, mode="bilinear", align_corners=False)


def _soft_target(ab, k, sigma=5.0):
    """Dense targets (B, 313, H, W): each pixel's k nearest bins, Gaussian weights of the distance, summing to 1."""
    B, _, H, W = ab.shape
    d2 = torch.cdist(ab.double().permute(0, 2, 3, 1).reshape(-1, 2), ck.ab_bins(dtype=torch.float64)).square()
    near, idx = d2.topk(k, dim=1, largest=False)  # (pixels, k), nearest first
    w = torch.softmax(-near / (2 * sigma ** 2), dim=1)
    target = torch.zeros_like(d2).scatter_(1, idx, w)  # (pixels, 313)
    return target.reshape(B, H, W, 313).permute(0, 3, 1, 2)


def soft_ce(logits, ab, k):
    """Exercise 2: the training loss: ab area-averaged to the logits' size, k-nearest soft target, mean cross-entropy."""
    ab = F.interpolate(ab, size=logits.shape[-2:], mode="area")  # (B, 2, h, w)
    target = _soft_target(ab, k)
    return -(target * torch.log_softmax(logits.double(), dim=1)).sum(1).mean()


def mode_and_mean(p):
    """Exercise 3: the ab of the most probable bin and the expected ab of a distribution p (313,) over the bins.

    Which one is neither red nor green? The mean. Red (60, 40) with weight 0.55 and green (-50, 45) with 0.45
    average to about (10, 42): the a channel (red-green) nearly cancels while b (yellow-blue) stays, so the mean is a
    dull yellow-brown of far lower chroma than either mode (about 43 against 72 for the red one). The mode is the
    red peak itself: vivid, and wrong for 45 % of such pixels. This is why the mean looks sepia on real images,
    whose pixels are often "this colour or that one".
    """
    bins = ck.ab_bins(dtype=torch.float64)
    return bins[p.argmax()], p.double() @ bins


def loss_floor(ab, k):
    """Exercise 4: the mean entropy of the k-nearest soft targets of ab (B, 2, H, W): a perfect network's loss.

    The floor for the soft targets (k = 5, sigma = 5) is the entropy of five Gaussian weights over bins 10 apart:
    about 1.2 nats a pixel on average (from about 0.2 near the gamut's edge, where few bins are near, to 1.4 between
    bin centres), against 0 for one-hot. Why does a loss that never reaches 0 not stop learning? The gradient of the cross-entropy with respect
    to the logits is softmax(logits) - target: it is zero exactly when the prediction equals the soft target, not
    when the loss is 0. The floor is a constant added to the loss (cross-entropy = entropy of the target + the KL
    divergence from target to prediction), so it shifts the curve without changing where its minimum is or how the
    gradient points; only the KL part is learnt. Read a soft model's loss curve against its floor, not against 0.
    """
    target = _soft_target(ab, k)
    return -(target * target.clamp_min(1e-300).log()).sum(1).mean()  # 0 log 0 = 0
