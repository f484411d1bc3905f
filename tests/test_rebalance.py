"""colorkit.rebalance: empirical prior, smoothing in the ab plane, Zhang's class weights, loading his prior."""
import warnings
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from colorkit import color, quantize, rebalance
from colorkit.data.cifar import ENV_CACHE
from colorkit.quantize import ab_bins

# Loading a prior warns when it does not look like one of photos (rebalance.IMPLAUSIBLE_MEAN_CHROMA). That warning is
# an error in this file unless a test asserts it: the loader tests use photo-like priors, the others expect it.
pytestmark = pytest.mark.filterwarnings("error:load_zhang_prior")
IMPLAUSIBLE = r"does not look like a prior of photos"


def _bin_of(rgb):
    """Nearest bin of one colour (0..255 triple)."""
    x = torch.tensor(rgb, dtype=torch.uint8).view(1, 3, 1, 1)
    return int(quantize.encode_hard(color.rgb_to_lab(color.uint8_to_float(x))[:, 1:]))


def _two_colour_images():
    """5 images of 4 x 4: 3 all red, 2 half blue / half gray; bins known from encode_hard."""
    x = torch.zeros(5, 3, 4, 4, dtype=torch.uint8)
    x[:3] = torch.tensor([230, 20, 20], dtype=torch.uint8).view(1, 3, 1, 1)
    x[3:, :, :2] = torch.tensor([20, 40, 200], dtype=torch.uint8).view(1, 3, 1, 1)
    x[3:, :, 2:] = 128
    return x


def test_empirical_prior_counts_pixels_per_bin():
    x = _two_colour_images()
    want = torch.zeros(313, dtype=torch.float64)
    want[_bin_of([230, 20, 20])] += 48 / 80
    want[_bin_of([20, 40, 200])] += 16 / 80
    want[_bin_of([128, 128, 128])] += 16 / 80
    assert len({_bin_of([230, 20, 20]), _bin_of([20, 40, 200]), _bin_of([128, 128, 128])}) == 3
    for batch_size in (1, 2, 256):
        prior = rebalance.empirical_prior(x, batch_size=batch_size)
        assert prior.dtype == torch.float64 and prior.shape == (313,)
        torch.testing.assert_close(prior, want)
    torch.testing.assert_close(rebalance.empirical_prior(SimpleNamespace(images=x), device="cpu"), want)


def test_empirical_prior_rejects_bad_images():
    with pytest.raises(ValueError, match=r"empirical_prior: expected images as an ImageSet or a uint8 \(N, 3, H, W\) "
                                         r"tensor, got shape \(2, 3, 4, 4\), dtype torch.float32"):
        rebalance.empirical_prior(torch.zeros(2, 3, 4, 4))
    with pytest.raises(TypeError, match="empirical_prior: .* got list"):
        rebalance.empirical_prior([1, 2])
    with pytest.raises(ValueError, match=r"empirical_prior: expected at least one image in images, got shape \(0, 3"):
        rebalance.empirical_prior(torch.zeros(0, 3, 4, 4, dtype=torch.uint8))
    with pytest.raises(ValueError, match="empirical_prior: batch_size must be a positive int, got 0"):
        rebalance.empirical_prior(_two_colour_images(), batch_size=0)


def test_smooth_prior_is_gaussian_in_the_ab_plane():
    bins = quantize.ab_bins(dtype=torch.float64)
    index = {tuple(b.tolist()): i for i, b in enumerate(bins)}
    q = index[(0.0, 0.0)]
    delta = torch.zeros(313, dtype=torch.float64)
    delta[q] = 1.0
    for sigma in (5.0, 10.0):
        s = rebalance.smooth_prior(delta, sigma)
        assert s.dtype == torch.float64 and abs(float(s.sum()) - 1) < 1e-12
        # neighbours in the plane, whatever their index distance: (0, 10) is next in the list, (10, 0) is 18 away
        for nb, d2 in [((0.0, 10.0), 100), ((10.0, 0.0), 100), ((-10.0, 0.0), 100), ((10.0, 10.0), 200)]:
            torch.testing.assert_close(s[index[nb]] / s[q], torch.tensor(np.exp(-d2 / (2 * sigma ** 2)),
                                                                            dtype=torch.float64))
    uniform = torch.full((313,), 1 / 313, dtype=torch.float64)
    assert abs(float(rebalance.smooth_prior(uniform).sum()) - 1) < 1e-12


def _synthetic_prior():
    g = torch.Generator().manual_seed(0)
    p = torch.rand(313, generator=g, dtype=torch.float64) ** 4
    return p / p.sum()


