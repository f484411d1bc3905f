"""Solutions to notebook 05's exercises (try them first; `checks.<name>(fn)` tells you when you are right)."""
import math

import torch


def lsgan_losses(real, fake):
    """Exercise 1: LSGAN's D loss (targets b = 1 real, a = 0 fake) and G's (target c = 1), from D's scores."""
    d = 0.5 * (real - 1).square().mean() + 0.5 * fake.square().mean()
    return d, 0.5 * (fake - 1).square().mean()


def saturation_score(ratio):
    """Exercise 2: the score s where d/ds log(1 - sigmoid(s)) is `ratio` times d/ds -log sigmoid(s).

    The two gradients are -sigmoid(s) and -(1 - sigmoid(s)); their ratio is exp(s).
    """
    return math.log(ratio)


def gradient_penalty(critic, y):
    """Exercise 3: WGAN-GP's mean over the batch of (|grad_y critic(y)| - 1)^2, y (B, D), critic(y) (B,)."""
    y = y.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(y).sum(), y)
    return (grad.norm(dim=1) - 1).square().mean()
