"""colorkit.quantize: the 313 bins against Zhang's published set, exact soft encoding, decoding of logits."""
import math

import pytest
import torch

from colorkit import quantize as qz
from colorkit.color import rgb_to_lab

# Zhang et al.'s 313 in-gamut ab bin centres (pts_in_hull), as published (OpenCV's colorization sample),
# in their order: (a, b) pairs, sorted by a then b.
ZHANG_PTS_IN_HULL = (
    -90, 50, -90, 60, -90, 70, -90, 80, -90, 90, -80, 20, -80, 30, -80, 40, -80, 50,
    -80, 60, -80, 70, -80, 80, -80, 90, -70, 0, -70, 10, -70, 20, -70, 30, -70, 40,
    -70, 50, -70, 60, -70, 70, -70, 80, -70, 90, -60, -20, -60, -10, -60, 0, -60, 10,
    -60, 20, -60, 30, -60, 40, -60, 50, -60, 60, -60, 70, -60, 80, -60, 90, -50, -30,
    -50, -20, -50, -10, -50, 0, -50, 10, -50, 20, -50, 30, -50, 40, -50, 50, -50, 60,
    -50, 70, -50, 80, -50, 90, -50, 100, -40, -40, -40, -30, -40, -20, -40, -10, -40, 0,
    -40, 10, -40, 20, -40, 30, -40, 40, -40, 50, -40, 60, -40, 70, -40, 80, -40, 90,
    -40, 100, -30, -50, -30, -40, -30, -30, -30, -20, -30, -10, -30, 0, -30, 10, -30, 20,
    -30, 30, -30, 40, -30, 50, -30, 60, -30, 70, -30, 80, -30, 90, -30, 100, -20, -50,
    -20, -40, -20, -30, -20, -20, -20, -10, -20, 0, -20, 10, -20, 20, -20, 30, -20, 40,
    -20, 50, -20, 60, -20, 70, -20, 80, -20, 90, -20, 100, -10, -60, -10, -50, -10, -40,
    -10, -30, -10, -20, -10, -10, -10, 0, -10, 10, -10, 20, -10, 30, -10, 40, -10, 50,
    -10, 60, -10, 70, -10, 80, -10, 90, -10, 100, 0, -70, 0, -60, 0, -50, 0, -40,
    0, -30, 0, -20, 0, -10, 0, 0, 0, 10, 0, 20, 0, 30, 0, 40, 0, 50,
    0, 60, 0, 70, 0, 80, 0, 90, 0, 100, 10, -80, 10, -70, 10, -60, 10, -50,
    10, -40, 10, -30, 10, -20, 10, -10, 10, 0, 10, 10, 10, 20, 10, 30, 10, 40,
    10, 50, 10, 60, 10, 70, 10, 80, 10, 90, 20, -80, 20, -70, 20, -60, 20, -50,
    20, -40, 20, -30, 20, -20, 20, -10, 20, 0, 20, 10, 20, 20, 20, 30, 20, 40,
    20, 50, 20, 60, 20, 70, 20, 80, 20, 90, 30, -90, 30, -80, 30, -70, 30, -60,
    30, -50, 30, -40, 30, -30, 30, -20, 30, -10, 30, 0, 30, 10, 30, 20, 30, 30,
    30, 40, 30, 50, 30, 60, 30, 70, 30, 80, 30, 90, 40, -100, 40, -90, 40, -80,
    40, -70, 40, -60, 40, -50, 40, -40, 40, -30, 40, -20, 40, -10, 40, 0, 40, 10,
    40, 20, 40, 30, 40, 40, 40, 50, 40, 60, 40, 70, 40, 80, 40, 90, 50, -100,
    50, -90, 50, -80, 50, -70, 50, -60, 50, -50, 50, -40, 50, -30, 50, -20, 50, -10,
    50, 0, 50, 10, 50, 20, 50, 30, 50, 40, 50, 50, 50, 60, 50, 70, 50, 80,
    60, -110, 60, -100, 60, -90, 60, -80, 60, -70, 60, -60, 60, -50, 60, -40, 60, -30,
    60, -20, 60, -10, 60, 0, 60, 10, 60, 20, 60, 30, 60, 40, 60, 50, 60, 60,
    60, 70, 60, 80, 70, -110, 70, -100, 70, -90, 70, -80, 70, -70, 70, -60, 70, -50,
    70, -40, 70, -30, 70, -20, 70, -10, 70, 0, 70, 10, 70, 20, 70, 30, 70, 40,
    70, 50, 70, 60, 70, 70, 70, 80, 80, -110, 80, -100, 80, -90, 80, -80, 80, -70,
    80, -60, 80, -50, 80, -40, 80, -30, 80, -20, 80, -10, 80, 0, 80, 10, 80, 20,
    80, 30, 80, 40, 80, 50, 80, 60, 80, 70, 90, -110, 90, -100, 90, -90, 90, -80,
    90, -70, 90, -60, 90, -50, 90, -40, 90, -30, 90, -20, 90, -10, 90, 0, 90, 10,
    90, 20, 90, 30, 90, 40, 90, 50, 90, 60, 90, 70, 100, -90, 100, -80, 100, -70,
    100, -60, 100, -50, 100, -40, 100, -30, 100, -20, 100, -10, 100, 0,
)
DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def test_fixture_is_the_published_table():
    assert len(ZHANG_PTS_IN_HULL) == 626


