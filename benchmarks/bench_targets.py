"""Target building throughput: rgb_to_lab vs scikit-image, soft encoding vs a scikit-learn kNN encoder.

All figures come from one run on one machine, on the same random uint8 CIFAR-size images (uniform colours,
so every part of the gamut is hit):

* rgb_to_lab (uint8 -> float -> Lab, batches of --batch-size) vs skimage.color.rgb2lab on the same batches
  as NHWC numpy arrays, as a user would call it. Checked to agree within 1e-3.
* soft_encode_sparse (k = 10, sigma = 5 as Zhang's released code and seed 000; and k = 5) vs the encoder of
  Zhang's released code rebuilt on scikit-learn: NearestNeighbors(ball_tree) fitted on the 313 bins,
  kneighbors, Gaussian weights normalised per pixel. Checked to pick the same bins with the same weights.
* on CUDA: a uint8 batch on the GPU -> raw L input (B, 1, H, W) + sparse soft targets, images/s.

Times are the best of --repeats runs (the least disturbed on a busy machine).

    python benchmarks/bench_targets.py                       # CPU comparisons (+ CUDA if available)
    python benchmarks/bench_targets.py --n-images 500 --threads 1
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import skimage.color
import torch
from sklearn.neighbors import NearestNeighbors

from colorkit.color import rgb_to_lab, uint8_to_float
from colorkit.device import default_device, seed_everything
from colorkit.quantize import ab_bins, soft_encode_sparse


def best_time(fn, repeats: int, sync=lambda: None) -> float:
    """Fastest of `repeats` timed calls of fn (after one untimed warm-up call)."""
    fn()
    sync()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - t0)
    return min(times)


def lab_torch(x: torch.Tensor, batch: int) -> torch.Tensor:
    return torch.cat([rgb_to_lab(uint8_to_float(x[i:i + batch])) for i in range(0, len(x), batch)])


def lab_skimage(x_nhwc: np.ndarray, batch: int) -> np.ndarray:
    return np.concatenate([skimage.color.rgb2lab(x_nhwc[i:i + batch]) for i in range(0, len(x_nhwc), batch)])


class SklearnSoftEncoder:
    """Soft encoding the way Zhang's released code does it: a ball tree over the bins, k neighbours, Gaussian."""

    def __init__(self, k: int, sigma: float):
        self.sigma = sigma
        self.nn = NearestNeighbors(n_neighbors=k, algorithm="ball_tree").fit(ab_bins(dtype=torch.float64).numpy())

    def __call__(self, ab_nhwc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        dist, idx = self.nn.kneighbors(ab_nhwc.reshape(-1, 2))  # (N, k) each, nearest first
        w = np.exp(-dist ** 2 / (2 * self.sigma ** 2))
        return idx, w / w.sum(axis=1, keepdims=True)


def check_same_targets(ours: tuple[torch.Tensor, torch.Tensor], theirs: tuple[np.ndarray, np.ndarray]) -> float:
    """Fraction of pixels with identical bins; asserts >= 99.9 % (the rest: float near-ties) and weights within 1e-5."""
    k = ours[0].shape[1]
    idx = ours[0].permute(0, 2, 3, 1).reshape(-1, k).numpy()
    w = ours[1].permute(0, 2, 3, 1).reshape(-1, k).double().numpy()
    same = (idx == theirs[0]).all(axis=1)
    assert same.mean() >= 0.999, f"only {same.mean():.4%} of pixels have the same bins as scikit-learn"
    err = np.abs(w[same] - theirs[1][same]).max()
    assert err < 1e-5, f"weights differ from scikit-learn's by {err:.2e}"
    return float(same.mean())


def gpu_pipeline(x_cpu: torch.Tensor, device: torch.device, k: int, batch: int, repeats: int) -> float:
    """images/s of uint8 on the GPU -> (L input, soft targets (idx, weight)) for every batch."""
    x = x_cpu.to(device)

    def run() -> None:
        for i in range(0, len(x), batch):
            lab = rgb_to_lab(uint8_to_float(x[i:i + batch]))  # (b, 3, H, W)
            ab = lab[:, 1:]  # the model input, raw L in [0, 100], is the view lab[:, :1]: no extra work
            soft_encode_sparse(ab, k=k, sigma=5.0, in_gamut=True)  # as fit builds its targets: no syncs

    return len(x) / best_time(run, repeats, torch.cuda.synchronize)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n-images", type=int, default=2000)
    p.add_argument("--size", type=int, default=32, help="image side (CIFAR: 32)")
    p.add_argument("--batch-size", type=int, default=256, help="batch for the Lab conversions")
    p.add_argument("--device", default=None, help="device of the GPU pipeline row (default: CUDA if available)")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    seed_everything(0)
    n, s = args.n_images, args.size
    x = torch.randint(0, 256, (n, 3, s, s), dtype=torch.uint8)
    x_nhwc = x.permute(0, 2, 3, 1).numpy().copy()
    print(f"{n} random uint8 images {s}x{s}, CPU with {torch.get_num_threads()} torch threads, "
          f"best of {args.repeats}")
    rows = []  # (what, colorkit img/s, reference img/s, note)

    t_ours = best_time(lambda: lab_torch(x, args.batch_size), args.repeats)
    t_ref = best_time(lambda: lab_skimage(x_nhwc, args.batch_size), args.repeats)
    err = np.abs(lab_torch(x, args.batch_size).permute(0, 2, 3, 1).double().numpy()
                 - lab_skimage(x_nhwc, args.batch_size)).max()
    assert err < 1e-3, f"rgb_to_lab differs from skimage by {err}"
    rows.append(("rgb_to_lab vs skimage rgb2lab", n / t_ours, n / t_ref, f"max |diff| {err:.1e}"))

    ab = lab_torch(x, args.batch_size)[:, 1:].contiguous()  # (n, 2, s, s) float32
    ab_nhwc = ab.permute(0, 2, 3, 1).double().numpy()
    for k in (10, 5):
        ref = SklearnSoftEncoder(k, 5.0)
        t_ours = best_time(lambda: soft_encode_sparse(ab, k=k, sigma=5.0), args.repeats)
        t_ref = best_time(lambda: ref(ab_nhwc), args.repeats)
        same = check_same_targets(soft_encode_sparse(ab, k=k, sigma=5.0), ref(ab_nhwc))
        rows.append((f"soft targets k={k} vs sklearn kNN", n / t_ours, n / t_ref, f"same bins {same:.4%}"))

    print(f"\n{'what (CPU)':36s} {'colorkit img/s':>15s} {'reference img/s':>16s} {'ratio':>7s}  check")
    for what, ours, theirs, note in rows:
        print(f"{what:36s} {ours:15,.0f} {theirs:16,.0f} {ours / theirs:6.2f}x  {note}")

    device = torch.device(args.device) if args.device else default_device()
    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
        for k in (10, 5):
            ips = gpu_pipeline(x, device, k, batch=1024, repeats=args.repeats)
            print(f"{'GPU uint8 -> L + soft targets k=' + str(k):36s} {ips:15,.0f}  ({name}, batch 1024, "
                  f"target >= 50,000 img/s)")
    else:
        print("(no CUDA device: GPU pipeline row skipped)")


if __name__ == "__main__":
    main()
