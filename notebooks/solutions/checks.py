"""Checks for the notebooks' exercises: each runs your function and says `correct`, or what it expected.

In a notebook: `from solutions import checks`, write the function, then `checks.<name>(your_function)`. A function
that still raises NotImplementedError is reported as not attempted; a wrong answer fails with the expected value.
Nothing about the expected answer is shown before your function is checked: what a check prints while it runs (its
notes on the expected values, and your function's own prints) is held back, and shown under the AssertionError of
a wrong answer only.
The worked solutions are in this folder (00_color_and_bins.py, ...); tests/test_solutions.py runs each of them
through its check, so solutions and checks cannot drift apart.
"""
from __future__ import annotations

import contextlib
import functools
import io
import math
from statistics import NormalDist

import torch

import colorkit as ck
from colorkit.models.discriminator import discriminator_loss, generator_adversarial_loss

EXERCISES = {  # notebook -> the exercises (check and solution share the name)
    "00_color_and_bins": ["nearest_weight", "blue_until", "prior_from_scratch", "grey_share", "ycbcr_from_scratch"],
    "01_mlp_baseline": ["receptive_field", "best_per_pixel_rmse", "rmsprop_step", "psnr_from_rmse"],
    "02_regression_cnns": ["relu_head_floor", "fit_constant", "blur", "mean_colour_rmse"],
    "03_classification": ["annealed_decode", "soft_ce", "mode_and_mean", "loss_floor"],
    "04_rebalancing": ["weight_spread", "rebalanced_weights", "smooth", "auc_rebalanced", "gains_most",
                       "top_weighted_bins"],
    "05_gans": ["lsgan_losses", "saturation_score", "gradient_penalty"],
    "06_vgg_evaluation": ["top1_with_interval", "gap_recovered", "two_proportion_z", "frechet", "mcnemar_p"],
    "07_turing_test_and_your_photos": ["fooling_rate", "more_colourful", "trials_needed", "chance_p_value",
                                       "chance_threshold"],
    "08_hints_and_your_photos": ["square_hints", "palette_bins", "palette_entropy", "shrink_hints"],
}


def exercise(check):
    """Wrap a check: 'correct', 'not attempted yet', or (a wrong answer) an AssertionError saying what was expected.

    The check's output is held back while it runs and shown only with a wrong answer's error, so that expected values
    a check prints never reach the student before their function has been checked.
    """
    @functools.wraps(check)
    def run(fn) -> None:
        held = io.StringIO()
        try:
            with contextlib.redirect_stdout(held):
                check(fn)
        except NotImplementedError:
            print(f"{check.__name__}: not attempted yet (replace `raise NotImplementedError` with your code)")
            return
        except AssertionError as wrong:
            notes = held.getvalue().strip()
            raise AssertionError(f"not yet right: {wrong}"
                                 + (f"\nwhat the check expected:\n{notes}" if notes else "")) from None
        print(f"{check.__name__}: correct")
    return run


def _close(got, expected, what: str, atol: float = 1e-5) -> None:
    """Assert got equals expected to atol (rtol 1e-4); silent when it does, the expected value in the error if not."""
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
def grey_share(fn):
    images = torch.cat([(ck.sample_photo(name, size=48) * 255).round().to(torch.uint8) for name in ("astronaut", "coffee")])
    expected = ck.prior_summary(ck.empirical_prior(images))["grey_mass"]
    print(f"expected: {expected:.4f} of two shipped photos' pixels lie on the 9 grey bins (ck.prior_summary's grey_mass)")
    _close(fn(images), expected, "grey_share(two shipped photos)", atol=1e-6)


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


def _table_rmse(L: torch.Tensor, ab: torch.Tensor) -> float:
    level = L.round().long().clamp(0, 100).flatten()
    pixels = ab.permute(0, 2, 3, 1).reshape(-1, 2).double()
    table = torch.zeros(101, 2, dtype=torch.float64).index_add_(0, level, pixels)
    table /= torch.bincount(level, minlength=101).clamp_min(1)[:, None]
    pred = table[level].reshape(ab.shape[0], *ab.shape[2:], 2).permute(0, 3, 1, 2)
    return float((pred - ab.double()).square().mean(dim=(1, 2, 3)).sqrt().mean())


