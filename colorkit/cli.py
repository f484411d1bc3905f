"""The `colorkit` command: run the notebooks, list profiles and notebooks, colorize photos, describe checkpoints,
compute the colour prior of your photos."""
from __future__ import annotations

import argparse
import sys

from ._checks import int_arg
from .data.photos import DEFAULT_MAX_PIXELS
from .profiles import PROFILES
from .quantize import DEFAULT_T


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


RUN_EXIT = "exit status: 0 every notebook ran, 1 a notebook failed (named, with how to go on), 2 bad arguments"
COLORIZE_EXIT = ("exit status: 0 every photo was colorized, 1 some inputs were skipped (unreadable, over --max-pixels, "
                 "output already there or written meanwhile by another run, without --overwrite, an empty folder "
                 "among others; each listed), 2 bad arguments (no photos at all, an unusable -o or --hints) or an "
                 "unusable model (unreadable checkpoint, NaN weights or outputs), 130 interrupted (Ctrl-C; the "
                 "report lists what was written); errors are one line, never a traceback")
PRIOR_EXIT = ("exit status: 0 the prior was written, 1 written but some photos were skipped (unreadable, over "
              "--max-pixels; each listed), 2 bad arguments (no photos at all, a missing input, black-and-white "
              "photos, -o not a .npy, --plot not an image type, --sigma out of range, an output already there "
              "without --overwrite; nothing is written then), 130 interrupted (Ctrl-C, nothing written); errors are "
              "one line, never a traceback")
HINTS_HELP = ("colour hints for a hint model (e.g. --model zhang_hints): a JSON list of points "
              "[{\"x\": 10, \"y\": 20, \"color\": \"#rrggbb\"}, {\"x\": 5, \"y\": 7, \"ab\": [a, b]}] in the "
              "photo's pixels (x the column, y the row, from the top left) for one photo, or "
              "{\"photo.jpg\": [...], ...} by file name for several; a point outside its photo is an error, and so "
              "are more points than the photo has pixels and a file over 10 MB")