def test_ab_bins_equal_zhangs_published_set_in_order():
    want = torch.tensor(ZHANG_PTS_IN_HULL, dtype=torch.float64).reshape(313, 2)
    bins = qz.ab_bins(dtype=torch.float64)
    assert bins.shape == (313, 2)
    assert torch.equal(bins, want)
    assert qz.ab_bins().dtype == torch.float32
    bins[0] = 1e3  # the caller gets a copy: the cache is not touched
    assert torch.equal(qz.ab_bins(dtype=torch.float64), want)


def _brute(ab, k, sigma):
    """float64 brute force over all 313 bins, ties to the lower index: idx, weights (N, k), N = B*H*W."""
    p = ab.double().permute(0, 2, 3, 1).reshape(-1, 2)
    d2 = (p[:, None, :] - qz.ab_bins(dtype=torch.float64)[None]).square().sum(-1)  # (N, 313)
    d2, idx = d2.sort(dim=1, stable=True)
    w = torch.exp(-(d2[:, :k] - d2[:, :1]) / (2 * sigma ** 2))  # the shift cancels; avoids 0 / 0 far away
    return idx[:, :k], w / w.sum(1, keepdim=True), d2


def _flat(x):
    return x.permute(0, 2, 3, 1).reshape(-1, x.shape[1])


def _ab(n=2, h=24, w=24, lo=-128.0, hi=128.0, seed=0, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(n, 2, h, w, generator=g, dtype=torch.float64) * (hi - lo) + lo).to(dtype)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("k,sigma", [(1, 5.0), (5, 5.0), (10, 5.0), (10, 2.0), (32, 8.0)])
def test_soft_encode_sparse_matches_float64_brute_force(k, sigma, device):
    ab = torch.cat([_ab(), _ab(1, 24, 24, -170.0, 170.0, seed=1)])  # some points outside the lookup table
    idx, w = qz.soft_encode_sparse(ab.to(device), k=k, sigma=sigma)
    assert idx.shape == w.shape == (3, k, 24, 24) and idx.dtype == torch.int64 and w.dtype == torch.float32
    assert idx.device.type == device
    want_idx, want_w, d2 = _brute(ab, k, sigma)
    # the float32 inputs are exact in float64; skip the (unlikely) near-ties at the k-th place
    clear = (d2[:, k] - d2[:, k - 1]) > 1e-3 if k < 313 else torch.ones(d2.shape[0], dtype=torch.bool)
    assert clear.float().mean() > 0.99
    assert torch.equal(_flat(idx.cpu())[clear], want_idx[clear])
    torch.testing.assert_close(_flat(w.cpu()).double(), want_w, atol=1e-5, rtol=0)


def test_soft_encode_sparse_float64_is_exact_with_ties_to_lower_index():
    ab = _ab(2, 16, 16, seed=2, dtype=torch.float64)
    # exact ties: bin centres, cell corners, midpoints, the table's edges
    ab[0, :, 0, :8] = torch.tensor([[0, 5, 5, -128, 127.99, 40, 100, -90], [0, 5, 0, -128, 127.99, 90, 0, 55]])
    for k in (1, 5, 10):
        idx, w = qz.soft_encode_sparse(ab, k=k, sigma=5.0)
        want_idx, want_w, _ = _brute(ab, k, 5.0)
        assert torch.equal(_flat(idx), want_idx)
        torch.testing.assert_close(_flat(w), want_w, atol=1e-12, rtol=0)


