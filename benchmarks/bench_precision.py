"""The fast CPU path, measured: training img/s and the loss reached, fp32 NCHW vs fp32 channels_last vs bf16.

For each network (the Zhang simplified colorizer at the kit's widths, the pretrained judge) and each mode, the
same initial weights train for the same batches of real images; the script prints throughput (median step),
the speed-up over fp32 NCHW, and the validation loss after the last step, so the gain and its numerical cost
are both shown in one run. "bf16" is what colorkit.loop chooses on CPUs with native bf16 (autocast + NHWC).

    python benchmarks/bench_precision.py                        # embedded photos; ~10 minutes on 2 cores
    python benchmarks/bench_precision.py --data cifar10-jpeg.tar.gz --compile
    python benchmarks/bench_precision.py --quick                # tiny: checks the script runs
"""
from __future__ import annotations

import argparse
import copy
import time

import torch
import torch.nn.functional as F

from colorkit import targets
from colorkit.data import load_dataset
from colorkit.loop import cpu_fast_bf16
from colorkit.models import build_model
from colorkit.models.airnet import AirNet

MODES = {  # name: (autocast bf16, channels_last, torch.compile)
    "fp32 NCHW": (False, False, False),
    "fp32 channels_last": (False, True, False),
    "bf16 channels_last": (True, True, False),
    "bf16 channels_last compiled": (True, True, True),
}


def colorizer_loss(model: torch.nn.Module, images: torch.Tensor, bf16: bool, channels_last: bool) -> torch.Tensor:
    """Soft cross-entropy (k=5, sigma 5) of a 313-bin colorizer on uint8 images, as train.fit computes it."""
    luma, chroma = targets.luma_chroma(images)
    if channels_last:
        luma = luma.contiguous(memory_format=torch.channels_last)
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        out = model(luma)  # (B, 313, H/4, W/4)
    return targets.compute_loss(out, chroma, "ce", in_gamut=True)


def judge_loss(model: torch.nn.Module, images: torch.Tensor, labels: torch.Tensor, bf16: bool,
               channels_last: bool) -> torch.Tensor:
    """Cross-entropy of the judge on uint8 images (RGB in [0, 1] inside)."""
    x = images.float() / 255
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        logits = model(x)  # (B, 10)
    return F.cross_entropy(logits.float(), labels)


def run_mode(base: torch.nn.Module, loss_fn, batches: list, val: tuple, mode: tuple[bool, bool, bool],
             lr: float) -> tuple[list[float], float, float]:
    """Train a copy of base on `batches`; (step seconds, final training loss, validation loss in fp32)."""
    bf16, channels_last, compiled = mode
    model = copy.deepcopy(base).train()
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    net = torch.compile(model) if compiled else model
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, nesterov=True)
    times, loss = [], torch.zeros(())
    for batch in batches:
        t0 = time.perf_counter()
        loss = loss_fn(net, *batch, bf16, channels_last)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        times.append(time.perf_counter() - t0)
    model.eval()
    with torch.no_grad():
        val_loss = loss_fn(model.float().to(memory_format=torch.contiguous_format), *val, False, False).item()
    return times, loss.item(), val_loss


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default="embedded", help="'embedded' (no labels: judge timed on random labels) "
                   "or CIFAR-10 as for load_dataset")
    p.add_argument("--widths", nargs="+", type=float, default=[0.25, 0.5], help="Zhang simplified widths")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--steps", type=int, default=24, help="training steps per mode (the first 4 are not timed)")
    p.add_argument("--compile", action="store_true", help="also time torch.compile (a minute of compiling per net)")
    p.add_argument("--quick", action="store_true", help="2 widths at 0.125, batch 16, 6 steps, no compile")
    args = p.parse_args(argv)
    if args.quick:
        args.widths, args.batch_size, args.steps, args.compile = [0.125], 16, 6, False
    warm = min(4, args.steps - 2)
    n = args.batch_size * (args.steps + 1)
    data = load_dataset(args.data, "train", limit=n)
    images = data.images[:n]
    labels = data.labels[:n] if data.labels is not None else torch.randint(0, 10, (len(images),),
                                                                          generator=torch.Generator().manual_seed(0))
    b = args.batch_size
    chunks = [(images[i * b:(i + 1) * b],) for i in range(args.steps)]
    val = (images[args.steps * b:],)
    judge_chunks = [(images[i * b:(i + 1) * b], labels[i * b:(i + 1) * b]) for i in range(args.steps)]
    judge_val = (images[args.steps * b:], labels[args.steps * b:])
    modes = {k: v for k, v in MODES.items() if args.compile or not v[2]}
    print(f"# CPU, {torch.get_num_threads()} threads, native bf16: {cpu_fast_bf16()}; torch {torch.__version__}; "
          f"{data.name}; batch {b}, {args.steps} steps per mode ({warm} untimed); same init and batches per mode")
    print(f"{'network':<28}{'mode':<30}{'img/s':>8}{'speed-up':>10}{'train loss':>12}{'val loss':>10}{'val diff':>10}")
    nets = [(f"zhang_simplified w{w:g}", lambda w=w: build_model("zhang_simplified", width=w), colorizer_loss,
             chunks, val, 1e-2) for w in args.widths]
    nets.append(("judge (airnet)", AirNet, judge_loss, judge_chunks, judge_val, 0.05))
    for name, make, loss_fn, batches, val_batch, lr in nets:
        torch.manual_seed(0)
        base = make()
        if isinstance(base, AirNet):
            base.init_whitening(images)
        ref_speed = ref_val = None
        for mode_name, mode in modes.items():
            try:
                times, train_loss, val_loss = run_mode(base, loss_fn, batches, val_batch, mode, lr)
            except Exception as exc:  # e.g. no C++ compiler for torch.compile: report and go on
                print(f"{name:<28}{mode_name:<30} failed: {type(exc).__name__}: {str(exc).splitlines()[0][:80]}")
                continue
            timed = sorted(times[warm:])
            speed = b / timed[len(timed) // 2]
            ref_speed = ref_speed or speed
            ref_val = ref_val if ref_val is not None else val_loss
            print(f"{name:<28}{mode_name:<30}{speed:>8.0f}{speed / ref_speed:>9.2f}x{train_loss:>12.4f}"
                  f"{val_loss:>10.4f}{100 * (val_loss - ref_val) / ref_val:>9.2f}%", flush=True)


if __name__ == "__main__":
    main()
