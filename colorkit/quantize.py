"""Zhang's 313 quantised ab bins: hard / soft encoding of ab targets and decoding of (B, 313, H, W) logits.

Soft encoding is exact k-nearest-neighbour without a per-pixel loop: the ab plane [-128, 128)^2 is cut into
2 x 2 cells, and a table built once per (k, device) gives every cell a short candidate list that provably holds
the k nearest bins of every point inside it. Per pixel we gather its cell's candidates (at most 17 for k = 10),
compute exact squared distances by subtraction and keep the k smallest with one topk over int64 keys
(distance bits, bin index). Points outside the table fall back to brute force over all 313 bins.
"""
from __future__ import annotations

import math
from functools import lru_cache

import torch

from ._checks import check_image_batch, check_positive
from .color import rgb_to_lab

Q = 313  # number of ab bins
GRID = 10.0  # bin spacing in Lab units
METHODS = ("annealed", "mean", "mode")
DEFAULT_T = 0.38  # Zhang et al.'s annealed-mean temperature: the kit's default wherever a classifier is decoded

# Zhang's published set holds four bins beyond the sRGB rule of ab_bins (see its docstring).
_ZHANG_EXTRA = ((40, 90), (100, -90), (100, -10), (100, 0))
_LUT_LO, _LUT_CELL, _LUT_N = -128.0, 2.0, 128  # lookup table over [-128, 128)^2 in 2 x 2 cells
_FAR = 1.0e4  # coordinates of the padding "bin": never among the k nearest