def ceiling_on_train(fn, L_train: torch.Tensor | None = None, ab_train: torch.Tensor | None = None) -> None:
    """Exercise 2's follow-up: fn(L_train, ab_train), the per-pixel ceiling on the notebook's training images."""
    if L_train is None:
        L_train, ab_train = ck.split_lab(ck.uint8_to_float(_images(6, 8, seed=8)))

    @exercise
    def ceiling_on_train(f):
        expected = _table_rmse(L_train, ab_train)
        print(f"the E[ab | L] table fitted on these {len(L_train):,} images has RMSE ab {expected:.3f} on them")
        _close(float(f(L_train, ab_train)), expected, "ceiling_on_train(L_train, ab_train)", atol=1e-3)
    ceiling_on_train(fn)


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


def relu_floor_on_test(fn, test_images: torch.Tensor | None = None) -> None:
    """Exercise 1's follow-up: fn(test_images), the ReLU head's floor on the notebook's uint8 test images."""
    images = _images(4, 8, seed=9) if test_images is None else test_images

    @exercise
    def relu_floor_on_test(f):
        ab = ck.split_lab(ck.uint8_to_float(images))[1]
        expected = float((ab.clamp(min=0) - ab).square().mean(dim=(1, 2, 3)).sqrt().mean())
        print(f"a head with a, b >= 0 cannot do better than RMSE ab {expected:.3f} on these {len(images):,} images")
        _close(float(f(images)), expected, "relu_floor_on_test(test images)", atol=1e-3)
    relu_floor_on_test(fn)


def median_colour_rmse(fn, train_images: torch.Tensor | None = None, test_images: torch.Tensor | None = None) -> None:
    """Exercise 4's follow-up: fn(train, test), the RMSE ab of the training images' per-channel median colour."""
    train = _images(6, 16, seed=6) if train_images is None else train_images
    test = _images(4, 16, seed=7) if test_images is None else test_images

    @exercise
    def median_colour_rmse(f):
        ab_train = ck.split_lab(ck.uint8_to_float(train))[1]
        median = ab_train.permute(1, 0, 2, 3).reshape(2, -1).median(dim=1).values
        ab = ck.split_lab(ck.uint8_to_float(test))[1]
        expected = float((ab - median.view(1, 2, 1, 1)).square().mean(dim=(1, 2, 3)).sqrt().mean())
        print(f"the median colour {[round(v, 2) for v in median.tolist()]} has RMSE ab {expected:.3f} on the test images")
        _close(float(f(train, test)), expected, "median_colour_rmse(train, test)", atol=1e-2)
    median_colour_rmse(fn)


# ---------------------------------------------------------------- 03 classification

@exercise
def annealed_decode(fn):
    from colorkit.targets import decode_output
    logits = 3 * torch.randn(2, 313, 4, 4, generator=torch.Generator().manual_seed(11))  # a network's 1/4 output
    chroma = {T: decode_output(logits, "logits", (16, 16), T=T).norm(dim=1).mean().item() for T in (1.0, 0.38, 0.1)}
    print("expected: ck.targets.decode_output(logits, 'logits', (16, 16), T); mean chroma of the decoded ab",
          ", ".join(f"{c:.1f} at T = {T}" for T, c in chroma.items()))
    for T in chroma:
        _close(fn(logits, T, (16, 16)), decode_output(logits, "logits", (16, 16), T=T),
               f"annealed_decode(logits, {T}, (16, 16))", atol=1e-3)


@exercise
def soft_ce(fn):
    from colorkit.targets import compute_loss
    g = torch.Generator().manual_seed(12)
    logits, ab = torch.randn(2, 313, 4, 4, generator=g), torch.randn(2, 2, 16, 16, generator=g) * 30
    expected = {k: compute_loss(logits, ab, "ce_onehot" if k == 1 else "ce", k=k).item() for k in (1, 5, 10)}
    print("expected on random logits: the training loss", ", ".join(f"{v:.4f} at k = {k}" for k, v in expected.items()),
          "(ck.targets.compute_loss with 'ce_onehot' at k = 1, 'ce' otherwise)")
    for k, value in expected.items():
        _close(fn(logits, ab, k), value, f"soft_ce(logits, ab, k={k})", atol=1e-4)


