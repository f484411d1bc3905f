"""Train, evaluate and export the kit's pretrained models: `python -m colorkit.pretrained_train NAME --data PATH`.

One dict of recipes, a reason for each choice. Training resumes from WORK/NAME checkpoints when the same
command is run again (a stopped session loses at most one epoch). `make pretrained` runs all three in order.
"""
from __future__ import annotations

import argparse
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import torch

from .color import gray_from_l, split_lab, uint8_to_float
from .colorizer import Colorizer
from .data import load_dataset
from .effects import measure
from .gan import build_gan, fit_gan
from .hint_eval import psnr_vs_hints
from .judge import judge_images
from .judge_train import JudgeConfig, train_judge
from .loop import cpu_fast_bf16
from .metrics import evaluate_colorizer
from .models import build_model
from .pretrained import WEIGHTS_DIR, PretrainedMissing, export_pretrained, load_pretrained, write_card
from .rebalance import class_weights, empirical_prior
from .recipes import RECIPES
from .train import TrainConfig, fit


def _git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent, capture_output=True,
                             text=True, timeout=10)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def _hardware(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)

    model = platform.machine()
    try:
        names = [ln.split(":", 1)[1].strip() for ln in open("/proc/cpuinfo") if ln.startswith("model name")]
        model = names[0] if names else model
    except OSError:
        pass
    return f"CPU {model}, {torch.get_num_threads()} threads, bf16 autocast {'on' if cpu_fast_bf16() else 'off'}"


def _judge_config(recipe: dict[str, Any], epochs: int):
    keys = ("batch_size", "lr", "warmup", "weight_decay", "label_smoothing", "crop_padding", "widths", "inputs",
            "ema", "tta")
    return JudgeConfig(arch="airnet", epochs=epochs, profile="pretrained", **{k: recipe[k] for k in keys})


def train_judge_model(name: str, train_set, test_set, recipe: dict[str, Any], epochs: int, work: Path,
                      device: torch.device):
    """Train (or resume) a judge (AirNet on RGB or on ab only); returns (model, spec, card fields)."""
    model, info = train_judge(train_set, test_set, _judge_config(recipe, epochs), device=device,
                              cache=work / f"{name}.pt")
    x, y = test_set.images, test_set.labels
    gray = judge_images(model, _grayscale(x), y, tta=recipe["tta"])["top1"]
    looks = "only its Lab a, b channels" if recipe["inputs"] == "ab" else "RGB"
    card = {"task": f"CIFAR-10 classifier: RGB in [0, 1] (B, 3, 32, 32) -> logits (B, 10); looks at {looks}",
            "classes": list(train_set.classes), "wall_time_s": info["train_time_s"],
            "metrics": {"test_top1": info["test_accuracy"], "tta": recipe["tta"], "test_top1_grayscale": gray},
            "headline": {"top1": info["test_accuracy"], "top1_grayscale": gray}, "history": info["history"]}
    spec = {"name": "airnet", "num_classes": len(train_set.classes), "widths": list(recipe["widths"]),
            "inputs": recipe["inputs"]}
    return model, spec, card


def _grayscale(images: torch.Tensor) -> torch.Tensor:
    """uint8 RGB (N, 3, H, W) -> the grey image of the same lightness, float RGB in [0, 1] (Lab a = b = 0)."""
    return gray_from_l(split_lab(uint8_to_float(images))[0])


def train_transfer(name: str, train_set, test_set, recipe: dict[str, Any], epochs: int, work: Path,
                   device: torch.device, judge_folder: Path | None):
    """Seed 004's transfer colorizer: train (or load) the VGG backbone classifier, then the colorizer on its blocks."""
    bcfg = JudgeConfig(arch=recipe["cfg"], width=recipe["width"], epochs=recipe["backbone_epochs"],
                       batch_size=recipe["backbone_batch_size"], lr=recipe["backbone_lr"], profile="pretrained")
    backbone, info = train_judge(train_set, test_set, bcfg, device=device, cache=work / f"{name}_backbone.pt")
    print(f"{name}: backbone {recipe['cfg']} x{recipe['width']} top-1 {info['test_accuracy']:.4f}", flush=True)
    torch.manual_seed(0)
    model = build_model(recipe["model"], head=recipe["head"], cfg=recipe["cfg"], width=recipe["width"],
                        pools=recipe["pools"], output_stride=recipe["output_stride"])
    model.load_encoder_from(backbone.cpu())
    model, spec, card = train_colorizer(name, train_set, test_set, recipe, epochs, work, device, judge_folder,
                                        model=model)
    card["backbone"] = {"arch": recipe["cfg"], "width": recipe["width"], "epochs": recipe["backbone_epochs"],
                        "test_top1": info["test_accuracy"], "wall_time_s": info["train_time_s"]}
    card["wall_time_s"] += info["train_time_s"]
    return model, spec, card