def test_weights_sum_to_one_nearest_first_and_dense_is_the_scatter():
    ab = _ab(2, 8, 8, -100, 100, seed=3)
    idx, w = qz.soft_encode_sparse(ab, k=10, sigma=5.0)
    torch.testing.assert_close(w.sum(1), torch.ones(2, 8, 8))
    centres = qz.ab_bins()[idx]  # (B, k, H, W, 2)
    d = (centres - ab.permute(0, 2, 3, 1)[:, None]).norm(dim=-1)  # (B, k, H, W)
    assert (d[:, 1:] >= d[:, :-1]).all() and (w[:, 1:] <= w[:, :-1] + 1e-7).all()
    dense = qz.soft_encode(ab, k=10, sigma=5.0)
    assert dense.shape == (2, 313, 8, 8)
    want = torch.zeros(2, 313, 8, 8).scatter_(1, idx, w)
    torch.testing.assert_close(dense, want)
    torch.testing.assert_close(dense.sum(1), torch.ones(2, 8, 8))
    # the paper's default (k = 5, sigma = 5) and a one-hot k = 1
    assert qz.soft_encode(ab).gt(0).sum(1).eq(5).all()
    torch.testing.assert_close(qz.soft_encode(ab, k=1).amax(1), torch.ones(2, 8, 8))


def test_encode_hard_is_the_nearest_bin():
    ab = _ab(3, 10, 10, seed=4)
    hard = qz.encode_hard(ab)
    assert hard.shape == (3, 10, 10) and hard.dtype == torch.int64
    nearest = _brute(ab, 1, 5.0)[0][:, 0]  # (N,)
    assert torch.equal(hard.reshape(-1), nearest)
    bins = qz.ab_bins()
    assert torch.equal(qz.encode_hard(bins.T.reshape(1, 2, 1, 313) + 0.3), torch.arange(313).reshape(1, 1, 313))


def test_smallest_orders_by_distance_then_bin_index():
    d2 = torch.tensor([[4.0, 1.0, 0.0], [1.0, 1.0, 2.0], [1.0, 0.5, 2.0], [0.0, 3.0, 2.0]])  # (C=4, N=3)
    cand = torch.tensor([[7, 0, 5], [9, 3, 2], [8, 1, 4], [6, 2, 3]])  # bin index of each candidate
    top, idx = qz._smallest(d2, cand, 3)  # float32: int64 keys, ties (d2 = 1) to the lower bin index
    assert torch.equal(idx, torch.tensor([[6, 1, 5], [8, 0, 2], [9, 3, 3]]))
    torch.testing.assert_close(top, torch.tensor([[0.0, 0.5, 0.0], [1.0, 1.0, 2.0], [1.0, 1.0, 2.0]]))
    sorted_cand = torch.arange(4)[:, None].expand(4, 3)  # candidates in index order, as the table keeps them
    for x in (d2, d2.double()):  # float32 keys and float64 stable sort agree
        assert torch.equal(qz._smallest(x, sorted_cand, 3)[1], torch.tensor([[3, 2, 0], [1, 0, 1], [2, 1, 2]]))


def test_non_finite_and_empty_inputs_do_not_crash():
    ab = torch.zeros(1, 2, 2, 2)
    ab[0, 0, 0, 0] = float("nan")
    ab[0, 1, 1, 1] = float("inf")
    idx, w = qz.soft_encode_sparse(ab, k=5)
    assert idx.shape == (1, 5, 2, 2) and torch.isfinite(w[..., 0, 1]).all()
    idx, w = qz.soft_encode_sparse(torch.zeros(0, 2, 4, 4), k=5)
    assert idx.shape == w.shape == (0, 5, 4, 4)


def _logits(seed=6, B=2, H=3, W=4, scale=3.0, dtype=torch.float64):
    return torch.randn(B, 313, H, W, generator=torch.Generator().manual_seed(seed), dtype=dtype) * scale


def test_decode_mean_and_mode():
    logits = _logits()
    p = torch.softmax(logits, 1)
    bins = qz.ab_bins(dtype=torch.float64)
    want = torch.stack([(p * bins[:, c].view(1, 313, 1, 1)).sum(1) for c in range(2)], 1)
    torch.testing.assert_close(qz.decode_mean(logits), want)
    mode = qz.decode_mode(logits)
    assert mode.shape == (2, 2, 3, 4)
    torch.testing.assert_close(mode, bins[logits.argmax(1)].permute(0, 3, 1, 2))
    torch.testing.assert_close(qz.decode(logits, "mean"), want)
    torch.testing.assert_close(qz.decode(logits, "mode"), mode)


