"""Solutions to notebook 02's exercises (try them first; `checks.<name>(fn)` tells you when you are right)."""
import torch

import colorkit as ck


def relu_head_floor(ab):
    """Exercise 1: the lowest RMSE ab a head that only outputs a, b >= 0 (seed 002's ReLU) can reach."""
    return (ab.clamp(min=0) - ab).square().mean(dim=(1, 2, 3)).sqrt().mean()


def fit_constant(candidates, loss, steps=3000):
    """Exercise 2: the constant colour (2,) that gradient descent finds for L2 or L1 against all candidates."""
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
    """Exercise 4: RMSE ab on test of painting every pixel the training set's mean (a, b)."""
    mean = ck.split_lab(ck.uint8_to_float(train_images))[1].mean(dim=(0, 2, 3))  # (2,)
    ab = ck.split_lab(ck.uint8_to_float(test_images))[1]
    return (ab - mean.view(1, 2, 1, 1)).square().mean(dim=(1, 2, 3)).sqrt().mean()
