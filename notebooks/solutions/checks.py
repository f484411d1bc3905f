"""Checks for the notebooks' exercises: each prints what to expect, then runs your function against it.

In a notebook: `from solutions import checks`, write the function, then `checks.<name>(your_function)`. A function
that still raises NotImplementedError is reported as not attempted; a wrong answer fails with the expected value.
The worked solutions are in this folder (00_color_and_bins.py, ...); tests/test_solutions.py runs each of them
through its check, so solutions and checks cannot drift apart.
"""
from __future__ import annotations

import functools
import math

import torch

import colorkit as ck
from colorkit.models.discriminator import discriminator_loss, generator_adversarial_loss

EXERCISES = {  # notebook -> the exercises (check and solution share the name)
    "00_color_and_bins": ["nearest_weight", "blue_until", "prior_from_scratch", "ycbcr_from_scratch"],
    "01_mlp_baseline": ["receptive_field", "best_per_pixel_rmse", "rmsprop_step", "psnr_from_rmse"],
    "02_regression_cnns": ["relu_head_floor", "fit_constant", "blur", "mean_colour_rmse"],
    "04_rebalancing": ["weight_spread", "smooth", "auc_rebalanced", "top_weighted_bins"],
    "05_gans": ["lsgan_losses", "saturation_score", "gradient_penalty"],
}


def exercise(check):
    """Wrap a check: print its expectations, then 'correct', or 'not attempted yet' on NotImplementedError."""
    @functools.wraps(check)
    def run(fn) -> None:
        try:
            check(fn)
        except NotImplementedError:
            print(f"{check.__name__}: not attempted yet (replace `raise NotImplementedError` with your code)")
            return
        print(f"{check.__name__}: correct")
    return run


def _close(got, expected, what: str, atol: float = 1e-5) -> None:
    got, expected = torch.as_tensor(got, dtype=torch.float64), torch.as_tensor(expected, dtype=torch.float64)
    assert got.shape == expected.shape, f"{what}: expected shape {tuple(expected.shape)}, got {tuple(got.shape)}"
    assert torch.allclose(got, expected, atol=atol, rtol=1e-4), f"{what}: expected {expected}, got {got}"


def _images(n=4, size=8, seed=0) -> torch.Tensor:
    return torch.randint(0, 256, (n, 3, size, size), dtype=torch.uint8, generator=torch.Generator().manual_seed(seed))


# ---------------------------------------------------------------- 00 colour and bins

@exercise
def nearest_weight(fn):
    pixels = torch.tensor([[23.4, -41.7], [0.0, 0.0], [55.0, -3.0], [-12.5, 77.0]])  # (N, 2)
    kit = {k: ck.soft_encode_sparse(pixels.T.reshape(1, 2, -1, 1), k=k)[1][0, 0, :, 0] for k in (5, 10)}  # (N,) each
    print("the nearest bin of (23.4, -41.7) keeps weight", ", ".join(f"{w[0]:.3f} at k = {k}" for k, w in kit.items()))
    for k, expected in kit.items():
        _close(fn(pixels, k), expected, f"nearest_weight(pixels, k={k})", atol=1e-4)


def _blue_until_reference(logits: torch.Tensor) -> float:
    lo, hi = 0.01, 1.0  # b < -20 at lo, not at hi: bisect on the decoded b
    for _ in range(40):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if ck.annealed_mean(logits, mid)[0, 1].item() < -20 else (lo, mid)
    return lo


@exercise
def blue_until(fn):
    toy = ck.toy_bimodal_distribution(ck.ab_bins(), modes=[(30, 60), (-10, -40)], weights=[0.4, 0.6], spread=12)
    logits = toy.log().view(1, 313, 1, 1).float()
    ref = _blue_until_reference(logits)
    print(f"the toy pixel decodes blue (b < -20) for T up to about {ref:.2f}")
    got = float(fn(logits))
    assert abs(got - ref) <= 0.01, f"blue_until: expected T = {ref:.3f} (to 0.01), got {got:.3f}"


@exercise
def prior_from_scratch(fn):
    images = _images(6, 8, seed=1)
    print("expected: ck.empirical_prior(images), a (313,) vector summing to 1")
    _close(fn(images), ck.empirical_prior(images), "prior_from_scratch(images)", atol=1e-9)


