"""Images/s of VGG judge training and evaluation: fp32 vs bf16 autocast, NCHW vs channels_last.

    python benchmarks/bench_judge.py            # VGG-16-bn, batch 512 (meant for one GPU)
    python benchmarks/bench_judge.py --quick    # VGG-11 at width 0.25, batch 64: a CPU check in seconds

A training step is what colorkit.judge_train._fit does: augment uint8 on the device, forward, label-smoothed cross
entropy, backward, SGD-Nesterov step. Also prints the implied time of a 40-epoch run on 50,000 images.
Evaluation rows time plain forward passes; colorkit.judge.judge_images evaluates in fp32, so its speed is the
fp32 row of the layout in use.
"""
from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F

from colorkit.data import augment
from colorkit.device import default_device
from colorkit.models.vgg import VGG


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _timed(step, warmup: int, steps: int, device: torch.device) -> float:
    """Seconds for `steps` calls of step(i) after `warmup` untimed ones, the device synchronised around them."""
    for i in range(warmup):
        step(i)
    _sync(device)
    t = time.perf_counter()
    for i in range(steps):
        step(i)
    _sync(device)
    return time.perf_counter() - t


def bench(arch: str, width: float, batch: int, steps: int, warmup: int, bf16: bool, channels_last: bool,
          device: torch.device) -> tuple[float, float]:
    """(train images/s, eval images/s) for one precision / layout."""
    torch.manual_seed(0)
    model = VGG(arch, width=width).to(device)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    model.to(memory_format=fmt)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, nesterov=True, weight_decay=5e-4)
    data = torch.randint(0, 256, (batch * 4, 3, 32, 32), dtype=torch.uint8, device=device)
    labels = torch.randint(0, 10, (batch * 4,), device=device)
    cast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16)

    def step(i: int) -> None:
        j = (i % 4) * batch
        x = (augment(data[j:j + batch], 4, True).float() / 255).contiguous(memory_format=fmt)
        with cast:
            logits = model(x)
        loss = F.cross_entropy(logits.float(), labels[j:j + batch], label_smoothing=0.1)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    model.train()
    train = steps * batch / _timed(step, warmup, steps, device)
    model.eval()
    x = (data[:2 * batch].float() / 255).contiguous(memory_format=fmt)  # (2 * batch, 3, 32, 32)
    with torch.no_grad(), cast:
        evaluate = steps * x.shape[0] / _timed(lambda i: model(x), max(1, warmup // 2), steps, device)
    return train, evaluate


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="small net and batch: a CPU run in seconds")
    p.add_argument("--arch", default=None, help="vgg16 (default) or vgg11 (default with --quick)")
    p.add_argument("--width", type=float, default=None)
    p.add_argument("--batch", type=int, default=None)
    p.add_argument("--steps", type=int, default=None)
    p.add_argument("--device", default=None, help="cpu / cuda (default: CUDA when available)")
    a = p.parse_args()
    arch = a.arch or ("vgg11" if a.quick else "vgg16")
    width = a.width or (0.25 if a.quick else 1.0)
    batch = a.batch or (64 if a.quick else 512)
    steps = a.steps or (3 if a.quick else 30)
    warmup = 1 if a.quick else 10
    device = torch.device(a.device) if a.device else default_device()
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"cpu, {torch.get_num_threads()} threads"
    print(f"# judge throughput: {arch} width {width}, batch {batch}, {steps} timed steps, {name}, "
          f"torch {torch.__version__}")
    print("| precision | layout | train img/s | eval img/s | 40 epochs x 50k (s) |")
    print("| --- | --- | ---: | ---: | ---: |")
    for bf16 in (False, True):
        for channels_last in (False, True):
            train, evaluate = bench(arch, width, batch, steps, warmup, bf16, channels_last, device)
            print(f"| {'bf16' if bf16 else 'fp32'} | {'channels_last' if channels_last else 'NCHW'} | "
                  f"{train:,.0f} | {evaluate:,.0f} | {40 * 50000 / train:,.0f} |", flush=True)


if __name__ == "__main__":
    main()