@exercise
def mode_and_mean(fn):
    p = ck.toy_bimodal_distribution(ck.ab_bins(), modes=[(60, 40), (-50, 45)], weights=[0.55, 0.45], spread=10)
    logits = p.log().view(1, 313, 1, 1).float()
    mode, mean = ck.decode_mode(logits).flatten(), ck.decode_mean(logits).flatten()
    print(f"expected on the red-or-green toy: mode {tuple(round(v, 1) for v in mode.tolist())} (chroma "
          f"{mode.norm():.1f}), mean {tuple(round(v, 1) for v in mean.tolist())} (chroma {mean.norm():.1f})")
    got_mode, got_mean = fn(p)
    _close(got_mode, mode, "mode_and_mean: the mode", atol=1e-4)
    _close(got_mean, mean, "mode_and_mean: the mean", atol=1e-3)


@exercise
def loss_floor(fn):
    ab = torch.randn(2, 2, 4, 4, generator=torch.Generator().manual_seed(13)) * 30
    floors = {}
    for k in (1, 5, 10):  # the loss of a perfect network, whose softmax is the target itself
        perfect = ck.soft_encode(ab.double(), k=k).clamp_min(1e-300).log()
        floors[k] = ck.losses.cross_entropy_dense(perfect.double(), ck.soft_encode(ab.double(), k=k)).item()
    print("expected: the lowest loss a network can reach,", ", ".join(f"{v:.4f} nats at k = {k}"
                                                                        for k, v in floors.items()))
    for k, value in floors.items():
        _close(fn(ab, k), value, f"loss_floor(ab, k={k})", atol=1e-4)


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
def rebalanced_weights(fn):
    p = _toy_prior()
    for lam in (0.2, 0.5, 0.8):
        expected = ck.class_weights(p, lam=lam, sigma=None)
        print(f"expected at lambda = {lam}: ck.class_weights(prior, lam={lam}, sigma=None), heaviest "
              f"{expected.max().item():.2f}, lightest {expected.min().item():.3f}")
        _close(fn(p, lam), expected, f"rebalanced_weights(prior, {lam})", atol=1e-6)


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
def gains_most(fn):
    rows = [{"model": name, "auc": a, "auc_rebalanced": r}
            for name, a, r in (("L2", 0.90, 0.70), ("unbalanced", 0.91, 0.74), ("rebalanced", 0.88, 0.80),
                               ("grey", 0.89, 0.60))]
    print("expected on these made-up rows: 'rebalanced' (its rebalanced AuC is 0.08 below its AuC, the others' "
          "0.20, 0.17 and 0.29); the gain is auc_rebalanced - auc, largest (least negative) wins")
    got = fn(rows)
    assert got == "rebalanced", f"gains_most(rows): expected 'rebalanced', got {got!r}"
    rows[2]["auc_rebalanced"] = 0.60
    print("then with the rebalanced row at 0.60: 'unbalanced'")
    got = fn(rows)
    assert got == "unbalanced", f"gains_most(rows) after a change: expected 'unbalanced', got {got!r}"


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


# ---------------------------------------------------------------- 06 VGG evaluation

@exercise
def top1_with_interval(fn):
    from colorkit.turing import wilson_interval
    g = torch.Generator().manual_seed(14)
    labels = torch.randint(0, 10, (64,), generator=g)
    truth = torch.nn.functional.one_hot(labels, 10).float()
    cases = {"noisy judge": torch.randn(64, 10, generator=g) + 1.5 * truth, "perfect judge": 10 * truth}
    expected = {}
    for what, lg in cases.items():
        acc = ck.metrics.accuracy(lg, labels).item()
        expected[what] = acc, *wilson_interval(round(acc * 64), 64)
        print(f"expected for the {what} on 64 images: top-1 {acc:.4f}, 95 % interval "
              f"[{expected[what][1]:.4f}, {expected[what][2]:.4f}]")
    for what, lg in cases.items():
        got = fn(lg, labels)
        _close(got[0], expected[what][0], f"top1_with_interval ({what}): the accuracy")
        _close(got[1:], expected[what][1:], f"top1_with_interval ({what}): the interval")