@exercise
def ycbcr_from_scratch(fn):
    rgb = torch.rand(2, 3, 5, 5, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    print("expected: ck.rgb_to_ycbcr(rgb); white (1, 1, 1) is (Y, Cb, Cr) = (235, 128, 128)")
    _close(fn(rgb), ck.rgb_to_ycbcr(rgb), "ycbcr_from_scratch(rgb)", atol=1e-4)


# ---------------------------------------------------------------- 01 MLP baseline

@exercise
def receptive_field(fn):
    torch.manual_seed(0)
    pixel, patch = ck.build_model("mlp", patch=1, width=0.25), ck.build_model("mlp", patch=7, width=0.25)
    print("expected: 1 pixel for the MLP at patch 1, 49 at patch 7, more than 49 for the seed-002 CNN")
    assert fn(pixel, 32) == 1, f"receptive_field(MLP patch 1): expected 1, got {fn(pixel, 32)}"
    assert fn(patch, 32) == 49, f"receptive_field(MLP patch 7): expected 49, got {fn(patch, 32)}"
    cnn = fn(ck.build_model("cnn_tanh", width=0.25), 32)
    assert cnn > 49, f"receptive_field(cnn_tanh): expected more than 49 pixels, got {cnn}"


@exercise
def best_per_pixel_rmse(fn):
    L = torch.full((2, 1, 4, 4), 50.0)
    ab = torch.zeros(2, 2, 4, 4)
    ab[:, 0, :, :2], ab[:, 0, :, 2:] = 40.0, -40.0  # one lightness, two colours: the table can only say a = 0
    print(f"expected on the toy: {math.sqrt(40 ** 2 / 2):.2f} (one lightness, a = +-40), 0.00 (two lightnesses)")
    _close(fn(L, ab), math.sqrt(40 ** 2 / 2), "best_per_pixel_rmse(one lightness)", atol=1e-3)
    L2 = L.clone()
    L2[:, :, :, 2:] = 70.0  # now the lightness tells the colour
    _close(fn(L2, ab), 0.0, "best_per_pixel_rmse(two lightnesses)", atol=1e-3)


@exercise
def rmsprop_step(fn):
    g = torch.Generator().manual_seed(3)
    p0, grads = torch.randn(5, generator=g), [torch.randn(5, generator=g) for _ in range(3)]
    ref = p0.clone().requires_grad_(True)
    opt = torch.optim.RMSprop([ref], lr=1e-3, alpha=0.9, eps=1e-7)
    p, v = p0.clone(), torch.zeros(5)
    for grad in grads:
        ref.grad = grad.clone()
        opt.step()
        p, v = fn(p, grad, v, lr=1e-3, alpha=0.9, eps=1e-7)
    print("expected: the parameters torch.optim.RMSprop(lr=1e-3, alpha=0.9, eps=1e-7) reaches after 3 steps")
    _close(p, ref.detach(), "rmsprop_step after 3 steps", atol=1e-6)


@exercise
def psnr_from_rmse(fn):
    print(f"expected: an RGB RMSE of 0.066 is a PSNR of {20 * math.log10(1 / 0.066):.2f} dB")
    _close(fn(0.066), 20 * math.log10(1 / 0.066), "psnr_from_rmse(0.066)", atol=1e-6)
    x = torch.rand(1, 3, 8, 8, generator=torch.Generator().manual_seed(4))
    y = (x + 0.05).clamp(0, 1)
    _close(fn(ck.metrics.rmse_rgb(x, y).item()), ck.metrics.psnr(x, y).item(), "psnr_from_rmse vs ck.metrics.psnr")


# ---------------------------------------------------------------- 02 regression CNNs

@exercise
def relu_head_floor(fn):
    ab = torch.tensor([[-30.0, 10.0], [40.0, -20.0]]).view(1, 2, 1, 2)  # pixels (a, b) = (-30, 40) and (10, -20)
    expected = math.sqrt((30 ** 2 + 20 ** 2) / 4)
    print(f"expected on pixels (-30, 40) and (10, -20): {expected:.2f}")
    _close(fn(ab), expected, "relu_head_floor", atol=1e-4)


@exercise
def fit_constant(fn):
    candidates = torch.tensor([[60.0, 50.0], [-50.0, 45.0], [10.0, -50.0]])
    print("expected: L2 -> the mean", [round(v, 1) for v in candidates.mean(0).tolist()],
          "; L1 -> the per-channel median", candidates.median(0).values.tolist(), "(to about 1 unit)")
    _close(fn(candidates, "l2"), candidates.mean(0), "fit_constant(candidates, 'l2')", atol=0.5)
    _close(fn(candidates, "l1"), candidates.median(0).values, "fit_constant(candidates, 'l1')", atol=1.0)


@exercise
def blur(fn):
    from colorkit.targets import gaussian_blur
    x = torch.randn(2, 2, 16, 16, generator=torch.Generator().manual_seed(5))
    print("expected: ck.targets.gaussian_blur(x, sigma) for sigma = 1.5 and 0.8")
    for sigma in (1.5, 0.8):
        _close(fn(x, sigma), gaussian_blur(x, sigma), f"blur(x, {sigma})", atol=1e-5)


@exercise
def mean_colour_rmse(fn):
    from colorkit.baselines import MEAN_COLOUR, baseline_rows
    train, test = _images(6, 16, seed=6), _images(4, 16, seed=7)
    rows = {r["model"]: r for r in baseline_rows(ck.ImageSet(train, None, [], "t", "t"),
                                                 ck.ImageSet(test, None, [], "t", "t"), device="cpu")}
    print(f"expected on the random images: {rows[MEAN_COLOUR]['rmse_ab']:.3f} (the dataset-mean colour's row)")
    _close(fn(train, test), rows[MEAN_COLOUR]["rmse_ab"], "mean_colour_rmse", atol=1e-3)


# ---------------------------------------------------------------- 04 rebalancing

def _toy_prior() -> torch.Tensor:
    d = (ck.ab_bins(dtype=torch.float64) - torch.tensor([3.0, 7.0], dtype=torch.float64)) / torch.tensor([18.0, 25.0])
    p = torch.exp(-0.5 * d.square().sum(1))  # peaked near grey, no two bins alike (no ties among the weights)
    return p / p.sum()


@exercise
def weight_spread(fn):
    p = _toy_prior()
    spread = {lam: (lambda w: w.max() / w.min())(ck.class_weights(p, lam=lam, sigma=None)) for lam in (0.1, 0.5, 1.0)}
    print("on the toy prior the heaviest bin weighs",
          ", ".join(f"{v.item():.1f}x the lightest at lambda = {lam}" for lam, v in spread.items()))
    for lam, expected in spread.items():
        _close(fn(p, lam), expected, f"weight_spread(prior, {lam})", atol=1e-6)


@exercise
def smooth(fn):
    p = _toy_prior() ** 3
    p = p / p.sum()
    print("expected: ck.smooth_prior(prior, sigma) for sigma = 5 and 10")
    for sigma in (5.0, 10.0):
        _close(fn(p, sigma), ck.smooth_prior(p, sigma), f"smooth(prior, {sigma})", atol=1e-9)


@exercise
def auc_rebalanced(fn):
    g = torch.Generator().manual_seed(8)
    true = torch.randn(2, 2, 8, 8, generator=g) * 30
    pred = true + torch.randn(2, 2, 8, 8, generator=g) * 20
    prior = _toy_prior()
    expected = ck.metrics.auc_ab(pred, true, prior=prior).item()
    print(f"expected on the random pixels: {expected:.4f} (plain AuC {ck.metrics.auc_ab(pred, true).item():.4f})")
    _close(fn(pred, true, prior), expected, "auc_rebalanced", atol=1e-5)


@exercise
def top_weighted_bins(fn):
    p = _toy_prior() ** 0.25  # flatter: the rarest bins' weights differ by 0.1 % or more, no near-ties
    p = p / p.sum()
    w = ck.class_weights(p, lam=0.5, sigma=None)
    expected = ck.ab_bins(dtype=torch.float64)[w.argsort(descending=True, stable=True)[:3]]
    print("expected on the toy prior: the 3 heaviest bins are", [tuple(r) for r in expected.tolist()])
    got = torch.as_tensor(fn(p, 3), dtype=torch.float64)
    assert sorted(map(tuple, got.tolist())) == sorted(map(tuple, expected.tolist())), \
        f"top_weighted_bins(prior, 3): expected {expected.tolist()}, got {got.tolist()}"


# ---------------------------------------------------------------- 05 GANs

@exercise
def lsgan_losses(fn):
    g = torch.Generator().manual_seed(9)
    real, fake = torch.randn(4, 1, 2, 2, generator=g), torch.randn(4, 1, 2, 2, generator=g)
    d, gen = discriminator_loss("lsgan", real, fake), generator_adversarial_loss("lsgan", fake)
    print(f"expected on the random scores: D loss {d.item():.4f}, G loss {gen.item():.4f}")
    got_d, got_g = fn(real, fake)
    _close(got_d, d, "lsgan_losses: D's loss")
    _close(got_g, gen, "lsgan_losses: G's loss")


@exercise
def saturation_score(fn):
    print(f"expected: the saturating gradient is 1 % of the non-saturating one at s = {math.log(0.01):.3f}")
    s = torch.tensor(float(fn(0.01)), requires_grad=True)
    sat = torch.autograd.grad(torch.log(1 - torch.sigmoid(s)), s)[0]
    non = torch.autograd.grad(-torch.log(torch.sigmoid(s)), s)[0]
    _close(sat / non, 0.01, "saturating / non-saturating gradient at your s", atol=1e-4)


@exercise
def gradient_penalty(fn):
    w = torch.tensor([0.6, 0.0, 0.3, 0.0])  # a linear critic: its gradient is w everywhere
    y = torch.randn(3, 4, generator=torch.Generator().manual_seed(10))
    linear = (w.norm() - 1).square()
    print(f"expected: linear critic y . w with |w| = {w.norm():.3f} -> penalty {linear:.4f}; "
          "f(y) = |y|^2 / 2 -> mean over the batch of (|y| - 1)^2")
    _close(fn(lambda v: v @ w, y), linear, "gradient_penalty(linear critic)")
    _close(fn(lambda v: 0.5 * v.square().sum(1), y), (y.norm(dim=1) - 1).square().mean(), "gradient_penalty(|y|^2/2)")
