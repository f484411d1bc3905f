"""Pilot: a judge of colour without layout. Does the chroma judge's favourite (a per-pixel model) still win?

The shipped chroma_judge sees Lab a and b as images, so it can read shape in them: a colorizer whose ab follows L
pixel by pixel writes the picture's edges into a and b (notebook 06 measures it). A judge that sees only each image's
histogram over the 313 ab bins cannot read shape. This script trains such a judge (313 -> 256 -> 10 MLP on the
histograms of the CIFAR-10 training images) and prints its top-1 on the test images in true colour, grayscale and
as the shipped colorizers colour them. Nothing is shipped; it prints figures for an issue note.

    python benchmarks/pilot_histogram_judge.py --data cifar10-jpeg.tar.gz [--limit 50000] [--test-limit 10000]
"""
from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F

import colorkit as ck
from colorkit.color import join_lab, split_lab, uint8_to_float
from colorkit.quantize import encode_hard


@torch.no_grad()
def histograms(ab_batches) -> torch.Tensor:
    """(N, 313) fraction of each image's pixels in each ab bin, from an iterable of ab (B, 2, H, W) batches."""
    out = []
    for ab in ab_batches:
        idx = encode_hard(ab).flatten(1)  # (B, H*W) bin indices
        h = torch.zeros(idx.shape[0], 313).scatter_add_(1, idx, torch.ones_like(idx, dtype=torch.float32))
        out.append(h / idx.shape[1])
    return torch.cat(out)


def ab_of(images: torch.Tensor, colour=None, batch: int = 500):
    """ab batches of uint8 images: their own (colour None), grey (colour "grey") or a Colorizer's from their L."""
    for s in range(0, images.shape[0], batch):
        L, ab = split_lab(uint8_to_float(images[s:s + batch]))
        yield ab if colour is None else torch.zeros_like(ab) if colour == "grey" else colour.ab(L)


def main() -> None:
    """Train the histogram judge, then print top-1 per colouring."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", required=True)
    p.add_argument("--limit", type=int, default=None)
    p.add_argument("--test-limit", type=int, default=None)
    p.add_argument("--epochs", type=int, default=30)
    args = p.parse_args()
    torch.manual_seed(0)
    t0 = time.time()
    train = ck.load_dataset(args.data, "train", limit=args.limit)
    test = ck.load_dataset(args.data, "test", limit=args.test_limit)
    x_train, y_train = histograms(ab_of(train.images)), train.labels
    print(f"histograms of {len(train):,} training images in {time.time() - t0:.0f} s", flush=True)
    net = torch.nn.Sequential(torch.nn.Linear(313, 256), torch.nn.ReLU(), torch.nn.Linear(256, 10))
    opt = torch.optim.Adam(net.parameters(), 1e-3, weight_decay=1e-4)
    feats = lambda h: torch.sqrt(h)  # noqa: E731  (square-root histograms: rare bins count)
    for epoch in range(args.epochs):
        for idx in torch.randperm(len(train)).split(256):
            loss = F.cross_entropy(net(feats(x_train[idx])), y_train[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    net.eval()
    rows = {"truth": None, "grayscale": "grey"}
    rows |= {name: ck.Colorizer.from_pretrained(name) for name in ("mlp", "regressor", "classifier_unbalanced",
                                                                   "classifier", "gan")}
    print(f"{'colouring':24s} {'top-1':>7s}  (histogram judge, {len(test):,} test images of {test.name})")
    with torch.no_grad():
        for name, colour in rows.items():
            h = histograms(ab_of(test.images, colour))
            acc = (net(feats(h)).argmax(1) == test.labels).float().mean().item()
            print(f"{name:24s} {100 * acc:6.1f} %", flush=True)
    print(f"done in {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