@exercise
def gap_recovered(fn):
    from colorkit.judge import SEED_004_TABLE as t
    cases = {name: (t["grayscale"], t[name], t["ground_truth"]) for name in
             ("regression", "classification", "annealed_mean", "vgg_transfer")}
    cases["kit judge, pretrained classifier"] = (0.840, 0.820, 0.898)
    print("expected:", ", ".join(f"{name} {(c - g) / (tr - g):.1%}" for name, (g, c, tr) in cases.items()))
    for name, (g, c, tr) in cases.items():
        _close(fn(g, c, tr), (c - g) / (tr - g), f"gap_recovered ({name})")


def _two_proportion_reference(k1: int, n1: int, k2: int, n2: int) -> tuple[float, float]:
    from scipy.stats import chi2_contingency  # Pearson's chi-square on the 2 x 2 table is z^2, with the same p
    chi2, p, _, _ = chi2_contingency([[k1, n1 - k1], [k2, n2 - k2]], correction=False)
    return math.copysign(math.sqrt(chi2), k1 / n1 - k2 / n2), p


@exercise
def two_proportion_z(fn):
    cases = [(30, 64, 36, 64), (8400, 10000, 8200, 10000), (5700, 10000, 6500, 10000), (40, 64, 700, 1000)]
    expected = {c: _two_proportion_reference(*c) for c in cases}
    for (k1, n1, k2, n2), (z, p) in expected.items():
        print(f"expected for {k1}/{n1} vs {k2}/{n2}: z = {z:.3f}, two-sided p = {p:.3g}")
    for (k1, n1, k2, n2), (z, p) in expected.items():
        got_z, got_p = fn(k1, n1, k2, n2)
        _close(got_z, z, f"two_proportion_z({k1}, {n1}, {k2}, {n2}): z")
        _close(got_p, p, f"two_proportion_z({k1}, {n1}, {k2}, {n2}): p", atol=1e-6)


@exercise
def frechet(fn):
    from colorkit.judge import frechet_distance
    g = torch.Generator().manual_seed(15)
    real = torch.randn(200, 6, generator=g, dtype=torch.float64)
    fake = 0.5 + torch.randn(200, 6, generator=g, dtype=torch.float64) @ (0.6 * torch.eye(6, dtype=torch.float64) + 0.2)
    cases = {"real vs colorized": (real, fake), "two halves of the real set": (real[:100], real[100:])}
    print("expected:", ", ".join(f"{w} {frechet_distance(a, b):.4f}" for w, (a, b) in cases.items()),
          "(colorkit.judge.frechet_distance)")
    for what, (a, b) in cases.items():
        _close(fn(a, b), frechet_distance(a, b), f"frechet ({what})", atol=1e-4)


@exercise
def mcnemar_p(fn):
    import numpy as np
    from colorkit.stats import mcnemar
    for fixed, broken in [(12, 3), (40, 38), (0, 0), (130, 14), (5, 0)]:
        a = np.array([True] * fixed + [False] * broken + [True] * 7)  # 7 images both get right: they must not count
        b = np.array([False] * fixed + [True] * broken + [True] * 7)
        _close(fn(fixed, broken), mcnemar(a, b)["p"], f"mcnemar_p({fixed}, {broken})", atol=1e-9)


# ---------------------------------------------------------------- 07 Turing test

@exercise
def fooling_rate(fn):
    from colorkit.turing import TuringTest
    x = torch.zeros(40, 3, 2, 2, dtype=torch.uint8)
    test = TuringTest(x, x, seed=16)
    picks = torch.rand(40, generator=torch.Generator().manual_seed(17)) < 0.35  # True: picked the colorized one
    for trial, fooled in zip(test.trials, picks.tolist()):
        test.record(trial.real_side if not fooled else ("left" if trial.real_side == "right" else "right"))
    real_sides, choices = [t.real_side for t in test.trials], [t.choice for t in test.trials]
    low, high = test.interval()
    print(f"expected on the 40 trials: fooling rate {test.fooling_rate():.4f}, 95 % interval [{low:.4f}, {high:.4f}]"
          " (colorkit.turing.TuringTest)")
    got = fn(real_sides, choices)
    _close(got[0], test.fooling_rate(), "fooling_rate: the rate")
    _close(got[1:], (low, high), "fooling_rate: the interval")


