"""Everything the kit owes a GPU, in one command that fits a lent H200's ~15 minutes (aim: <= 8 minutes).

Runs, each bounded and logged, writing under one folder (default runs/gpu-check/):
  1. the GPU benchmarks: bench_models (Zhang nets, fp32/bf16, NCHW/channels_last), bench_targets, bench_judge;
  2. every shipped model's recipe (colorkit.recipes) for one epoch on the GPU: its time per epoch there, and cards
     in OUT/weights/ (the whole recipes do not fit a lent device's 15 minutes: 12 recipes, 25 s each);
  3. summary.json: each step's command, seconds, exit status and the last lines it printed.

    python benchmarks/gpu_check.py --data cifar10-jpeg.tar.gz               # on the device (make gpu-check)
    python benchmarks/gpu_check.py --data embedded --tiny --device cpu      # rehearsal on the CPU, ~2 minutes

Steps that fail are recorded and the rest go on; the exit status is 1 when any step failed.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def steps(data: str, out: Path, device: str, tiny: bool) -> list[tuple[str, list[str], int]]:
    """(name, argv, timeout seconds) of every step, in order."""
    py = [sys.executable]
    size = ["--limit", "64", "--test-limit", "32", "--epochs", "1"] if tiny else []
    bench = [("bench_models", py + ["benchmarks/bench_models.py", "--device", device]
              + (["--quick", "--models", "zhang_simplified", "--width", "0.125"] if tiny else []), 60),
             ("bench_targets", py + ["benchmarks/bench_targets.py", "--device", device]
              + (["--n-images", "64", "--repeats", "1"] if tiny else []), 45),
             ("bench_judge", py + ["benchmarks/bench_judge.py", "--device", device] + (["--quick"] if tiny else []),
              45)]
    from colorkit.recipes import RECIPES

    size = size or ["--epochs", "1"]
    train = [(f"pretrained_{name}", py + ["-m", "colorkit.pretrained_train", name, "--data", data, "--device", device,
                                          "--work", str(out / "work"), "--out", str(out / "weights")] + size, 25)
             for name in RECIPES]
    return bench + train


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True, help="CIFAR-10 (folder or .tar.gz), or 'embedded' for a rehearsal")
    p.add_argument("--out", default="runs/gpu-check")
    p.add_argument("--device", default="cuda")
    p.add_argument("--tiny", action="store_true", help="a few images and steps: checks the command on a CPU")
    args = p.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    summary, failed, start = [], False, time.perf_counter()
    for name, cmd, timeout in steps(args.data, out, args.device, args.tiny):
        t0 = time.perf_counter()
        with open(out / f"{name}.log", "w") as log:
            try:
                rc = subprocess.run(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, timeout=timeout).returncode
            except subprocess.TimeoutExpired:
                rc = "timeout"
        tail = (out / f"{name}.log").read_text(errors="replace").splitlines()[-12:]
        summary.append({"step": name, "command": " ".join(cmd[1:]), "seconds": round(time.perf_counter() - t0, 1),
                        "exit": rc, "tail": tail})
        failed |= rc != 0
        print(f"{name:<22} exit {rc!s:<8} {summary[-1]['seconds']:7.1f} s   {tail[-1] if tail else ''}", flush=True)
        (out / "summary.json").write_text(json.dumps({"total_seconds": round(time.perf_counter() - start, 1),
                                                       "steps": summary}, indent=2) + "\n")
    print(f"total {time.perf_counter() - start:.0f} s; summary in {out / 'summary.json'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
