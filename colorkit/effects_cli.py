"""`colorkit effects`: print the effects table (each seed's claim on the reference models), save it, check it."""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from ._files import atomic_write
from .data import load_dataset
from .effects import changed_verdicts, effects_table, format_effects, format_summary, temperature_sweep


def build_parser(prog: str = "colorkit effects") -> argparse.ArgumentParser:
    """Arguments of `colorkit effects`."""
    p = argparse.ArgumentParser(prog=prog, description=__doc__.splitlines()[0].split(": ", 1)[1],
                                epilog="exit codes: 0 table printed (and, with --check, every verdict as expected), "
                                       "1 a verdict differs from --check's, 2 bad arguments or data")
    p.add_argument("--data", default="auto", help="CIFAR-10 (folder or .tar.gz), as for load_dataset")
    p.add_argument("--limit", type=int, default=None, help="the first N test images (default: all 10,000)")
    p.add_argument("--out", default="runs/effects", help="folder for effects.json and effects.md")
    p.add_argument("--check", default=None, metavar="JSON",
                   help="an earlier effects.json on the same images: exit 1 if any verdict changed")
    p.add_argument("--n-boot", type=int, default=1000, help="bootstrap resamples (default 1000)")
    p.add_argument("--no-sweep", action="store_true", help="skip the temperature sweep (colourfulness vs T)")
    p.add_argument("--sweep-limit", type=int, default=2000,
                   help="test images for the temperature sweep (default: the first 2,000; means need no more)")
    p.add_argument("--device", default="cpu")
    return p


def main(argv: list[str] | None = None, prog: str = "colorkit effects") -> int:
    """Measure the references, print the table, write effects.json / effects.md, compare with --check."""
    args = build_parser(prog).parse_args(argv)
    for flag in ("limit", "n_boot", "sweep_limit"):
        value = getattr(args, flag)
        if value is not None and value < (2 if flag == "limit" else 1):
            print(f"{prog}: error: --{flag.replace('_', '-')} must be >= {2 if flag == 'limit' else 1}, got {value}",
                  file=sys.stderr)
            return 2
    expected = None
    if args.check is not None:
        try:
            expected = json.loads(Path(args.check).read_text())
            expected["rows"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            print(f"{prog}: error: --check {args.check}: not a readable effects.json ({exc})", file=sys.stderr)
            return 2
    try:
        test_set = load_dataset(args.data, "test", limit=args.limit)
    except (ValueError, FileNotFoundError) as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    started = time.time()
    result = effects_table(test_set, args.device, args.n_boot)
    if not args.no_sweep:
        result["sweep"] = temperature_sweep(test_set.images[:args.sweep_limit], device=args.device)
        result["sweep_images"] = min(args.sweep_limit, len(test_set))
    result["seconds"] = round(time.time() - started, 1)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    table = format_effects(result) + "\n\nEvery colouring (means over the same images; top-1 with Wilson 95 % intervals; grey" \
        " pixels: |ab| < 5):\n\n" + format_summary(result)
    if result.get("sweep"):
        table += (f"\n\nThe temperature sweep (first {result['sweep_images']:,} test images):\n\n"
                  "| model | decoding | colourfulness | RMSE ab |\n| --- | --- | --- | --- |\n"
                  + "\n".join(f"| {r['model']} | {r['decoding']} | {r['colourfulness']:.2f} | {r['rmse_ab']:.2f} |"
                               for r in result["sweep"]))
    print(table)
    for name, text in (("effects.json", json.dumps(result, indent=1) + "\n"), ("effects.md", table + "\n")):
        atomic_write(out / name, text)
    print(f"\nwrote {out / 'effects.json'} and effects.md in {result['seconds']:.0f} s")
    if expected is not None:
        if expected.get("n_images") != result["n_images"]:
            print(f"{prog}: error: --check {args.check} holds {expected.get('n_images')} images, this run "
                  f"{result['n_images']}; compare like with like (--limit)", file=sys.stderr)
            return 2
        changed = changed_verdicts(result, expected)
        for line in changed:
            print(f"verdict changed: {line}", file=sys.stderr)
        if changed:
            return 1
        print(f"every verdict as in {args.check}")
    return 0


if __name__ == "__main__":
    sys.exit(main(prog="python -m colorkit.effects_cli"))