@exercise
def more_colourful(fn):
    from colorkit.turing import colorful_observer
    g = torch.Generator().manual_seed(18)
    left = _images(12, 8, seed=19)
    grey = left.double().mean(1, keepdim=True)
    fade = torch.rand(12, 1, 1, 1, generator=g, dtype=torch.float64) * 2  # < 1: greyer, > 1: more saturated
    right = (grey + fade * (left.double() - grey)).round().clamp(0, 255).to(torch.uint8)
    right[:4] = _images(4, 8, seed=20)  # some pairs of unrelated images
    right[4] = left[4]  # a tie: the left one is taken as real
    lab = torch.zeros(4, 3, 8, 8, dtype=torch.float64)  # flat colours at L = 60 that other rules would rank otherwise
    lab[:, 0] = 60.0
    lab[0, 1], lab[1, 1:] = 50.0, 30.0  # (50, 0) vs (30, 30): chroma 50 vs 42, but |a| + |b| 50 vs 60
    lab[2, 1, :, :4], lab[3, 1] = 60.0, 36.0  # half chroma 60, half grey vs chroma 36: mean 30 vs 36, RMS 42 vs 36
    flat = (ck.lab_to_rgb(lab) * 255).round().to(torch.uint8)
    left, right = torch.cat([left, flat[0::2]]), torch.cat([right, flat[1::2]])
    expected = colorful_observer(left, right)
    print("expected: the left image is taken as real for pairs", expected.nonzero().flatten().tolist(),
          f"of {len(left)} (colorkit.turing.colorful_observer)")
    got = torch.as_tensor(fn(left, right))
    assert got.dtype == torch.bool and got.shape == expected.shape, \
        f"more_colourful: expected a ({len(left)},) bool tensor, got {got.dtype} {tuple(got.shape)}"
    assert torch.equal(got, expected), f"more_colourful: expected {expected.tolist()}, got {got.tolist()}"


def _trials_needed_reference(p: float, half_width: float) -> int:
    z = NormalDist().inv_cdf(0.975)
    n = 1  # brute force: the Wilson half-width at p-hat = p shrinks as n grows; take the first n below the target
    while z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) >= half_width:
        n += 1
    return n


@exercise
def trials_needed(fn):
    z = NormalDist().inv_cdf(0.975)
    cases = [(0.3, 0.05), (0.5, 0.03), (0.05, 0.02)]
    print("expected:", ", ".join(f"n = {_trials_needed_reference(p, h)} at p = {p}, half-width {h} (textbook "
                                 f"formula: {math.ceil(z * z * p * (1 - p) / h ** 2)})" for p, h in cases))
    for p, h in cases:
        got, expected = fn(p, h), _trials_needed_reference(p, h)
        assert got == expected, f"trials_needed({p}, {h}): expected {expected}, got {got}"


@exercise
def chance_p_value(fn):
    from scipy.stats import binomtest
    cases = [(16, 50), (22, 50), (25, 50), (160, 500)]
    expected = {c: binomtest(*c, p=0.5, alternative="less").pvalue for c in cases}
    print("expected:", ", ".join(f"{k} of {n} fooled: p = {v:.3g}" for (k, n), v in expected.items()),
          "(scipy.stats.binomtest, alternative='less')")
    for (k, n), value in expected.items():
        _close(fn(k, n), value, f"chance_p_value({k}, {n})", atol=0)


