"""`python -m colorkit.train`: one colorizer trained with fit() from the command line (also under torchrun)."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist

from ._checks import float_arg, int_arg
from .checkpoint import CheckpointError, load_checkpoint
from .data import is_cifar_path, load_dataset
from .data.photos import photo_training_sets
from .loop import TrainingDiverged, dist_info
from .models import MODEL_PRESETS, build_model
from .profiles import PROFILES, get_profile
from .rebalance import SIGMA_RANGE, check_colour, class_weights, empirical_prior, load_zhang_prior
from .train import COLOR_SPACES, LOSSES, OPTIMIZERS, TrainConfig, fit, weights_digest


MAX_WIDTH = 4.0  # channel multiplier: 4x the published widths is already 16x their weights
MAX_SIZE = 2048  # image or crop side, pixels


def build_parser() -> argparse.ArgumentParser:
    """Arguments of `python -m colorkit.train` (also under `torchrun --nproc_per_node=N`)."""
    p = argparse.ArgumentParser(prog="python -m colorkit.train", description="Train one colorizer with fit(); "
                                "under torchrun every rank trains on a disjoint shard (DDP).",
                                epilog="exit status: 0 trained, 2 bad arguments, unreadable data, a checkpoint "
                                "that cannot be resumed (another model, config or --data), black-and-white photos for --loss "
                                "rebalanced, or a diverged run (a NaN or infinite loss or weight; no checkpoint of it "
                                "is written): a one-line error; 1 only from an unexpected error (a traceback)")
    p.add_argument("--model", required=True, help="registered model name (colorkit.models.list_models())")
    p.add_argument("--head", default=None, help="head override (default: the preset's)")
    p.add_argument("--width", type=float_arg(0.0, MAX_WIDTH), default=None,
                   help=f"channel multiplier in (0, {MAX_WIDTH:g}] (default: the profile's; 1: the published widths)")
    p.add_argument("--profile", default="smoke", choices=list(PROFILES), help="sizes: images, epochs, batch")
    p.add_argument("--data", default="auto", help="'auto', 'embedded', 'cifar10' or a path (see load_dataset); a "
                   "folder of your own photos trains on random --size crops (every 10th photo validates, or "
                   "PHOTOS/train and PHOTOS/test when both exist)")
    p.add_argument("--size", type=int_arg(1, MAX_SIZE), default=None, help="image side (default: the profile's, 32); with a photo "
                   "folder the random crop side (photos loaded at 1.5x it); a multiple of the model's input multiple, at most "
                   f"{MAX_SIZE}")
    p.add_argument("--epochs", type=int_arg(), default=None, help="default: the profile's")
    p.add_argument("--batch-size", type=int_arg(), default=None, help="per rank; default: the profile's")
    p.add_argument("--optimizer", default="adam", choices=list(OPTIMIZERS))
    p.add_argument("--lr", type=float_arg(0.0, 1e6), default=None, help="default: the optimiser preset's; a "
                   "run whose loss or weights turn NaN or infinite stops (exit 2) without saving them")
    p.add_argument("--loss", default="auto", choices=list(LOSSES), help="'rebalanced' weights pixels by --prior")
    p.add_argument("--prior", default="own", help="for --loss rebalanced: 'own' (the training set's), 'imagenet' "
                   "(Zhang's file, see load_zhang_prior) or a path to a (313,) .npy prior (`colorkit prior PHOTOS "
                   "-o prior.npy` writes one)")
    p.add_argument("--prior-sigma", type=float_arg(*SIGMA_RANGE, low_open=False, zero=True, why=" ab units"),
                   default=5.0, help=f"Gaussian smoothing of the prior, {SIGMA_RANGE[0]:g} to {SIGMA_RANGE[1]:g} ab "
                   "units; 0 = none")
    p.add_argument("--lam", type=float_arg(0.0, 1.0, low_open=False), default=0.5,
                   help="mix with the uniform prior (Zhang's lambda), in [0, 1]")
    p.add_argument("--color-space", default="lab", choices=list(COLOR_SPACES))
    p.add_argument("--target-blur", type=float_arg(low_open=False), default=0.0, help="pixels; 0 = none")
    p.add_argument("--augment", action="store_true")
    p.add_argument("--seed", type=int_arg(0, 2**63 - 1), default=0)
    p.add_argument("--checkpoint", default=None, help="written each epoch; resumed from when it exists")
    p.add_argument("--no-progress", action="store_true")
    return p


def _cli_class_weights(args: argparse.Namespace, train_set: Any) -> torch.Tensor:
    """Zhang's class weights for --loss rebalanced from --prior, --prior-sigma and --lam."""
    if args.prior == "own":
        prior = empirical_prior(train_set)  # every rank loads the whole training set: the same weights everywhere
        check_colour(prior, f"--prior own: the training images of {train_set.name}")
    elif args.prior == "imagenet":
        prior = load_zhang_prior()
    else:
        prior = load_zhang_prior(path=args.prior, download=False)
    return class_weights(prior, lam=args.lam, sigma=args.prior_sigma or None).float()


