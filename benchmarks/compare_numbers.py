"""Did a change move any number? Compare two notebook runs' results and the pretrained cards across git revisions.

    python benchmarks/compare_numbers.py --runs runs/before runs/after     # every results/*.json number of two runs
    python benchmarks/compare_numbers.py --cards HEAD~3                    # colorkit/weights/*.json: HEAD~3 vs now

Numbers are compared leaf by leaf (same JSON path) with a relative tolerance (--rtol, default 0: identical);
timings, dates, paths and hashes of the run are skipped (keys in SKIP). Prints each difference and a summary line;
exit 0 when nothing moved, 1 when something did, 2 on bad arguments.
"""
from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

SKIP = {"seconds", "train_s", "wall_time_s", "epoch_seconds", "images_per_second", "trained_on", "judged_on",
        "commit", "hardware", "device", "written", "skipped", "colorized", "cache_path"}


def leaves(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """(path, leaf) for every number, string or null inside nested dicts and lists, skipping SKIP keys."""
    if isinstance(value, dict):
        for k, v in value.items():
            if k not in SKIP:
                yield from leaves(v, f"{path}.{k}" if path else str(k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from leaves(v, f"{path}[{i}]")
    else:
        yield path, value


def differences(a: Any, b: Any, rtol: float = 0.0) -> list[str]:
    """One line per leaf that differs (beyond rtol for numbers), is missing on one side, or changed type."""
    la, lb = dict(leaves(a)), dict(leaves(b))
    out = []
    for key in sorted(la.keys() | lb.keys()):
        if key not in la or key not in lb:
            out.append(f"{key}: {'only after' if key not in la else 'only before'}")
            continue
        x, y = la[key], lb[key]
        numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (x, y))
        if numbers and not math.isclose(x, y, rel_tol=rtol, abs_tol=0.0) and not (math.isnan(x) and math.isnan(y)):
            out.append(f"{key}: {x!r} -> {y!r}")
        elif not numbers and x != y:
            out.append(f"{key}: {x!r} -> {y!r}")
    return out


def compare_runs(before: Path, after: Path, rtol: float) -> list[str]:
    """Differences between the results/*.json of two `colorkit run` folders, prefixed by the file name."""
    names = sorted({p.name for p in (before / "results").glob("*.json")} | {p.name for p in (after / "results").glob("*.json")})
    if not names:
        raise FileNotFoundError(f"no results/*.json in {before} or {after}: give two `colorkit run` folders")
    out = []
    for name in names:
        a, b = (d / "results" / name for d in (before, after))
        if not (a.is_file() and b.is_file()):
            out.append(f"{name}: only in {'after' if not a.is_file() else 'before'}")
            continue
        out += [f"{name}: {line}" for line in differences(json.loads(a.read_text()), json.loads(b.read_text()), rtol)]
    return out


def compare_cards(rev: str, rtol: float, root: Path) -> list[str]:
    """Differences between colorkit/weights/*.json at git revision `rev` and in the working tree."""
    out = []
    for card in sorted((root / "colorkit" / "weights").glob("*.json")):
        rel = card.relative_to(root).as_posix()
        shown = subprocess.run(["git", "show", f"{rev}:{rel}"], cwd=root, capture_output=True, text=True)
        if shown.returncode != 0:
            out.append(f"{card.name}: not at {rev}")
            continue
        out += [f"{card.name}: {line}" for line in differences(json.loads(shown.stdout), json.loads(card.read_text()), rtol)]
    return out


def main(argv: list[str] | None = None) -> int:
    """Print every moved number; exit 0 when none moved, 1 when some did, 2 on bad arguments."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--runs", nargs=2, type=Path, metavar=("BEFORE", "AFTER"), help="two `colorkit run` folders")
    p.add_argument("--cards", metavar="REV", help="compare colorkit/weights/*.json at git revision REV with now")
    p.add_argument("--rtol", type=float, default=0.0, help="relative tolerance for numbers (default 0: identical)")
    args = p.parse_args(argv)
    if not args.runs and not args.cards:
        p.print_usage(sys.stderr)
        print("compare_numbers: error: give --runs BEFORE AFTER and/or --cards REV", file=sys.stderr)
        return 2
    try:
        lines = compare_runs(*args.runs, args.rtol) if args.runs else []
        lines += compare_cards(args.cards, args.rtol, Path(__file__).resolve().parents[1]) if args.cards else []
    except FileNotFoundError as exc:
        print(f"compare_numbers: error: {exc}", file=sys.stderr)
        return 2
    for line in lines:
        print(line)
    print(f"{len(lines)} number(s) moved" if lines else "no number moved")
    return 1 if lines else 0


if __name__ == "__main__":
    sys.exit(main())