@exercise
def chance_threshold(fn):
    from scipy.stats import binom
    cases = {n: int(binom.ppf(0.05, n, 0.5)) for n in (50, 100, 500)}  # the smallest k with P(X <= k) >= 0.05 ...
    cases = {n: k - 1 if binom.cdf(k, n, 0.5) >= 0.05 else k for n, k in cases.items()}  # ... less one
    print("expected:", ", ".join(f"at most {k} fooled of {n}" for n, k in cases.items()),
          "(the largest count whose exact binomial p = P(X <= count | rate 0.5) is below 0.05)")
    for n, k in cases.items():
        got = fn(n)
        assert got == k, f"chance_threshold({n}): expected {k}, got {got}"


# ---------------------------------------------------------------- 08 hints and your photos

@exercise
def square_hints(fn):
    ab = torch.randn(2, 12, 10, generator=torch.Generator().manual_seed(8), dtype=torch.float64) * 30  # (2, H, W)
    points = [(0, 0), (4, 6), (9, 11)]  # two corners: their squares are clipped
    corner = ab[:, :2, :2].mean(dim=(1, 2))
    print(f"patch 3 at (x=0, y=0) covers 2 x 2 pixels; their mean ab is ({corner[0]:.3f}, {corner[1]:.3f})")
    for patch in (1, 3, 5):
        got_ab, got_mask = fn(ab, points, patch)
        want_mask = torch.zeros(1, 12, 10, dtype=torch.float64)
        for x, y in points:  # brute force: the pixels within patch // 2 of the point in both directions
            rows = [r for r in range(12) if abs(r - y) <= patch // 2]
            cols = [c for c in range(10) if abs(c - x) <= patch // 2]
            want = ab[:, rows][:, :, cols].mean(dim=(1, 2))  # (2,)
            _close(got_ab[:, rows][:, :, cols], want[:, None, None].expand(2, len(rows), len(cols)),
                   f"square_hints(patch={patch}): ab in the square of ({x}, {y})")
            want_mask[:, rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1] = 1
        _close(got_mask, want_mask, f"square_hints(patch={patch}): mask")


@exercise
def palette_bins(fn):
    logits = torch.randn(313, generator=torch.Generator().manual_seed(9), dtype=torch.float64) * 2
    probs = torch.exp(logits - logits.max())
    probs = probs / probs.sum()
    order = sorted(range(313), key=lambda i: -float(probs[i]))[:5]  # brute force: sort all 313
    bins = ck.ab_bins(dtype=torch.float64)
    print(f"most probable bin: ab ({bins[order[0], 0]:.0f}, {bins[order[0], 1]:.0f}) with p = {probs[order[0]]:.4f}")
    ab, p = fn(logits, 5)
    _close(ab, bins[order], "palette_bins(logits, 5): ab centres")
    _close(p, probs[order], "palette_bins(logits, 5): probabilities")


@exercise
def palette_entropy(fn):
    g = torch.Generator().manual_seed(11)
    cases = {"random logits": torch.randn(313, generator=g, dtype=torch.float64) * 2,
             "uniform": torch.zeros(313, dtype=torch.float64),
             "one bin": torch.cat([torch.tensor([60.0], dtype=torch.float64), torch.zeros(312, dtype=torch.float64)])}
    expected = {k: torch.distributions.Categorical(logits=v).entropy().item() / math.log(2) for k, v in cases.items()}
    print("expected:", ", ".join(f"{k} {v:.4f} bits" for k, v in expected.items()))
    for k, v in cases.items():
        _close(fn(v), expected[k], f"palette_entropy ({k})", atol=1e-6)


@exercise
def shrink_hints(fn):
    from colorkit.hints import resize_hints

    g = torch.Generator().manual_seed(10)
    ab = torch.randn(2, 2, 8, 8, generator=g, dtype=torch.float64) * 40
    mask = (torch.rand(2, 1, 8, 8, generator=g) < 0.15).double()
    want_ab, want_mask = resize_hints(ab * mask, mask, (4, 4))
    print(f"{int(mask.sum())} hinted pixels shrink to {int(want_mask.sum())} hinted blocks of 2 x 2")
    got_ab, got_mask = fn(ab * mask, mask, 2)
    _close(got_mask, want_mask, "shrink_hints: mask")
    _close(got_ab, want_ab, "shrink_hints: ab_hint", atol=1e-4)
