"""The `colorkit` command: run the notebooks, list profiles and notebooks, colorize photos, describe checkpoints."""
from __future__ import annotations

import argparse
import sys

from .data.photos import DEFAULT_MAX_PIXELS
from .profiles import PROFILES


def _parse_parameter(text: str) -> tuple[str, object]:
    """Parse KEY=VALUE, reading VALUE as a Python literal when it is one (numbers, lists), else a string."""
    import ast

    if "=" not in text:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    key, value = text.split("=", 1)
    try:
        return key, ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return key, value


def _positive_int(text: str) -> int:
    """An argparse type: an int >= 1 (argparse turns the error into a one-line usage error, exit 2)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an int >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an int >= 1, got {value}")
    return value


RUN_EXIT = "exit status: 0 every notebook ran, 1 a notebook failed (named, with how to go on), 2 bad arguments"
COLORIZE_EXIT = ("exit status: 0 every photo was colorized, 1 some inputs were skipped (unreadable, over --max-pixels, "
                 "output already there without --overwrite, an empty folder among others; each listed), 2 bad "
                 "arguments (no photos at all, an unusable -o) or an unusable model (unreadable checkpoint, NaN "
                 "weights or outputs); errors are one line, never a traceback")
INFO_EXIT = ("exit status: 0 described, 2 bad arguments or an unusable checkpoint (missing, empty, unsafe, "
             "not a colorkit colorizer); errors are one line")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the colorkit command."""
    parser = argparse.ArgumentParser(prog="colorkit", description=__doc__, epilog="exit status: 0 done, 1 some "
                                     "inputs skipped (colorize) or a notebook failed (run), 2 bad arguments or an "
                                     "unusable model; see each command's --help")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="execute the numbered notebooks headlessly and print the results table",
                         epilog=RUN_EXIT)
    run.add_argument("--profile", default="cpu", choices=list(PROFILES), help="run size (default: cpu)")
    run.add_argument("--notebooks", nargs="+", help="numbers or names, e.g. 00 03 (default, without the option: all)")
    run.add_argument("--data", default="auto", help="CIFAR-10 folder / .tar.gz, 'embedded', or 'auto'")
    run.add_argument("--run-dir", help="where executed notebooks and results go (default: runs/<time>-<profile>)")
    run.add_argument("--seed", type=int, default=0)
    run.add_argument("-p", "--parameter", action="append", type=_parse_parameter, default=[],
                     metavar="KEY=VALUE", help="extra notebook parameter (validated against the notebook)")

    sub.add_parser("profiles", help="list the run profiles")
    sub.add_parser("notebooks", help="list the numbered notebooks")

    colorize = sub.add_parser("colorize", help="colour your own photos with a trained checkpoint (exit 1 when "
                              "some files were skipped, 2 on bad arguments or a bad checkpoint)", epilog=COLORIZE_EXIT)
    colorize.add_argument("inputs", nargs="+", metavar="PHOTO_OR_FOLDER", help="image files and/or folders of them")
    colorize.add_argument("-o", "--output", required=True, metavar="OUTDIR", help="where <stem>_colorized.png go")
    colorize.add_argument("--model", default="classifier", metavar="CHECKPOINT",
                          help="a checkpoint written by training, or a pretrained model shipped with the kit: "
                          "'classifier' (default) or 'regressor' (see `colorkit pretrained`)")
    colorize.add_argument("--temperature", type=float, default=0.38, help="annealed-mean T (classifiers only)")
    colorize.add_argument("--device", default=None, help="cuda, cpu, ... (default: CUDA when available)")
    colorize.add_argument("--batch-size", type=_positive_int, default=16, help="photos colorized at once (16)")
    colorize.add_argument("--size", type=_positive_int, default=None,
                          help="the model's input side (default: its training one)")
    colorize.add_argument("--overwrite", action="store_true",
                          help="replace existing OUTDIR/<stem>_colorized.png (default: keep them, skip that photo)")
    colorize.add_argument("--max-pixels", type=_positive_int, default=DEFAULT_MAX_PIXELS, metavar="N",
                          help="refuse photos of more than N pixels, read from the header before decoding "
                          f"(default {DEFAULT_MAX_PIXELS:,}; colorizing needs about 140 bytes a pixel)")
    sub.add_parser("pretrained", help="list the pretrained models shipped with the kit (name, parameters, data, "
                   "metrics)", epilog="exit status: 0 listed, 2 none are installed")
    info = sub.add_parser("info", help="describe a checkpoint: model, options, training data, profile, metrics",
                          epilog=INFO_EXIT)
    info.add_argument("checkpoint", metavar="CKPT")
    return parser


def _one_line(exc: BaseException, limit: int = 1000) -> str:
    """An exception's message on one line, shortened: CLI errors are one line, never a traceback."""
    text = " ".join(str(exc).split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _photos_command(args: argparse.Namespace) -> int:
    """`colorkit colorize` and `colorkit info`: 0 done, 1 some photos skipped, 2 bad input or checkpoint."""
    from .colorize import colorize_photos, format_info

    try:
        if args.command == "info":
            print(format_info(args.checkpoint))
            return 0
        report = colorize_photos(args.inputs, args.output, args.model, temperature=args.temperature,
                                 device=args.device, batch_size=args.batch_size, image_size=args.size,
                                 overwrite=args.overwrite, max_pixels=args.max_pixels)
    except (ValueError, OSError, RuntimeError) as exc:  # CheckpointError, NonFiniteOutput are ValueErrors
        print(f"colorkit {args.command}: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    print(report)
    return 1 if report.skipped else 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the colorkit command."""
    args = build_parser().parse_args(argv)
    if args.command == "profiles":
        for p in PROFILES.values():
            print(f"{p.name:6s} {p.description} (train {p.n_train}, test {p.n_test}, epochs {p.epochs})")
        return 0
    if args.command == "pretrained":
        from .pretrained import WEIGHTS_DIR, list_pretrained, summary_line

        cards = list_pretrained()
        for card in cards:
            print(summary_line(card))
        if not cards:
            print(f"colorkit pretrained: error: no pretrained models in {WEIGHTS_DIR}; `make pretrained` trains them",
                  file=sys.stderr)
        return 0 if cards else 2
    if args.command in ("colorize", "info"):
        return _photos_command(args)
    from . import runner

    if args.command == "notebooks":
        for path in runner.list_notebooks():
            print(path.stem)
        return 0
    try:
        runner.run_notebooks(profile=args.profile, notebooks=args.notebooks, run_dir=args.run_dir, data=args.data,
                             seed=args.seed, parameters=dict(args.parameter))
    except (ValueError, FileNotFoundError) as exc:
        print(f"colorkit run: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except runner.NotebookFailed as exc:
        print(f"colorkit: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
