"""Solutions to notebook 01's exercises (try them first; `checks.<name>(fn)` tells you when you are right)."""
import math

import torch


def receptive_field(model, size=32):
    """Exercise 1: how many input pixels change the model's output at the centre pixel (via the gradient).

    Why does the MLP at patch 7 not beat the one at patch 1 by much? Under the L2 loss the best a model can do is
    the mean colour of everything that looks the same to it: E[ab | what it sees]. A 7 x 7 patch of lightness
    shows an edge or a texture, but it rarely tells a grey sky from a grey car or a road, so E[ab | patch] is
    close to E[ab | L]: the reference `mlp` (7 x 7) sits within noise of the reference CNN in section 1 and near
    the per-lightness table in section 2. What does tell the colour is the object, and that needs a view of
    most of the image (the CNN's receptive field), plus enough data and steps to learn objects.
    """
    L = (torch.rand(1, 1, size, size, generator=torch.Generator().manual_seed(0)) * 100).requires_grad_(True)
    out = model.eval()(L)  # (1, 2, H, W)
    out[0, :, size // 2, size // 2].sum().backward()
    return int((L.grad != 0).sum())


def best_per_pixel_rmse(L, ab):
    """Exercise 2: RMSE ab of the table E[ab | rounded L] fitted on these images: no per-pixel model does better.

    The follow-up: `best_per_pixel_rmse(L_train, ab_train)` on this run's training images (CEILING_ON_TRAIN below).
    How close does the per-pixel MLP get? It can only approach the table: it too maps one lightness to one colour,
    and on the images the table was fitted on the table is the L2 optimum of such maps (up to rounding L, and up
    to the average of per-image RMSEs not being the pooled MSE). On the test images the two differ only by what
    each got wrong from finite training data: compare the rows "E[ab | L] table" and "MLP, 1 pixel" of the table.
    """
    level = L.round().long().flatten()  # (N*H*W,)
    pixels = ab.permute(0, 2, 3, 1).reshape(-1, 2)
    table = torch.zeros(101, 2).index_add_(0, level, pixels) / torch.bincount(level, minlength=101).clamp_min(1)[:, None]
    pred = table[level].reshape(ab.shape[0], *ab.shape[2:], 2).permute(0, 3, 1, 2)
    return (pred - ab).square().mean(dim=(1, 2, 3)).sqrt().mean()


def rmsprop_step(p, g, v, lr, alpha, eps):
    """Exercise 3: one RMSprop step: a running mean of g^2, then a step scaled by its square root."""
    v = alpha * v + (1 - alpha) * g.square()
    return p - lr * g / (v.sqrt() + eps), v


def psnr_from_rmse(rmse):
    """Exercise 4: PSNR (dB) of images in [0, 1] from their RGB RMSE: 10 log10(1 / MSE) = 20 log10(1 / RMSE).

    Halving the RMSE gains 20 log10(2) = 6.02 dB, whatever the RMSE. Why does grayscale's high PSNR say little
    about colour? Its lightness is exact everywhere and most CIFAR-10 pixels are nearly grey, so its RGB error is
    small on average even though it paints no colour at all; a colorizer that paints a plausible but wrong colour
    (a red car that was blue) pays a large squared error on those pixels and can score below grayscale. PSNR
    measures closeness to this one photo, not whether the colours are plausible or vivid: read it beside
    colourfulness and against the grayscale row, never alone.
    """
    return 20 * math.log10(1 / rmse)


def ceiling_on_train(L_train, ab_train):
    """Exercise 2's follow-up: the per-pixel ceiling on this run's training images (the notebook's L_train, ab_train)."""
    return best_per_pixel_rmse(L_train, ab_train)
