"""Solutions to notebook 02's exercises (try them first; `checks.<name>(fn)` tells you when you are right)."""
import torch

import colorkit as ck


def relu_head_floor(ab):
    """Exercise 1: the lowest RMSE ab a head that only outputs a, b >= 0 (seed 002's ReLU) can reach.

    The best non-negative prediction of each pixel is its true (a, b) clamped at 0, so the floor is the RMS of
    the negative parts: green (a < 0) and blue (b < 0). The follow-up evaluates it on this run's test images
    (`relu_floor_on_test`): CIFAR-10 has much sky and water (b < 0) and foliage (a < 0), so this floor alone is a
    sizeable part of a regressor's RMSE (compare it with the table's rows), paid before the network learns
    anything. A tanh head (ab = 110 tanh(x)) reaches every colour, which is why seed 002 switched to it.
    """
    return (ab.clamp(min=0) - ab).square().mean(dim=(1, 2, 3)).sqrt().mean()


def fit_constant(candidates, loss, steps=3000):
    """Exercise 2: the constant colour (2,) that gradient descent finds for L2 or L1 against all candidates.

    Which lands closer to a real colour? L2 finds the mean (6.7, 15.0), about 64 from every candidate: a brown that
    none of them is. L1 finds the per-channel median (10, 45), about 50 from the red (60, 50): closer, but still no
    candidate, because the median of a and the median of b come from different colours. Neither picks one of the
    colours; only a model of the whole distribution (a classifier over bins, notebook 03) can.
    """
    c = torch.zeros(2, requires_grad=True)
    opt = torch.optim.Adam([c], lr=0.1)
    for _ in range(steps):
        err = c - candidates
        value = err.square().mean() if loss == "l2" else err.abs().mean()
        opt.zero_grad(), value.backward(), opt.step()
    return c.detach()


def blur(x, sigma):
    """Exercise 3: a separable Gaussian blur of (B, C, H, W) with reflect padding, as seed 000 blurs its targets."""
    r = min(int(torch.tensor(3 * sigma).ceil()), min(x.shape[-2:]) - 1)
    t = torch.arange(-r, r + 1, dtype=x.dtype)
    k = torch.exp(-0.5 * (t / sigma) ** 2)
    k = (k / k.sum()).repeat(x.shape[1], 1)  # (C, 2r+1): one kernel a channel
    y = torch.nn.functional.pad(x, (r, r, r, r), mode="reflect")
    y = torch.nn.functional.conv2d(y, k.view(x.shape[1], 1, 1, -1), groups=x.shape[1])
    return torch.nn.functional.conv2d(y, k.view(x.shape[1], 1, -1, 1), groups=x.shape[1])


def mean_colour_rmse(train_images, test_images):
    """Exercise 4: RMSE ab on test of painting every pixel the training set's mean (a, b).

    Does the median colour beat the mean on RMSE? No (up to the small gap between an average of per-image RMSEs and
    the pooled one, and between training and test images): among constant colours the mean minimises the squared
    error summed over pixels, the median the absolute error. The median wins on mean absolute error, the mean on
    RMSE: each baseline is the optimum of one loss, which is also why an L1-trained regressor is judged unfairly
    by RMSE and an L2-trained one by absolute error. The follow-up computes it (`median_colour_rmse`).
    """
    mean = ck.split_lab(ck.uint8_to_float(train_images))[1].mean(dim=(0, 2, 3))  # (2,)
    ab = ck.split_lab(ck.uint8_to_float(test_images))[1]
    return (ab - mean.view(1, 2, 1, 1)).square().mean(dim=(1, 2, 3)).sqrt().mean()


def median_colour_rmse(train_images, test_images):
    """Exercise 4's follow-up: RMSE ab on test of painting every pixel the training set's per-channel median (a, b)."""
    ab_train = ck.split_lab(ck.uint8_to_float(train_images))[1]
    median = ab_train.permute(1, 0, 2, 3).reshape(2, -1).median(dim=1).values  # (2,)
    ab = ck.split_lab(ck.uint8_to_float(test_images))[1]
    return (ab - median.view(1, 2, 1, 1)).square().mean(dim=(1, 2, 3)).sqrt().mean()


def relu_floor_on_test(test_images):
    """Exercise 1's follow-up: the ReLU head's floor on this run's test images (uint8)."""
    return relu_head_floor(ck.split_lab(ck.uint8_to_float(test_images))[1])
