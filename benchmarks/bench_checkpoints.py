"""Reading checkpoint metadata: a full load vs a memory-mapped one (what find_checkpoints and `colorkit info` do).

Writes --count checkpoints of one model with Adam-sized optimiser state into a temporary folder, then times
load_checkpoint(mmap=False) and load_checkpoint(mmap=True) over all of them, alternating, best of --repeats.
The files stay in the page cache, so this is the warm-cache ratio; a cold disk favours mmap more.

    python benchmarks/bench_checkpoints.py                 # Zhang full (32 M parameters), 4 checkpoints
    python benchmarks/bench_checkpoints.py --model cnn_tanh --count 2
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from colorkit.checkpoint import find_checkpoints, load_checkpoint, save_checkpoint
from colorkit.models import build_model


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="zhang")
    p.add_argument("--count", type=int, default=4)
    p.add_argument("--repeats", type=int, default=2)
    args = p.parse_args()

    model = build_model(args.model)
    weights = model.state_dict()
    adam = {"state": {i: {"exp_avg": t.clone(), "exp_avg_sq": t.clone()}
                      for i, t in enumerate(weights.values()) if t.is_floating_point()}}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "checkpoints"
        paths = [save_checkpoint(folder / f"{args.model}_{i}.pt",
                                 {"model": weights, "optimizer": adam, "spec": dict(model.spec), "epoch": 1})
                 for i in range(args.count)]
        megabytes = sum(q.stat().st_size for q in paths) / 1e6
        best = {False: float("inf"), True: float("inf")}
        for _ in range(args.repeats):
            for mmap in (False, True):
                t0 = time.perf_counter()
                specs = [load_checkpoint(q, mmap=mmap)["spec"] for q in paths]
                best[mmap] = min(best[mmap], time.perf_counter() - t0)
                assert len(specs) == args.count
        t0 = time.perf_counter()
        found = find_checkpoints(tmp)
        scan = time.perf_counter() - t0
    print(f"{args.count} checkpoints of {args.model}, {megabytes:.0f} MB together")
    print(f"full load  {best[False]:.3f} s")
    print(f"mmap load  {best[True]:.3f} s   ({best[False] / best[True]:.1f}x faster)")
    print(f"find_checkpoints over the folder: {scan:.3f} s, {len(found)} found")


if __name__ == "__main__":
    main()