def train_colorizer(name: str, train_set, test_set, recipe: dict[str, Any], epochs: int, work: Path,
                    device: torch.device, judge_folder: Path | None, model: torch.nn.Module | None = None,
                    prior_set=None):
    """Train (or resume) a colorizer with colorkit.train.fit; evaluate it and judge it; returns (model, spec, card)."""
    if model is None:
        torch.manual_seed(0)
        model = build_model(recipe["model"], head=recipe["head"], width=recipe["width"])
    weights = None
    if recipe["loss"] == "rebalanced":
        prior = empirical_prior(prior_set if prior_set is not None else train_set)
        weights = class_weights(prior, lam=recipe["lam"], sigma=recipe["prior_sigma"]).float()
    cfg = TrainConfig(epochs=epochs, batch_size=recipe["batch_size"], optimizer="adam", lr=recipe["lr"],
                      loss=recipe["loss"], class_weights=weights, augment=True, checkpoint=work / f"{name}.pt",
                      profile="pretrained")
    history = fit(model, train_set, test_set, cfg, device=device)
    metrics = evaluate_colorizer_card(model, test_set, device, judge_folder)
    out = "313-bin logits at H/4; decode with the annealed mean" if recipe["head"] == "classify" else "ab"
    task = f"colorizer: L in [0, 100] (B, 1, H, W) -> {out}"
    if getattr(model, "hint_channels", 0):
        rows = psnr_vs_hints(Colorizer(model), test_set)
        metrics["psnr_vs_hints"] = rows
        psnr = {r["hints"]: r["psnr"] for r in rows}
        metrics.update(psnr_0_hints=psnr[0], psnr_10_hints=psnr[10])
        task = f"colorizer: L + ab hints + hint mask (B, 4, H, W) -> {out}"
    card = {"task": task,
            "wall_time_s": sum(history.epoch_seconds), "metrics": metrics,
            "headline": {k: metrics[k] for k in ("colorfulness", "colorfulness_true", "rmse_ab", "judge_gap_recovered",
                                                 "chroma_judge_gap_recovered", "psnr_0_hints", "psnr_10_hints")
                         if k in metrics},
            "history": {"train_loss": history.train_loss, "val_loss": history.val_loss,
                        "val_rmse_ab": history.val_rmse_ab, "images_per_second": history.images_per_second}}
    return model, dict(model.spec), card


def train_gan_model(name: str, train_set, test_set, recipe: dict[str, Any], epochs: int, work: Path,
                    device: torch.device, judge_folder: Path | None):
    """Train (or resume) a conditional GAN with colorkit.gan.fit_gan; evaluate and judge G; returns (G, spec, card)."""
    torch.manual_seed(0)
    G = build_model(recipe["model"], head="tanh", width=recipe["width"])
    G, D, cfg = build_gan(recipe["variant"], G, width=recipe["disc_width"], epochs=epochs,
                          batch_size=recipe["batch_size"], lambda_l1=recipe["lambda_l1"], augment=True,
                          checkpoint=work / f"{name}.pt")
    history = fit_gan(G, D, train_set, test_set, cfg, device=device)
    metrics = evaluate_colorizer_card(G, test_set, device, judge_folder)
    card = {"task": "colorizer: L in [0, 100] (B, 1, H, W) -> ab (B, 2, H, W) (the GAN's generator)",
            "wall_time_s": sum(history.epoch_seconds), "metrics": metrics,
            "headline": {k: metrics[k] for k in ("colorfulness", "colorfulness_true", "rmse_ab") if k in metrics},
            "history": {k: v for k, v in history.to_dict().items() if not k.endswith("_step")}}
    return G, dict(G.spec), card


def evaluate_colorizer_card(model: torch.nn.Module, test_set, device: torch.device,
                            judge_folder: Path | None) -> dict[str, float]:
    """Test metrics at T = 0.38 (annealed mean): RMSE ab, PSNR, SSIM, AuC, colourfulness; judged by the judges."""
    metrics = evaluate_colorizer(Colorizer(model.eval()), test_set, device=device)
    return {**metrics, **judge_metrics(model, test_set, device, judge_folder)}