@pytest.mark.parametrize("lam", [0.0, 0.5, 1.0])
def test_class_weights_formula_and_normalisation(lam):
    p = _synthetic_prior()
    w = rebalance.class_weights(p, lam=lam, sigma=None)
    want = 1.0 / ((1 - lam) * p + lam / 313)
    want = want / (p * want).sum()
    torch.testing.assert_close(w, want)
    torch.testing.assert_close((p * w).sum(), torch.tensor(1.0, dtype=torch.float64))
    if lam == 1.0:
        torch.testing.assert_close(w, torch.ones(313, dtype=torch.float64))  # no rebalancing
    if lam == 0.0:
        torch.testing.assert_close(w, 1 / (313 * p))  # full rebalancing: every bin the same total weight
    ws = rebalance.class_weights(p, lam=lam, sigma=5.0)  # smoothed: normalised against the smoothed prior
    torch.testing.assert_close((rebalance.smooth_prior(p, 5.0) * ws).sum(), torch.tensor(1.0, dtype=torch.float64))


def test_class_weights_errors():
    p = torch.zeros(313, dtype=torch.float64)
    p[:10] = 0.1
    with pytest.raises(ValueError, match="class_weights: lam = 0 with empty bins"):
        rebalance.class_weights(p, lam=0.0, sigma=None)
    with pytest.raises(ValueError, match=r"class_weights: lam must be a number in \[0, 1\], got 1.5"):
        rebalance.class_weights(p, lam=1.5)
    with pytest.raises(ValueError, match=r"class_weights: expected prior of shape \(313,\), got \(312,\)"):
        rebalance.class_weights(torch.ones(312))
    with pytest.raises(ValueError, match="smooth_prior: sigma must be > 0, got 0"):
        rebalance.smooth_prior(p, sigma=0)


def _zhang_weights_by_hand(prior: np.ndarray, sigma: float, lam: float) -> tuple[np.ndarray, np.ndarray]:
    """Zhang et al. eq. 4 with explicit sums: each bin's share of the prior spread over the 313 bin centres in the ab
    plane by a Gaussian of the distance (that bin's mass kept), mixed with uniform by lam, inverted, and scaled so that
    the expected weight of a pixel drawn from the smoothed prior is 1."""
    centres = ab_bins(torch.device("cpu"), torch.float64).numpy()  # (313, 2) a, b
    p = prior / prior.sum()
    smooth = np.zeros(313)
    for source in range(313):
        spread = np.exp(-((centres - centres[source]) ** 2).sum(axis=1) / (2 * sigma ** 2))  # to every bin centre
        smooth += p[source] * spread / spread.sum()
    weights = 1.0 / ((1 - lam) * smooth + lam / 313)
    return smooth, weights / (smooth * weights).sum()


@pytest.mark.parametrize("sigma, lam", [(5.0, 0.5), (10.0, 0.2), (5.0, 1.0)])
def test_smoothing_and_class_weights_match_zhangs_recipe_by_hand(sigma, lam):
    for prior in (_synthetic_prior(), 0.9 * _delta(0, 0) + 0.1 * _delta(-40, 60)):
        smooth, want = _zhang_weights_by_hand(prior.numpy(), sigma, lam)
        np.testing.assert_allclose(rebalance.smooth_prior(prior, sigma).numpy(), smooth, rtol=1e-9, atol=1e-15)
        np.testing.assert_allclose(rebalance.class_weights(prior, lam=lam, sigma=sigma).numpy(), want, rtol=1e-9)


def test_class_weights_on_a_loaded_prior_that_is_not_of_photos(tmp_path, no_env):
    """Like the file once shipped as Zhang's prior (mean chroma 107.7): the loader says so, and the weights are still
    Zhang's recipe applied to it."""
    bad = 0.6 * _delta(-90, 90) + 0.3 * _delta(80, -100) + 0.1 * _delta(0, 0)
    path = _write_prior(tmp_path / "saturated.npy", bad.numpy())
    with pytest.warns(UserWarning, match=r"saturated\.npy " + IMPLAUSIBLE):
        prior = rebalance.load_zhang_prior(path=path, download=False)
    torch.testing.assert_close(prior, bad)
    w = rebalance.class_weights(prior, lam=0.5, sigma=5.0)
    smooth, want = _zhang_weights_by_hand(prior.numpy(), 5.0, 0.5)
    np.testing.assert_allclose(w.numpy(), want, rtol=1e-9)
    order = np.argsort(smooth)
    assert (w.numpy()[order][1:] <= w.numpy()[order][:-1] + 1e-12).all()  # rarer bins weigh more
    assert float(w.max() / w.min()) <= 1 + 313 * float(smooth.max())  # lam = 0.5 bounds the spread


def _photo_prior(a: float, b: float) -> torch.Tensor:
    """A prior that passes the plausibility check: mostly grey, some colour near (a, b), smoothed."""
    return rebalance.smooth_prior(0.8 * _delta(0, 0) + 0.2 * _delta(a, b), 5.0)