def _check_photo_colour(train_set: Any, loss: str) -> None:
    """Black-and-white training photos: an error for --loss rebalanced, else a one-line warning on stderr."""
    try:
        check_colour(empirical_prior(train_set), f"--data: the training photos of {train_set.name}")
    except ValueError as exc:
        if loss == "rebalanced":
            raise
        print(f"python -m colorkit.train: warning: {' '.join(str(exc).split())}", file=sys.stderr)


def _photo_folder(data: str) -> Path | None:
    """The folder of photos --data names, or None for 'auto', 'embedded', 'cifar10', CIFAR-10 paths and files."""
    path = Path(data).expanduser()
    return path if data not in ("auto", "embedded", "cifar10") and path.is_dir() and not is_cifar_path(path) else None


def main(argv: list[str] | None = None) -> int:
    """Entry point: load data and model, fit, print each rank's weight digest (equal under correct DDP)."""
    args = build_parser().parse_args(argv)
    profile = get_profile(args.profile)
    started = False
    if int(os.environ.get("WORLD_SIZE", "1")) > 1 and not dist.is_initialized():  # launched by torchrun
        if torch.cuda.is_available():
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
        started = True
    rank, world = dist_info()
    try:
        torch.manual_seed(args.seed)
        options = {}
        if args.model in MODEL_PRESETS and "width" in MODEL_PRESETS[args.model].options():
            options["width"] = profile.width if args.width is None else args.width
        model = build_model(args.model, head=args.head, **options)
        size = profile.image_size if args.size is None else args.size
        multiple, crop = getattr(model, "input_multiple", 1), None
        if size % multiple:
            raise ValueError(f"--size must be a positive multiple of {multiple} ({args.model}'s input multiple), "
                             f"got {size}")
        photos = _photo_folder(args.data)
        if photos is not None:  # random crops of the user's photos, loaded larger
            train_set, val_set = photo_training_sets(photos, size, multiple, profile.n_train, profile.n_test)
            crop = size
            _check_photo_colour(train_set, args.loss)
        else:
            train_set = load_dataset(args.data, "train", limit=profile.n_train, size=size)
        if args.checkpoint and Path(args.checkpoint).exists():  # refuse before training, not after an epoch
            saved = load_checkpoint(args.checkpoint, mmap=True).get("dataset")
            if saved and saved != train_set.name:
                raise ValueError(f"cannot resume {args.checkpoint}: it was trained on {saved!r}, --data "
                                 f"{args.data!r} is {train_set.name!r}; use the same data or another --checkpoint")
        if photos is None:
            val_set = load_dataset(args.data, "test", limit=profile.n_test, size=size)
        weights = _cli_class_weights(args, train_set) if args.loss == "rebalanced" else None
        cfg = TrainConfig(epochs=profile.epochs if args.epochs is None else args.epochs,
                          batch_size=profile.batch_size if args.batch_size is None else args.batch_size,
                          optimizer=args.optimizer, lr=args.lr, loss=args.loss, color_space=args.color_space,
                          target_blur=args.target_blur, augment=args.augment, crop=crop, seed=args.seed,
                          checkpoint=args.checkpoint, profile=profile.name, class_weights=weights)
        history = fit(model, train_set, val_set, cfg, progress=not args.no_progress)
        print(f"rank {rank}/{world}: weights sha256 {weights_digest(model)}", flush=True)
        if rank == 0 and history.train_loss:
            print(f"{args.model} on {train_set.name}: train loss {history.train_loss[-1]:.4g}, val loss "
                  f"{history.val_loss[-1]:.4g}, val rmse_ab {history.val_rmse_ab[-1]:.3f}, "
                  f"{history.images_per_second[-1]:.0f} images/s", flush=True)
    except (ValueError, OSError, CheckpointError, TrainingDiverged) as exc:  # one line, never a traceback
        print(f"python -m colorkit.train: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    finally:
        if started:
            dist.destroy_process_group()
    return 0