def judge_metrics(model: torch.nn.Module, test_set, device: torch.device, judge_folder: Path | None) -> dict:
    """Top-1 of each shipped judge (flip TTA) on grayscale, this colorizer's colours (T = 0.38) and the truth, and
    the share of the grayscale-to-truth gap it recovers: effects.measure, the effects table's evaluation."""
    judges, sha = {}, {}
    for name in ("judge", "chroma_judge"):
        try:
            judges[name], card = load_pretrained(name, device=device, folder=judge_folder)
            sha[name] = card["sha256"]
        except PretrainedMissing:
            continue
    if not judges:
        return {}
    m = measure(test_set.images, test_set.labels, {"colorized": Colorizer(model.eval())}, judges, features=(),
                progress=False, tta=1)
    metrics: dict[str, Any] = {}
    for name in judges:
        top1 = {k: float(m[k][f"correct:{name}"].mean()) for k in ("grayscale", "colorized", "truth")}
        gap = top1["truth"] - top1["grayscale"]
        metrics.update({f"{name}_top1_grayscale": top1["grayscale"], f"{name}_top1_colorized": top1["colorized"],
                        f"{name}_top1_ground_truth": top1["truth"], f"{name}_sha256": sha[name],
                        f"{name}_gap_recovered": (top1["colorized"] - top1["grayscale"]) / gap if gap > 0 else None})
    return metrics


def recard(name: str, test_set, device: torch.device, folder: Path) -> dict[str, Any]:
    """Judge a shipped model again (a colorizer by the judges shipped now, a judge with its recipe's TTA); rewrite
    its card (weights and sha256 unchanged)."""
    model, card = load_pretrained(name, device=device, folder=folder)
    if not hasattr(model, "output_kind"):
        return _recard_judge(name, model, card, test_set, folder)
    stale = [k for k in card["metrics"] if k.startswith(("judge_", "chroma_judge_"))]
    metrics = {k: v for k, v in card["metrics"].items() if k not in stale}
    metrics.update(judge_metrics(model, test_set, device, folder))
    card.update(metrics=metrics, judged_on=time.strftime("%Y-%m-%d", time.gmtime()))
    card["headline"] = {**{k: metrics.get(k, v) for k, v in card["headline"].items()},
                        **{k: metrics[k] for k in ("judge_gap_recovered", "chroma_judge_gap_recovered") if k in metrics}}
    write_card(name, card, folder)
    return card


def _recard_judge(name: str, model: torch.nn.Module, card: dict[str, Any], test_set, folder: Path) -> dict[str, Any]:
    """Measure a shipped judge again with its recipe's test-time augmentation; rewrite its card."""
    tta = RECIPES[name]["tta"]
    x, y = test_set.images, test_set.labels
    top1 = judge_images(model, x, y, tta=tta)["top1"]
    gray = judge_images(model, _grayscale(x), y, tta=tta)["top1"]
    card["metrics"] = {**{k: v for k, v in card["metrics"].items() if not k.startswith("test_top1")},
                       "test_top1": top1, "tta": tta, "test_top1_grayscale": gray,
                       **({"test_top1_at_training": card["metrics"]["test_top1_flip_tta"]}
                          if "test_top1_flip_tta" in card["metrics"] else {})}
    card.update(headline={"top1": top1, "top1_grayscale": gray}, judged_on=time.strftime("%Y-%m-%d", time.gmtime()))
    write_card(name, card, folder)
    return card