def _write_prior(path, prior=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, _photo_prior(20, 30).numpy() if prior is None else prior)
    return path


@pytest.fixture
def no_env(monkeypatch):
    monkeypatch.delenv(rebalance.ENV_PRIOR, raising=False)
    monkeypatch.delenv(ENV_CACHE, raising=False)
    return monkeypatch


def test_load_zhang_prior_lookup_order(tmp_path, no_env):
    explicit = _write_prior(tmp_path / "explicit.npy")
    other = _photo_prior(-30, 10)
    cached = _write_prior(tmp_path / "cache" / rebalance.PRIOR_FILE, other.numpy())
    want = torch.from_numpy(np.load(explicit))
    torch.testing.assert_close(rebalance.load_zhang_prior(path=explicit, download=False), want)
    torch.testing.assert_close(rebalance.load_zhang_prior(cache_dir=cached.parent, download=False), other)
    no_env.setenv(ENV_CACHE, str(cached.parent))
    torch.testing.assert_close(rebalance.load_zhang_prior(download=False), other)
    no_env.setenv(rebalance.ENV_PRIOR, str(explicit))  # the variable beats the cache
    torch.testing.assert_close(rebalance.load_zhang_prior(cache_dir=cached.parent, download=False), want)
    no_env.setenv(rebalance.ENV_PRIOR, str(tmp_path / "missing.npy"))
    with pytest.raises(FileNotFoundError, match="COLORKIT_ZHANG_PRIOR points to .*missing.npy"):
        rebalance.load_zhang_prior(download=False)


def test_load_zhang_prior_offline_message_says_where_to_put_it(tmp_path, no_env):
    with pytest.raises(FileNotFoundError) as err:
        rebalance.load_zhang_prior(cache_dir=tmp_path, download=False)
    msg = str(err.value)
    assert str(tmp_path / rebalance.PRIOR_FILE) in msg and "COLORKIT_ZHANG_PRIOR" in msg
    assert "prior_probs.npy" in msg and "(313,)" in msg


def test_load_zhang_prior_validates_the_file(tmp_path, no_env):
    bad_shape = _write_prior(tmp_path / "shape.npy", np.ones(312) / 312)
    with pytest.raises(ValueError, match=r"load_zhang_prior: .*shape.npy holds an array of shape \(312,\)"):
        rebalance.load_zhang_prior(path=bad_shape)
    bad_sum = _write_prior(tmp_path / "sum.npy", np.ones(313))
    with pytest.raises(ValueError, match=r"load_zhang_prior: .*sum.npy is not a probability vector \(sum 313"):
        rebalance.load_zhang_prior(path=bad_sum)
    junk = tmp_path / "junk.npy"
    junk.write_bytes(b"not an npy file")
    with pytest.raises(ValueError, match="load_zhang_prior: .*junk.npy is not a readable .npy file"):
        rebalance.load_zhang_prior(path=junk)


def _delta(a: float, b: float) -> torch.Tensor:
    bins = ab_bins(torch.device("cpu"), torch.float64)
    p = torch.zeros(313, dtype=torch.float64)
    p[int(((bins - torch.tensor([a, b], dtype=torch.float64)).abs().sum(1)).argmin())] = 1.0
    return p


def test_prior_summary_by_hand():
    s = rebalance.prior_summary(_delta(0, 0))
    assert (s["peak_a"], s["peak_b"], s["peak_mass"], s["grey_mass"], s["mean_chroma"]) == (0, 0, 1, 1, 0)
    assert s["entropy_bits"] == 0 and s["bins_used"] == 1
    half = 0.5 * _delta(10, -10) + 0.5 * _delta(60, -20)  # one grey bin (|a|, |b| <= 10), one saturated
    s = rebalance.prior_summary(half)
    assert s["grey_mass"] == 0.5 and s["entropy_bits"] == 1.0 and s["bins_used"] == 2
    assert s["mean_chroma"] == pytest.approx(0.5 * 200 ** 0.5 + 0.5 * 4000 ** 0.5)


def test_loading_an_implausible_prior_warns_and_a_photo_like_one_does_not(tmp_path, no_env):
    edge = _write_prior(tmp_path / "edge.npy", (0.7 * _delta(-90, 90) + 0.3 * _delta(0, 0)).numpy())
    with pytest.warns(UserWarning, match=r"edge\.npy does not look like a prior of photos.*chroma 89\.1.*30\.0%.*"
                                         r"\(a, b\) = \(-90, 90\)"):
        rebalance.load_zhang_prior(path=edge, download=False)
    photo_like = rebalance.smooth_prior(0.8 * _delta(0, 0) + 0.2 * _delta(20, 30), 5.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rebalance.load_zhang_prior(path=_write_prior(tmp_path / "ok.npy", photo_like.numpy()), download=False)