@lru_cache(maxsize=None)
def _ab_bins_cpu() -> torch.Tensor:
    """The 313 bin centres as a (313, 2) float64 CPU tensor, derived from the sRGB gamut once."""
    n = 129  # samples per edge of each face of the RGB cube: the ab outline comes from the cube's surface
    t = torch.linspace(0.0, 1.0, n, dtype=torch.float64)
    u, v = torch.meshgrid(t, t, indexing="ij")
    faces = []
    for ch in range(3):
        for val in (0.0, 1.0):
            a, b = [c for c in range(3) if c != ch]
            face = torch.empty(3, n, n, dtype=torch.float64)
            face[ch], face[a], face[b] = val, u, v
            faces.append(face)
    ab = rgb_to_lab(torch.stack(faces))[:, 1:].permute(1, 0, 2, 3).reshape(2, -1).T  # (6 n^2, 2)
    # A bin q is kept when some sRGB colour lies within Chebyshev distance 10 of it. The 0.25 slack covers
    # the gaps of the sampling; no bin's true distance lies in [9.99, 10.57], so the set does not depend on it.
    keep = torch.zeros(32, 32, dtype=torch.bool)  # bins on the grid, index (q + 160) / 10
    base = torch.floor(ab / GRID)
    for da in range(-1, 3):
        for db in range(-1, 3):
            q = (base + torch.tensor([da, db], dtype=torch.float64)) * GRID  # (N, 2) a grid point near ab
            near = (ab - q).abs().amax(dim=1) < GRID + 0.25
            qi = (q[near] / GRID + 16).long()
            keep[qi[:, 0], qi[:, 1]] = True
    for a, b in _ZHANG_EXTRA:
        keep[a // 10 + 16, b // 10 + 16] = True
    bins = (keep.nonzero() - 16).to(torch.float64) * GRID  # row-major nonzero: sorted by a, then by b
    if bins.shape[0] != Q:  # guards the derivation against a change in rgb_to_lab
        raise RuntimeError(f"ab_bins: derived {bins.shape[0]} bins from the sRGB gamut, expected {Q}")
    return bins


def ab_bins(device: torch.device | str | None = None, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Zhang's 313 ab bin centres (313, 2), a grid of 10, ordered by a then b (the order of prior_probs.npy).

    Derived from the sRGB gamut: q is kept when some sRGB colour's ab lies within Chebyshev distance 10 of q,
    i.e. q is a corner of a 10 x 10 cell the gamut reaches (every bin a bilinear splat of a colour touches):
    309 bins. Zhang's set adds (40, 90), (100, -90), (100, -10), (100, 0), listed here: no distance rule on
    the gamut gives exactly his 313, e.g. (100, 0) 12.9 from the gamut is in, (110, -60) 11.8 away is out.
    """
    return _ab_bins_cpu().to(device=device, dtype=dtype, copy=True)


@lru_cache(maxsize=None)
def _bins(device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """ab_bins cached per (device, dtype) for internal use (never handed out: callers could modify it)."""
    return _ab_bins_cpu().to(device=device, dtype=dtype)


def _check_k(k: object, fn: str) -> int:
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= Q:
        raise ValueError(f"{fn}: k must be an int in [1, {Q}], got {k!r}")
    return k


@lru_cache(maxsize=None)
def _lut_cpu(k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Candidate table for k: (N*N, C) bin indices ascending, padded with index Q, and the padded (Q+1, 2) bins."""
    bins = _ab_bins_cpu()
    c = _LUT_LO + _LUT_CELL * (torch.arange(_LUT_N, dtype=torch.float64) + 0.5)
    centres = torch.stack(torch.meshgrid(c, c, indexing="ij"), dim=-1).reshape(-1, 2)  # (N*N, 2), row = ia*N+ib
    dist = torch.cdist(centres, bins, compute_mode="donot_use_mm_for_euclid_dist")  # (N*N, Q) exact
    d_k = dist.kthvalue(k, dim=1, keepdim=True).values  # k-th nearest distance of each centre
    # For p in the cell, |p - c| <= r: a bin among p's k nearest has |c - q| <= D_k(c) + 2r. 1e-3 absorbs
    # float32 rounding when a pixel is assigned to its cell.
    r = _LUT_CELL * math.sqrt(0.5)
    cand = dist <= d_k + 2 * r + 1e-3  # (N*N, Q)
    width = int(cand.sum(dim=1).max())
    order = torch.arange(Q).expand_as(cand) + Q * (~cand).long()  # candidates first, by ascending index
    table = order.sort(dim=1).values[:, :width].contiguous()
    table[table >= Q] = Q  # padding -> the far-away dummy bin
    padded = torch.cat([bins, torch.full((1, 2), _FAR, dtype=torch.float64)])
    return table, padded


@lru_cache(maxsize=None)
def _lut(k: int, device: torch.device, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The table of _lut_cpu on a device, transposed: indices (C, N*N) and the candidates' a and b coordinates."""
    table, padded = _lut_cpu(k)
    table = table.T.contiguous().to(device)  # (C, N*N): row j = j-th candidate of every cell
    padded = padded.to(device=device, dtype=dtype)
    return table, padded[:, 0][table], padded[:, 1][table]


def _smallest(d2: torch.Tensor, cand: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Distances d2 (C, N) of candidate bins cand (C, N) -> the k nearest: (d2 (k, N), bins (k, N)) ascending.

    Ties go to the lower bin index.
    """
    if d2.dtype != torch.float32:
        d2, order = torch.sort(d2, dim=0, stable=True)  # candidates are in index order: stable = lower index
        return d2[:k], cand.gather(0, order[:k])
    # Non-negative float32 bits order like the floats; the bin index in the 9 low bits makes every key
    # unique, so one topk over int64 keys gives an exact, deterministic order (fast on CPU and GPU).
    keys = d2.view(torch.int32).long()
    keys.bitwise_left_shift_(9).bitwise_or_(cand)  # (C, N)
    top = keys.topk(k, dim=0, largest=False).values  # (k, N)
    return (top >> 9).int().view(torch.float32), top & 511


def _knn(pa: torch.Tensor, pb: torch.Tensor, k: int, refine_above: float,
         in_gamut: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """Exact k nearest bins of points (pa, pb), each (N,): (idx (k, N) int64, squared distances (k, N)).

    Nearest first; ties go to the lower bin index. Columns whose nearest squared distance exceeds
    refine_above get their distances recomputed in float64 (float32 loses digits of d^2 - d_1^2 far away).
    """
    table, cand_a, cand_b = _lut(k, pa.device, pa.dtype)
    ia = torch.floor((pa - _LUT_LO) / _LUT_CELL).long()
    ib = torch.floor((pb - _LUT_LO) / _LUT_CELL).long()
    inside = (ia >= 0) & (ia < _LUT_N) & (ib >= 0) & (ib < _LUT_N)  # NaN / far-away points fail
    cell = ia.clamp(0, _LUT_N - 1) * _LUT_N + ib.clamp(0, _LUT_N - 1)  # (N,)
    d2 = (pa - cand_a.index_select(1, cell)).square_() + (pb - cand_b.index_select(1, cell)).square_()  # (C, N)
    d2, idx = _smallest(d2, table.index_select(1, cell), k)  # (k, N) each
    if in_gamut:  # the caller vouches for real colours: no checks, so no device syncs (targets inside training)
        return idx, d2
    if not bool(inside.all()):  # rare: ab outside [-128, 128)^2; brute force (one device sync per call)
        out = (~inside).nonzero().squeeze(1)
        bins = _bins(pa.device, pa.dtype)
        full = (pa[out, None] - bins[:, 0]).square() + (pb[out, None] - bins[:, 1]).square()  # (n_out, Q)
        full, order = full.sort(dim=1, stable=True)
        d2[:, out], idx[:, out] = full[:, :k].T, order[:, :k].T
    if d2.dtype == torch.float32 and pa.device.type != "mps":  # MPS has no float64
        far = (d2[0] > refine_above).nonzero().squeeze(1)  # never for real colours: all lie within 7.1 of a bin
        if far.numel():
            qa, qb = _bins(pa.device, torch.float64).T
            i = idx[:, far]
            d2 = d2.double()
            d2[:, far] = (pa[far].double() - qa[i]).square() + (pb[far].double() - qb[i]).square()
    return idx, d2


def soft_encode_sparse(ab: torch.Tensor, k: int = 5, sigma: float = 5.0, chunk: int | None = None,
                       in_gamut: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """ab (B, 2, H, W) -> (idx (B, k, H, W) int64 nearest first, weight (B, k, H, W) summing to 1 over k).

    Gaussian weights exp(-d^2 / (2 sigma^2)) over the k nearest bins (Zhang: k = 5, sigma = 5; his released
    code and seed 000: k = 10). Exact; runs on ab's device; pixels are processed `chunk` at a time
    (default 2^16 on the CPU, cache-sized, and 2^22 on accelerators). in_gamut=True promises ab of real sRGB
    colours (all within 7.1 of a bin): it skips the range check and float64 refinement, and their device syncs.
    """
    check_image_batch(ab, "ab", "soft_encode_sparse", channels=2)
    k = _check_k(k, "soft_encode_sparse")
    check_positive(sigma, "sigma", "soft_encode_sparse")
    B, _, H, W = ab.shape
    work = ab.detach() if ab.dtype in (torch.float32, torch.float64) else ab.detach().float()  # targets: no grad
    p = work.transpose(0, 1).reshape(2, -1)  # (2, B*H*W)
    chunk = chunk or (1 << 16 if p.device.type == "cpu" else 1 << 22)
    # float32 d^2 - d_1^2 is good to 2.4e-7 (2 d_1^2 + d^2 - d_1^2); the weights to 1e-6 while d_1^2 <= 4 sigma^2
    refine_above = 4.0 * sigma * sigma
    idx, w = [], []
    for i in range(0, p.shape[1], chunk):
        idx_i, d2 = _knn(p[0, i:i + chunk], p[1, i:i + chunk], k, refine_above, in_gamut)  # (k, n) each
        w_i = torch.exp((d2[:1] - d2) / (2.0 * sigma * sigma))  # shifted by the nearest: no 0 / 0 far away
        idx.append(idx_i)
        w.append((w_i / w_i.sum(dim=0, keepdim=True)).to(work.dtype))
    idx = torch.cat(idx, dim=1) if idx else p.new_zeros((k, 0), dtype=torch.long)  # (k, B*H*W)
    w = torch.cat(w, dim=1) if w else p.new_zeros((k, 0))
    to_map = lambda x: x.reshape(k, B, H, W).transpose(0, 1).contiguous()  # noqa: E731
    return to_map(idx), to_map(w)


def soft_encode(ab: torch.Tensor, k: int = 5, sigma: float = 5.0) -> torch.Tensor:
    """ab (B, 2, H, W) -> dense soft targets (B, 313, H, W): the scatter of soft_encode_sparse."""
    idx, w = soft_encode_sparse(ab, k, sigma)
    B, _, H, W = idx.shape
    return w.new_zeros(B, Q, H, W).scatter_(1, idx, w)


def encode_hard(ab: torch.Tensor) -> torch.Tensor:
    """ab (B, 2, H, W) -> index of the nearest bin (B, H, W) int64 (ties: lower index)."""
    check_image_batch(ab, "ab", "encode_hard", channels=2)
    return soft_encode_sparse(ab, k=1)[0][:, 0]


def _check_logits(logits: torch.Tensor, fn: str) -> torch.Tensor:
    return check_image_batch(logits, "logits", fn, channels=Q)


def decode_mean(logits: torch.Tensor) -> torch.Tensor:
    """Logits (B, 313, H, W) -> expected ab (B, 2, H, W) = sum_q softmax(logits)_q * centre_q."""
    _check_logits(logits, "decode_mean")
    p = torch.softmax(logits, dim=1)  # (B, 313, H, W)
    with torch.autocast(p.device.type, enabled=False):  # expected ab in p's precision, never bf16
        return torch.einsum("bqhw,qc->bchw", p, _bins(logits.device, p.dtype))


def decode_mode(logits: torch.Tensor) -> torch.Tensor:
    """Logits (B, 313, H, W) -> ab (B, 2, H, W) of the most probable bin."""
    _check_logits(logits, "decode_mode")
    bins = _bins(logits.device, logits.dtype)
    return bins[logits.argmax(dim=1)].permute(0, 3, 1, 2).contiguous()  # (B, H, W, 2) -> (B, 2, H, W)


def annealed_mean(logits: torch.Tensor, T: float = DEFAULT_T) -> torch.Tensor:
    """Zhang's annealed mean: the mean of f_T(z) = exp(log z / T) / sum exp(log z / T), z = softmax(logits).

    log z = logits - logsumexp(logits), and the softmax ignores that shift, so f_T(z) = softmax(logits / T).
    T = 1 is the mean, T -> 0 the mode; T = 0 returns the mode exactly.
    """
    _check_logits(logits, "annealed_mean")
    if isinstance(T, bool) or not isinstance(T, (int, float)) or not math.isfinite(T) or T < 0:
        raise ValueError(f"annealed_mean: T must be a finite number >= 0, got {T!r}")
    if T == 0:
        return decode_mode(logits)
    # Subtract the max first: for tiny T the scaled logits go to -inf, never inf - inf. T below the dtype's
    # range divides by 0; the max entries (0 / 0) are set to 0 so the result is the mode, not NaN.
    diff = logits - logits.amax(dim=1, keepdim=True)  # (B, 313, H, W), <= 0
    return decode_mean(torch.where(diff == 0, torch.zeros_like(diff), diff / T))


def decode(logits: torch.Tensor, method: str = "annealed", T: float = DEFAULT_T) -> torch.Tensor:
    """Logits (B, 313, H, W) -> ab (B, 2, H, W) by method 'annealed' (temperature T), 'mean' or 'mode'."""
    if method not in METHODS:
        raise ValueError(f"decode: unknown method {method!r}; valid values: {', '.join(METHODS)}")
    if method == "mean":
        return decode_mean(logits)
    if method == "mode":
        return decode_mode(logits)
    return annealed_mean(logits, T)