def build_parser() -> argparse.ArgumentParser:
    """Arguments of `python -m colorkit.pretrained_train`."""
    p = argparse.ArgumentParser(prog="python -m colorkit.pretrained_train", description=__doc__.splitlines()[0],
                                epilog="exit codes: 0 trained and exported, 2 bad arguments or data")
    p.add_argument("name", choices=list(RECIPES), help="which pretrained model")
    p.add_argument("--data", default="auto", help="CIFAR-10 (folder, .tar.gz) as for load_dataset")
    p.add_argument("--work", default="runs/pretrained", help="checkpoints to resume from (default: runs/pretrained)")
    p.add_argument("--out", default=None, help=f"where NAME.pt and NAME.json go (default: {WEIGHTS_DIR})")
    p.add_argument("--limit", type=int, default=None, help="training images (default: all); tests use a few")
    p.add_argument("--test-limit", type=int, default=None, help="test images (default: all 10,000)")
    p.add_argument("--epochs", type=int, default=None, help="default: the recipe's")
    p.add_argument("--device", default=None)
    p.add_argument("--recard", action="store_true",
                   help="train nothing: measure the shipped model NAME again (colorizers: with the judges shipped now)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="change one recipe field for a pilot run (e.g. --set variant=dcgan); recorded in the card")
    return p


def apply_overrides(recipe: dict[str, Any], pairs: list[str]) -> dict[str, Any]:
    """The recipe with KEY=VALUE pairs applied (values parsed as the field's current type); ValueError if bad."""
    recipe = dict(recipe)
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or key not in recipe or key == "kind":
            raise ValueError(f"--set {pair!r}: expected KEY=VALUE with KEY one of {', '.join(k for k in recipe if k != 'kind')}")
        kind = type(recipe[key])
        try:
            recipe[key] = kind(value)
        except ValueError:
            raise ValueError(f"--set {pair!r}: {value!r} is not a valid {kind.__name__}") from None
    return recipe


def main(argv: list[str] | None = None) -> int:
    """Train one pretrained model (resuming), evaluate it, export weights and card."""
    args = build_parser().parse_args(argv)
    try:
        recipe = apply_overrides(RECIPES[args.name], args.set)
    except ValueError as exc:
        print(f"pretrained_train: error: {exc}", file=sys.stderr)
        return 2
    epochs = args.epochs or recipe["epochs"]
    for flag in ("limit", "test_limit", "epochs"):
        if getattr(args, flag) is not None and getattr(args, flag) < 1:
            print(f"pretrained_train: error: --{flag.replace('_', '-')} must be >= 1", file=sys.stderr)
            return 2
    device = torch.device(args.device) if args.device else torch.device("cuda" if torch.cuda.is_available() else "cpu")
    work = Path(args.work) / (f"limit{args.limit}" if args.limit else "full")
    work.mkdir(parents=True, exist_ok=True)
    out = Path(args.out) if args.out else WEIGHTS_DIR
    try:
        train_set = load_dataset(args.data, "train", limit=args.limit)
        test_set = load_dataset(args.data, "test", limit=args.test_limit)
        general_set = train_set  # the prior of every class, for recipes with prior="general"
        if "classes" in recipe:
            train_set, test_set = (d.select_classes(list(recipe["classes"])) for d in (train_set, test_set))
    except (ValueError, FileNotFoundError) as exc:
        print(f"pretrained_train: error: {exc}", file=sys.stderr)
        return 2
    if args.recard:
        card = recard(args.name, test_set, device, out)
        print(f"{args.name}: card re-judged; headline {card['headline']}", flush=True)
        return 0
    started = time.time()
    if recipe["kind"] == "judge":
        model, spec, card = train_judge_model(args.name, train_set, test_set, recipe, epochs, work, device)
    elif recipe["kind"] == "transfer":
        model, spec, card = train_transfer(args.name, train_set, test_set, recipe, epochs, work, device, out)
    elif recipe["kind"] == "gan":
        model, spec, card = train_gan_model(args.name, train_set, test_set, recipe, epochs, work, device, out)
    else:
        model, spec, card = train_colorizer(args.name, train_set, test_set, recipe, epochs, work, device, out,
                                            prior_set=general_set if recipe.get("prior") == "general" else None)
    data_arg = Path(args.data).name if args.data not in ("auto", "cifar10", "embedded") else args.data
    command = f"python -m colorkit.pretrained_train {args.name} --data {data_arg}"
    command += "".join(f" --{k.replace('_', '-')} {v}" for k, v in (("limit", args.limit),
                       ("test_limit", args.test_limit), ("epochs", args.epochs)) if v is not None)
    command += "".join(f" --set {pair}" for pair in args.set)
    card = {"data": f"{train_set.name}, {len(train_set):,} training images", "test_data":
            f"{test_set.name}, {len(test_set):,} test images", "epochs": epochs, "recipe": recipe,
            "command": command, "commit": _git_commit(), "hardware": _hardware(device),
            "torch": str(torch.__version__), "trained_on": time.strftime("%Y-%m-%d", time.gmtime(started)), **card}
    written = export_pretrained(args.name, model, spec, card, out)
    print(f"{args.name}: wrote {out / written['file']} ({written['bytes'] / 1e6:.1f} MB, sha256 "
          f"{written['sha256'][:12]}); headline {written['headline']}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