INFO_EXIT = ("exit status: 0 described, 2 bad arguments or an unusable checkpoint (missing, empty, unsafe, "
             "not a colorkit colorizer); errors are one line")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the colorkit command."""
    parser = argparse.ArgumentParser(prog="colorkit", description=__doc__, epilog="exit status: 0 done, 1 some "
                                     "inputs skipped (colorize, prior) or a notebook failed (run), 2 bad arguments or "
                                     "an unusable model, 130 interrupted (Ctrl-C); see each command's --help")
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

    publish = sub.add_parser("publish", help="store a run's outputs in notebooks/ (what a reader sees without running)",
                             epilog="exit status: 0 published, 2 no such run, a notebook changed since it, or an "
                             "output with a machine path")
    publish.add_argument("run_dir", help="a folder `colorkit run` wrote (with executed/ in it)")

    sub.add_parser("profiles", help="list the run profiles")
    sub.add_parser("notebooks", help="list the numbered notebooks")

    colorize = sub.add_parser("colorize", help="colour your own photos with a trained checkpoint (exit 1 when "
                              "some files were skipped, 2 on bad arguments or a bad checkpoint)", epilog=COLORIZE_EXIT)
    colorize.add_argument("inputs", nargs="+", metavar="PHOTO_OR_FOLDER", help="image files and/or folders of them "
                          "(a folder's own files, not its sub-folders: the outputs go to one flat folder)")
    colorize.add_argument("-o", "--output", required=True, metavar="OUTDIR", help="where <stem>_colorized.png go "
                          "(<name>_colorized.png, e.g. a.jpg_colorized.png, when a photo's folder holds another "
                          "image with its stem, e.g. a.png)")
    colorize.add_argument("--model", default="classifier", metavar="CHECKPOINT",
                          help="a checkpoint written by training, or a pretrained model shipped with the kit: "
                          "'classifier' (default) or 'regressor' (see `colorkit pretrained`)")
    colorize.add_argument("--temperature", type=float, default=DEFAULT_T, help="annealed-mean T (classifiers only)")
    colorize.add_argument("--device", default=None, help="cuda, cpu, ... (default: CUDA when available)")
    colorize.add_argument("--batch-size", type=int_arg(), default=16, help="photos colorized at once (16)")
    colorize.add_argument("--size", type=int_arg(), default=None,
                          help="the model's input side (default: its training one)")
    colorize.add_argument("--overwrite", action="store_true",
                          help="replace existing outputs (default: keep them, skip that photo)")
    colorize.add_argument("--max-pixels", type=int_arg(), default=DEFAULT_MAX_PIXELS, metavar="N",
                          help="refuse photos of more than N pixels, read from the header before decoding "
                          f"(default {DEFAULT_MAX_PIXELS:,}; colorizing needs about 140 bytes a pixel)")
    colorize.add_argument("--hints", metavar="HINTS.json", default=None, help=HINTS_HELP)
    colorize.add_argument("--upsample", choices=("guided", "bilinear"), default="guided",
                          help="how the chroma predicted at --size goes back onto the photo's full-resolution L: "
                          "guided (a guided filter on L: colour stops at edges; default) or bilinear")
    prior = sub.add_parser("prior", help="the colour prior of your photos: the fraction of pixels in each of the 313 "
                           "ab bins, Gaussian-smoothed, for python -m colorkit.train --loss rebalanced --prior FILE",
                           epilog=PRIOR_EXIT)
    prior.add_argument("inputs", nargs="+", metavar="PHOTO_OR_FOLDER", help="image files and/or folders (recursive)")
    prior.add_argument("-o", "--output", required=True, metavar="PRIOR.npy", help="where the (313,) prior goes")
    prior.add_argument("--sigma", type=float, default=5.0, help="Gaussian smoothing in the ab plane, ab units (5, as "
                       "Zhang's prior_probs.npy, richzhang/colorization#47; 0: the raw histogram; else 1 to 25)")
    prior.add_argument("--plot", metavar="PRIOR.png", default=None, help="also draw the prior on the ab plane")
    prior.add_argument("--overwrite", action="store_true", help="replace existing -o / --plot files")
    prior.add_argument("--max-pixels", type=int_arg(), default=DEFAULT_MAX_PIXELS, metavar="N",
                       help=f"skip photos of more than N pixels (default {DEFAULT_MAX_PIXELS:,})")
    sub.add_parser("effects", add_help=False, help="the effects table: each seed's claim on the reference models, "
                   "with paired tests and verdicts (colorkit effects --help)")
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
    from .checkpoint import format_info
    from .colorize import ColorizeInterrupted, colorize_photos

    try:
        if args.command == "info":
            print(format_info(args.checkpoint))
            return 0
        report = colorize_photos(args.inputs, args.output, args.model, temperature=args.temperature,
                                 device=args.device, batch_size=args.batch_size, image_size=args.size,
                                 overwrite=args.overwrite, max_pixels=args.max_pixels, hints=args.hints,
                                 upsample=args.upsample)
    except (ValueError, OSError, RuntimeError) as exc:  # CheckpointError, NonFiniteOutput are ValueErrors
        print(f"colorkit {args.command}: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except ColorizeInterrupted as stop:
        print(stop.report)
        print("colorkit colorize: interrupted (Ctrl-C)", file=sys.stderr)
        return 130
    print(report)
    return 1 if report.skipped else 0


def _prior_command(args: argparse.Namespace) -> int:
    """`colorkit prior`: 0 written, 1 written with some photos skipped, 2 bad arguments."""
    from pathlib import Path

    from .rebalance import IMPLAUSIBLE_MEAN_CHROMA, check_sigma, photo_prior, prior_summary

    out, plot = Path(args.output), None if args.plot is None else Path(args.plot)
    try:
        if out.suffix != ".npy":
            raise ValueError(f"-o {out}: expected a .npy file name")
        check_sigma(args.sigma, "--sigma", allow_zero=True)
        if plot is not None:
            from matplotlib.backend_bases import FigureCanvasBase

            kinds = FigureCanvasBase.get_supported_filetypes()
            if plot.suffix.lower().lstrip(".") not in kinds:
                raise ValueError(f"--plot {plot}: expected an image file name ending in one of "
                                 f"{', '.join('.' + k for k in sorted(kinds))}")
        for path in (out, plot):
            if path is not None and path.exists() and not args.overwrite:
                raise ValueError(f"{path} already exists; pass --overwrite to replace it")
        result = photo_prior(args.inputs, sigma=args.sigma, max_pixels=args.max_pixels)
        _save_prior(result.prior, out, plot, f"prior of {len(result.photos)} photo(s), sigma {args.sigma:g} (log10)")
    except (ValueError, OSError) as exc:
        print(f"colorkit prior: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    summary = prior_summary(result.prior)
    print(f"prior of {len(result.photos)} photo(s), {result.pixels:,} pixels, smoothed with sigma {args.sigma:g}: "
          f"{out}" + (f" (plot: {plot})" if plot else ""))
    print("  " + ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in summary.items()))
    if summary["mean_chroma"] > IMPLAUSIBLE_MEAN_CHROMA:
        print(f"  warning: the average pixel has chroma {summary['mean_chroma']:.1f} (CIFAR-10: about 14); these "
              "photos are unusually saturated for a prior of natural images")
    print(f"  train with it: python -m colorkit.train --loss rebalanced --prior {out} --model ...")
    for path, reason in result.skipped:
        print(f"  skipped {path}: {_one_line(reason, 300)}")
    return 1 if result.skipped else 0


def _save_prior(prior, out, plot, title: str) -> None:
    """Write the prior as a (313,) float64 .npy and, when asked, its ab-plane plot: both made, then both renamed."""
    import os
    import tempfile

    import numpy as np

    made = []
    try:
        for path in (plot, out):
            if path is None:
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}", dir=path.parent)
            os.close(fd)
            made.append((tmp, path))
            if path is out:
                np.save(tmp, prior.double().cpu().numpy())
            else:
                _plot_prior(prior, tmp, title)
        for tmp, path in made:
            os.replace(tmp, path)
    finally:
        for tmp, _ in made:
            if os.path.exists(tmp):
                os.unlink(tmp)


def _plot_prior(prior, path: str, title: str) -> None:
    """The prior on the ab plane (log scale), saved to path."""
    import matplotlib.pyplot as plt

    from .quantize import ab_bins
    from .viz import plot_ab_plane

    fig, ax = plt.subplots(figsize=(4.6, 4))
    try:
        plot_ab_plane(prior.float(), ab_bins(), ax=ax, log=True, title=title)
        fig.savefig(path, dpi=120, bbox_inches="tight", format=path.rsplit(".", 1)[-1].lower())
    finally:
        plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the colorkit command (130 on Ctrl-C, with no traceback)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["effects"]:  # its own parser: colorkit/effects_cli.py
        from .effects_cli import main as effects_main

        try:
            return effects_main(argv[1:])
        except KeyboardInterrupt:
            print("colorkit effects: interrupted (Ctrl-C)", file=sys.stderr)
            return 130
    args = build_parser().parse_args(argv)
    try:
        return _dispatch(args)
    except KeyboardInterrupt:
        print(f"colorkit {args.command}: interrupted (Ctrl-C)", file=sys.stderr)
        return 130


def _dispatch(args: argparse.Namespace) -> int:
    """Run the command args name."""
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
    if args.command == "prior":
        return _prior_command(args)
    from . import runner

    if args.command == "publish":
        from .publish import publish

        try:
            facts = publish(args.run_dir)
        except (ValueError, FileNotFoundError) as exc:
            print(f"colorkit publish: error: {_one_line(exc)}", file=sys.stderr)
            return 2
        for name, fact in facts.items():
            print(f"{name}: outputs of the {fact['profile']} run ({fact['seconds']:.0f} s) stored")
        return 0
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