def test_annealed_mean_is_zhangs_formula_and_interpolates_mean_to_mode():
    logits = _logits()
    z = torch.softmax(logits, 1)
    bins = qz.ab_bins(dtype=torch.float64)
    for T in (0.38, 0.89, 1.0, 2.5):
        f = torch.exp(torch.log(z) / T)
        f = f / f.sum(1, keepdim=True)  # Zhang's f_T(z)
        want = torch.einsum("bqhw,qc->bchw", f, bins)
        torch.testing.assert_close(qz.annealed_mean(logits, T), want)
        torch.testing.assert_close(qz.decode(logits, "annealed", T=T), want)
    torch.testing.assert_close(qz.annealed_mean(logits, 1.0), qz.decode_mean(logits))
    logits = logits.scatter_add(1, logits.argmax(1, keepdim=True), torch.full((2, 1, 3, 4), 1.0, dtype=logits.dtype))
    mode = qz.decode_mode(logits)  # the top logit now leads by >= 1, so T = 0.01 is close to the mode
    gaps = [(qz.annealed_mean(logits, T) - mode).abs().max().item() for T in (1.0, 0.3, 0.1, 0.01)]
    assert gaps == sorted(gaps, reverse=True) and gaps[-1] < 1e-6 < gaps[0]
    assert torch.equal(qz.annealed_mean(logits, 0), mode)  # T = 0 exactly: the mode
    for T in (1e-30, 1e-300):
        out = qz.annealed_mean(logits.float(), T)
        assert torch.isfinite(out).all()
        torch.testing.assert_close(out, mode.float())
    assert qz.decode(logits).shape == (2, 2, 3, 4)  # default: annealed, T = 0.38


def test_decoding_has_gradients():
    logits = _logits(dtype=torch.float64).requires_grad_(True)
    qz.annealed_mean(logits, 0.38).square().sum().backward()
    assert torch.isfinite(logits.grad).all() and logits.grad.abs().sum() > 0


def test_errors_are_clear():
    with pytest.raises(ValueError, match=r"annealed_mean: T must be a finite number >= 0, got -0.5"):
        qz.annealed_mean(_logits(), -0.5)
    with pytest.raises(ValueError, match="decode: unknown method 'median'; valid values: annealed, mean, mode"):
        qz.decode(_logits(), "median")
    with pytest.raises(ValueError, match=r"decode_mean: expected logits with 313 channels.*\(2, 312, 3, 3\)"):
        qz.decode_mean(torch.zeros(2, 312, 3, 3))
    with pytest.raises(ValueError, match=r"soft_encode_sparse: expected ab as a \(B, 2, H, W\) tensor.*\(2, 8, 8\)"):
        qz.soft_encode_sparse(torch.zeros(2, 8, 8))
    with pytest.raises(ValueError, match=r"soft_encode_sparse: k must be an int in \[1, 313\], got 0"):
        qz.soft_encode_sparse(torch.zeros(1, 2, 2, 2), k=0)
    with pytest.raises(ValueError, match=r"soft_encode_sparse: sigma must be > 0, got 0.0"):
        qz.soft_encode_sparse(torch.zeros(1, 2, 2, 2), sigma=0.0)
    with pytest.raises(TypeError, match="encode_hard: expected ab to be a torch.Tensor, got list"):
        qz.encode_hard([[0.0, 0.0]])
    with pytest.raises(ValueError, match="encode_hard: .*floating-point"):
        qz.encode_hard(torch.zeros(1, 2, 2, 2, dtype=torch.long))
    assert not math.isnan(qz.annealed_mean(_logits(), 0.0).sum().item())


def test_in_gamut_fast_path_matches_the_checked_one_on_real_colours():
    g = torch.Generator().manual_seed(0)
    rgb = torch.randint(0, 256, (4, 3, 16, 16), dtype=torch.uint8, generator=g).float() / 255
    ab = rgb_to_lab(rgb)[:, 1:]
    for k in (1, 5, 10):
        fast, checked = qz.soft_encode_sparse(ab, k, in_gamut=True), qz.soft_encode_sparse(ab, k)
        assert torch.equal(fast[0], checked[0]) and torch.equal(fast[1], checked[1])
