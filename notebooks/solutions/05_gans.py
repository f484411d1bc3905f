"""Solutions to notebook 05's exercises (try them first; `checks.<name>(fn)` tells you when you are right)."""
import math

import torch


def lsgan_losses(real, fake):
    """Exercise 1: LSGAN's D loss (targets b = 1 real, a = 0 fake) and G's (target c = 1), from D's scores.

    G's loss is smallest (0) where D scores every fake at c = 1, the real target. A fake scored far on the "real"
    side (s > 1) still gets a gradient, (s - c), because the square keeps growing on both sides of its target: unlike
    the sigmoid cross-entropy, which is flat there, it pulls fakes that are correctly classified but far from the
    real data back towards the decision boundary, so G keeps learning.
    """
    d = 0.5 * (real - 1).square().mean() + 0.5 * fake.square().mean()
    return d, 0.5 * (fake - 1).square().mean()


def saturation_score(ratio):
    """Exercise 2: the score s where d/ds log(1 - sigmoid(s)) is `ratio` times d/ds -log sigmoid(s).

    The two gradients are -sigmoid(s) and -(1 - sigmoid(s)); their ratio is sigmoid(s) / (1 - sigmoid(s)) = exp(s),
    so s = log(ratio): at s = -4.6 the saturating loss sends G 1 % of the gradient, just where D rejects its fakes.
    """
    return math.log(ratio)


def gradient_penalty(critic, y):
    """Exercise 3: WGAN-GP's mean over the batch of (|grad_y critic(y)| - 1)^2, y (B, D), critic(y) (B,).

    The kit takes y = eps * real + (1 - eps) * generated, eps ~ U(0, 1) per image. Why there: the optimal critic
    has gradient norm 1 on the straight lines between coupled real and generated points (Gulrajani et al., Prop. 1),
    and those lines are where G's samples travel; enforcing the Lipschitz constraint everywhere is intractable, and
    only this region shapes the gradient G receives.
    """
    y = y.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(y).sum(), y)
    return (grad.norm(dim=1) - 1).square().mean()
