"""Training throughput of the Zhang full and simplified nets: images/s and achieved TFLOP/s.

One training step = forward, soft cross-entropy against sparse k=5 targets, backward, SGD step. FLOPs are
counted once per (model, size) with torch.utils.flop_counter.FlopCounterMode over one forward + backward
(convolutions and matmuls; the optimizer step and elementwise ops are not counted).
Combinations: fp32 vs bf16 autocast, NCHW vs channels_last. img/s and TFLOP/s use the median step
time; "best img/s" uses the fastest step (the least disturbed on a busy machine).

    python benchmarks/bench_models.py --quick              # CPU: 32x32, small batch, ~1 minute
    python benchmarks/bench_models.py --device cuda        # all sizes 32, 64, 176
"""
from __future__ import annotations

import argparse
import time

import torch
from torch.utils.flop_counter import FlopCounterMode

from colorkit.device import default_device, seed_everything
from colorkit.losses import soft_cross_entropy
from colorkit.models import build_model, count_parameters
from colorkit.models.heads import NUM_BINS


def make_batch(model: torch.nn.Module, batch: int, size: int, device: torch.device, k: int = 5):
    """Random raw L (B, 1, S, S) and random sparse targets (B, k, S', S') at the model's output resolution."""
    L = 100 * torch.rand(batch, 1, size, size, device=device)
    s = size // model.output_stride
    idx = torch.rand(batch, NUM_BINS, s, s, device=device).topk(k, dim=1).indices  # (B, k, S', S') distinct bins
    weight = torch.softmax(torch.randn(batch, k, s, s, device=device), dim=1)
    return L, idx, weight


def step_flops(model: torch.nn.Module, L: torch.Tensor, idx: torch.Tensor, weight: torch.Tensor) -> int:
    """FLOPs of one forward + backward (x1: every FLOP counted once, multiply-add = 2 FLOPs)."""
    with FlopCounterMode(display=False) as counter:
        soft_cross_entropy(model(L), idx, weight).backward()
    model.zero_grad(set_to_none=True)
    return counter.get_total_flops()


def time_training(model: torch.nn.Module, L, idx, weight, steps: int, warmup: int, bf16: bool) -> list[float]:
    """Seconds of each of `steps` training steps, after `warmup` untimed ones (synchronised on CUDA)."""
    opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
    device_type = L.device.type
    sync = torch.cuda.synchronize if device_type == "cuda" else (lambda: None)

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        with torch.autocast(device_type, dtype=torch.bfloat16, enabled=bf16):
            loss = soft_cross_entropy(model(L), idx, weight)
        loss.backward()
        opt.step()

    for _ in range(warmup):
        step()
    times = []
    for _ in range(steps):
        sync()
        t0 = time.perf_counter()
        step()
        sync()
        times.append(time.perf_counter() - t0)
    return times


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default=None, help="cpu / cuda (default: cuda if available)")
    p.add_argument("--models", nargs="+", default=["zhang", "zhang_simplified"])
    p.add_argument("--sizes", nargs="+", type=int, default=None, help="input sides (default 32 64 176)")
    p.add_argument("--batch-size", type=int, default=None, help="default 32 on CUDA, 2 on the CPU")
    p.add_argument("--steps", type=int, default=None, help="timed steps (default 20 on CUDA, 3 on the CPU)")
    p.add_argument("--warmup", type=int, default=None, help="untimed steps first (default 5 on CUDA, 1 on CPU)")
    p.add_argument("--width", type=float, default=1.0, help="channel multiplier (1.0 = published widths)")
    p.add_argument("--quick", action="store_true", help="32x32 only, small batch, few steps")
    args = p.parse_args(argv)

    device = torch.device(args.device) if args.device else default_device()
    cuda = device.type == "cuda"
    sizes = args.sizes or ([32] if args.quick else [32, 64, 176])
    batch = args.batch_size or (2 if args.quick or not cuda else 32)
    steps = args.steps or (3 if args.quick or not cuda else 20)
    warmup = args.warmup if args.warmup is not None else (1 if args.quick or not cuda else 5)
    if cuda:
        torch.backends.cudnn.benchmark = True
        name = torch.cuda.get_device_name(device)
    else:
        name = f"CPU, {torch.get_num_threads()} threads"
    print(f"# device: {name}; torch {torch.__version__}; batch {batch}, {steps} timed steps after {warmup} warm-up; "
          f"width {args.width}")
    print(f"{'model':<18}{'params':>12}{'size':>6}{'precision':>11}{'layout':>15}{'GFLOP/step':>12}"
          f"{'img/s':>10}{'best img/s':>12}{'TFLOP/s':>10}")
    for model_name in args.models:
        for size in sizes:
            seed_everything(0)
            model = build_model(model_name, width=args.width).to(device).train()
            L, idx, weight = make_batch(model, batch, size, device)
            flops = step_flops(model, L, idx, weight)
            for bf16 in (False, True):
                for channels_last in (False, True):
                    fmt = torch.channels_last if channels_last else torch.contiguous_format
                    model = model.to(memory_format=fmt)
                    x = L.contiguous(memory_format=fmt)
                    times = sorted(time_training(model, x, idx, weight, steps, warmup, bf16))
                    median, best = times[len(times) // 2], times[0]  # best: least disturbed by other load
                    print(f"{model_name:<18}{count_parameters(model):>12,}{size:>6}"
                          f"{'bf16-amp' if bf16 else 'fp32':>11}{'channels_last' if channels_last else 'NCHW':>15}"
                          f"{flops / 1e9:>12.2f}{batch / median:>10.1f}{batch / best:>12.1f}"
                          f"{flops / median / 1e12:>10.3f}", flush=True)

if __name__ == "__main__":
    main()
