"""What one optimiser step costs per training image, for the nets the notebooks train, at a profile's width.

The `cpu` profile (colorkit/profiles.py) gives every model 1,000 optimiser steps; this prints, per preset and batch
size, milliseconds per training image and per step (forward + backward + Adam on random L input, no data loading
or loss overhead), and what 1,000 steps would take: the figures the notebooks' variants were chosen by.

    python benchmarks/bench_profile.py                                   # this CPU as it is
    ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2 COLORKIT_CPU_BF16=0 python benchmarks/bench_profile.py
                                                                         # an AVX2-only laptop, approximately
"""
from __future__ import annotations

import argparse
import platform
import time

import torch

from colorkit.models import build_model, count_parameters

PRESETS = (("mlp", {"patch": 1}), ("mlp", {"patch": 7}), ("cnn_tanh", {}), ("zhang_simplified", {}),
           ("zhang_regressor", {}), ("zhang", {}), ("compact", {}), ("compact_classifier", {}))


def time_step(name: str, options: dict, width: float, batch: int, seconds: float) -> tuple[float, int]:
    """Mean seconds per training step of preset `name` on a random (batch, 1, 32, 32) L batch, and its parameters."""
    torch.manual_seed(0)
    model = build_model(name, width=width, **options)
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    x = torch.rand(batch, 1, 32, 32) * 100

    def step() -> None:
        loss = model(x).float().pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()

    for _ in range(2):  # warm-up: first calls pick kernels
        step()
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds or n < 3:
        step()
        n += 1
    return (time.perf_counter() - start) / n, count_parameters(model)


def main() -> None:
    """Print ms per image and per step, and 1,000 steps' time, per preset and batch size."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--width", type=float, default=0.25, help="channel multiplier (the cpu profile's: 0.25)")
    p.add_argument("--batch", type=int, nargs="+", default=[32, 128])
    p.add_argument("--seconds", type=float, default=2.0, help="timing window per preset")
    args = p.parse_args()
    print(f"{platform.processor() or platform.machine()}, torch {torch.__version__}, {torch.get_num_threads()} "
          f"threads, capability {torch.backends.cpu.get_cpu_capability()}, width {args.width}")
    print(f"{'preset':28s} {'params':>9s} {'batch':>5s} {'ms/image':>9s} {'ms/step':>8s} {'1,000 steps':>12s}")
    for batch in args.batch:
        for name, options in PRESETS:
            dt, params = time_step(name, options, args.width, batch, args.seconds)
            label = name + "".join(f" {k}={v}" for k, v in options.items())
            print(f"{label:28s} {params:>9,d} {batch:>5d} {1000 * dt / batch:>9.3f} {1000 * dt:>8.1f} "
                  f"{1000 * dt:>10.0f} s", flush=True)


if __name__ == "__main__":
    main()
