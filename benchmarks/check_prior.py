"""Does a prior file look like a prior of photos? Prints the figures README.md quotes for Zhang's prior file.

For the prior file and for CIFAR-10's training set (when given) it prints colorkit.rebalance.prior_summary
(peak bin, mass on the 9 grey bins, the average pixel's chroma, entropy), then two checks on the file:

* the largest ratio between the masses of two grid-neighbour bins (a Gaussian-smoothed histogram of photos
  changes gently from bin to bin; a raw or permuted one need not);
* the average chroma when the file is read in the 8 simple bin orders (a-major or b-major, each axis
  ascending or descending), in case it was written in an order other than the published centres'.

    python benchmarks/check_prior.py PRIOR.npy [--cifar10 PATH] [--limit N]
"""
from __future__ import annotations

import argparse

import numpy as np
import torch

from colorkit.data import load_cifar10
from colorkit.quantize import ab_bins
from colorkit.rebalance import empirical_prior, load_zhang_prior, prior_summary, smooth_prior


def neighbour_ratio(prior: np.ndarray, bins: np.ndarray) -> tuple[float, tuple, tuple]:
    """Largest mass ratio between two bins 10 apart in a or b, and the two bins."""
    index = {tuple(b): i for i, b in enumerate(bins.tolist())}
    best = (0.0, None, None)
    for i, (a, b) in enumerate(bins.tolist()):
        for j in (index.get((a + 10, b)), index.get((a, b + 10))):
            if j is not None and min(prior[i], prior[j]) > 0:
                ratio = max(prior[i], prior[j]) / min(prior[i], prior[j])
                if ratio > best[0]:
                    best = (ratio, (a, b), tuple(bins[j].tolist()))
    return best


def reordered_chroma(prior: np.ndarray, bins: np.ndarray) -> dict[str, float]:
    """Average chroma when the file's entries are assigned to the bins in each simple order."""
    out = {}
    for major, name in ((0, "a"), (1, "b")):
        for s_major in (1, -1):
            for s_minor in (1, -1):
                order = np.lexsort((s_minor * bins[:, 1 - major], s_major * bins[:, major]))
                values = np.empty_like(prior)
                values[order] = prior
                label = f"{name}-major, {'+' if s_major > 0 else '-'}{name} {'+' if s_minor > 0 else '-'}minor"
                out[label] = prior_summary(torch.from_numpy(values))["mean_chroma"]
    return out


def _print_summary(name: str, prior: torch.Tensor) -> None:
    s = prior_summary(prior)
    print(f"{name:28s} peak ({s['peak_a']:4.0f}, {s['peak_b']:4.0f}) {s['peak_mass']:.3f}   grey mass "
          f"{s['grey_mass']:6.1%}   mean chroma {s['mean_chroma']:6.1f}   entropy {s['entropy_bits']:.2f} bits   "
          f"bins used {s['bins_used']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("prior", help="a (313,) .npy prior in the order of the published bin centres")
    parser.add_argument("--cifar10", help="CIFAR-10 (folder or .tar.gz) to compare with its training-set prior")
    parser.add_argument("--limit", type=int, default=None, help="training images used (default: all)")
    args = parser.parse_args()

    bins = ab_bins(torch.device("cpu"), torch.float64).numpy()
    prior = load_zhang_prior(path=args.prior, download=False)
    _print_summary("file", prior)
    _print_summary("file, smoothed (sigma 5)", smooth_prior(prior))
    if args.cifar10:
        train = load_cifar10(args.cifar10, "train", limit=args.limit, download=False)
        own = empirical_prior(train)
        _print_summary(f"{train.name} train ({len(train)})", own)
        _print_summary("  the same, smoothed", smooth_prior(own))
    ratio, a, b = neighbour_ratio(prior.numpy(), bins)
    print(f"largest neighbour ratio in the file: {ratio:.0f}x between bins {a} and {b}")
    for label, chroma in reordered_chroma(prior.numpy(), bins).items():
        print(f"mean chroma read {label}: {chroma:.1f}")


if __name__ == "__main__":
    main()
