"""Notebook 06's machinery: every colorizer of a run decoded several ways, judged, compared with seed 004."""
from __future__ import annotations

import os
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import torch
import torch.nn as nn

from .data import ImageSet
from .device import default_device
from .judge import judge_colorizers, with_seed_004
from .models.vgg import VGG, imagenet_weights_path
from .quantize import DEFAULT_T

if TYPE_CHECKING:
    from .experiment import Experiment
    from .notebook import NotebookRun


# Our checkpoints (experiment names slugified) that stand for seed 004's models, in order of preference:
# notebook 02's sigmoid-head L2 CNN and notebook 03's soft-CE classifier, else notebook 06's own stand-ins.
SEED_004_CANDIDATES: dict[str, tuple[str, ...]] = {
    "regression": ("l2_sigmoid", "regression_cnn_sigmoid"),
    "classification": ("soft_mode", "classification_mode"),
    "vgg_transfer": ("vgg_transfer_mode",),
}

# Notebook 06's own stand-ins (kind, experiment name, model preset, loss) when the run has no model of that kind.
SEED_004_PLAN = (("regression", "regression (cnn_sigmoid)", "cnn_sigmoid", "l2"),
                 ("classifier", "classification, mode", "zhang_simplified", "ce"))
TRANSFER_NAME = "VGG transfer, mode"


def judge_cache_dir(cache_dir: str | os.PathLike | None = None) -> Path:
    """Where trained judges are kept across runs: <colorkit cache>/judges ($COLORKIT_CACHE or ~/.cache/colorkit)."""
    from .data import cache_dir_path

    return cache_dir_path(cache_dir) / "judges"


def imagenet_judge_status(setting: bool | str, device: torch.device | str) -> tuple[bool, str]:
    """Whether notebook 06 also fine-tunes seed 004's ImageNet judge, and why: "auto" = weights cached and a GPU.

    At 224 x 224 it costs ~49x the from-scratch judge per image: hours on a CPU, minutes on one GPU.
    """
    if setting not in (True, False, "auto"):
        raise ValueError(f"imagenet_judge_status: setting must be True, False or 'auto', got {setting!r}")
    path = imagenet_weights_path("vgg16_bn")
    if not path.is_file():
        return False, f"torchvision's ImageNet VGG-16-bn weights are absent ({path.name} not in the torch hub cache): " \
                      "only the from-scratch judge is used"
    if setting is False or (setting == "auto" and torch.device(device).type != "cuda"):
        return False, f"ImageNet VGG-16-bn weights found but not used (imagenet_judge={setting!r}, device {device})"
    return True, f"ImageNet VGG-16-bn weights found in the torch hub cache: fine-tuning seed 004's judge too"


class OutputCache:
    """The raw output of the last (model, input batch) pair: the decodings of one model judged one after another run
    the network once per batch. One slot, so at most one output is held; a batch is matched by its values."""

    def __init__(self) -> None:
        self.key: tuple[nn.Module, torch.Tensor] | None = None
        self.out: torch.Tensor | None = None

    @torch.no_grad()
    def __call__(self, model: nn.Module, x: torch.Tensor) -> torch.Tensor:
        hit = (self.key is not None and self.key[0] is model and self.key[1].shape == x.shape
               and self.key[1].device == x.device and torch.equal(self.key[1], x))
        if not hit:
            self.key = self.out = None  # free the previous output first
            self.out, self.key = model(x).float(), (model, x)
        return self.out


@dataclass(eq=False)
class DecodedColorizer:
    """A trained colorizer decoded one way, for the judge and metrics: from_rgb(RGB (B, 3, H, W)) -> Lab ab."""

    model: nn.Module
    source: str  # the checkpoint's name (stem)
    method: str = "annealed"  # "annealed" | "mode" | "mean"; regressors ignore it
    T: float = DEFAULT_T
    space: str = "lab"  # the model's training space: it sees that space's luma, its chroma is read back as Lab ab
    cache: OutputCache | None = None

    @property
    def kind(self) -> str:
        """"regression" (ab output) or "classifier" (313 logits)."""
        return "classifier" if getattr(self.model, "output_kind", None) == "logits" else "regression"

    def from_rgb(self, rgb: torch.Tensor) -> torch.Tensor:
        """Lab ab (B, 2, H, W) for RGB images (B, 3, H, W), through targets.predict_colors like every colorizer."""
        from .targets import predict_colors

        return predict_colors(self.model, rgb, self.space, T=self.T, method=self.method, output="lab_ab",
                              batch_size=max(1, rgb.shape[0]), forward=self.cache or OutputCache())


def default_decoding(name: str) -> str:
    """How a classifier checkpoint is decoded under its own name: "mode" / "mean" if the name says so, else annealed."""
    words = set(re.split(r"[^a-z0-9]+", name.lower()))
    return "mode" if "mode" in words else "mean" if "mean" in words else "annealed"


def decodings(model: nn.Module, name: str, space: str = "lab", temperatures: tuple[float, ...] = (DEFAULT_T, 0.89),
              cache: OutputCache | None = None) -> dict[str, DecodedColorizer]:
    """A model as judge callables: a regressor under `name`; a classifier under `name` decoded as default_decoding
    says (annealed: T = quantize.DEFAULT_T), plus "<name>, mode" and "<name>, T=<t>" for each temperature."""
    cache = cache or OutputCache()
    first = DecodedColorizer(model, name, default_decoding(name), DEFAULT_T, space, cache)
    out = {name: first}
    if first.kind == "classifier":
        if first.method != "mode":
            out[f"{name}, mode"] = DecodedColorizer(model, name, "mode", DEFAULT_T, space, cache)
        for t in temperatures:
            if t <= 0:
                raise ValueError(f"decodings: temperatures must be > 0 (mode is T -> 0), got {t}")
            if first.method != "annealed" or t != DEFAULT_T:
                out[f"{name}, T={t:g}"] = DecodedColorizer(model, name, "annealed", float(t), space, cache)
    return out


def load_run_colorizers(run_dir: str | os.PathLike, device: torch.device | str | None = None,
                        temperatures: tuple[float, ...] = (DEFAULT_T, 0.89)) -> dict[str, DecodedColorizer]:
    """Every colorizer checkpoint in run_dir/checkpoints (train.fit or GAN generators) as judge callables.

    Named by checkpoint stem (the experiment name slugified), regressors first; classifiers several ways (see
    decodings). Files that are not colorizers (judges) are left out; ones that fail to load are skipped with a warning.
    """
    from .checkpoint import CheckpointError, find_checkpoints
    from .checkpoint import load_model

    if not Path(run_dir).is_dir():
        raise FileNotFoundError(f"load_run_colorizers: run_dir {str(run_dir)!r} is not a folder")
    device = torch.device(device) if device is not None else default_device()
    cache, found = OutputCache(), {}
    for path in find_checkpoints(run_dir):
        try:
            model, meta = load_model(path, device)
        except (CheckpointError, ValueError, TypeError, KeyError, RuntimeError) as exc:
            warnings.warn(f"load_run_colorizers: skipping {path.name}: {exc}", RuntimeWarning, stacklevel=2)
            continue
        found.update(decodings(model, path.stem, (meta.get("config") or {}).get("color_space", "lab"),
                               tuple(temperatures), cache))
    return dict(sorted(found.items(), key=lambda item: item[1].kind != "regression"))  # stable: regressors first


def pick_judge(source: str, test_set: ImageSet, vgg: VGG, device: torch.device | str) -> tuple[nn.Module, str]:
    """The judge of the verdict and why: the kit's pretrained judge on CIFAR-10 data, else the VGG trained here."""
    from .pretrained import PretrainedMissing, load_pretrained

    if source not in ("pretrained", "train"):
        raise ValueError(f"pick_judge: source must be 'pretrained' or 'train', got {source!r}")
    if source == "pretrained":
        try:
            judge, card = load_pretrained("judge", device)
        except PretrainedMissing as exc:
            return vgg, f"{exc}; the VGG trained here judges instead"
        if list(test_set.classes) == card["classes"]:
            acc = card["metrics"]["test_top1"]
            return judge, (f"judge: the kit's pretrained AirNet ({card['parameters'] / 1e6:.1f} M parameters, "
                           f"{acc:.1%} on the {card['test_data']}); independent of every colorizer judged here")
        why = f"the test images' classes are not CIFAR-10's ({', '.join(test_set.classes[:3])}, ...)"
    else:
        why = "judge_source='train'"
    return vgg, (f"judge: the VGG trained above ({why}); it also gave the VGG-transfer colorizer its blocks, so "
                 "its verdict on that colorizer is not independent")


def with_intervals(rows: list[dict], n: int, confidence: float = 0.95) -> list[dict]:
    """Rows with the Wilson interval of each top-1 accuracy over n test images (top1_low, top1_high)."""
    from .turing import wilson_interval

    out = []
    for row in rows:
        low, high = wilson_interval(round(row["top1"] * n), n, confidence)
        out.append({**row, "top1_low": low, "top1_high": high})
    return out


def train_colorizers(judge: VGG, train_set: ImageSet, test_set: ImageSet, nb: NotebookRun,
                     found: dict[str, DecodedColorizer] | None = None) -> list[Experiment]:
    """Seed 004's colorizers at nb's profile: an L2 sigmoid CNN and a soft-CE zhang_simplified (mode) unless the
    run's other colorizers (`found`) hold that kind, and always the VGG-transfer classifier, its encoder from `judge`
    (the VGG trained in notebook 06; the verdict comes from the pretrained judge, a network the transfer never saw).

    Models this function trained before in the run folder are resumed (not retrained) and reported again.
    """
    from dataclasses import replace

    from .experiment import run_experiment, train_config
    from .models import build_model

    own = {nb.checkpoint_path(name).stem for _, name, _, _ in SEED_004_PLAN} | {nb.checkpoint_path(TRANSFER_NAME).stem}
    have = {c.kind for c in (found or {}).values() if c.source not in own}
    cfg = train_config(nb.profile, nb.seed, optimizer="adam", lr=1e-3)  # as notebooks 02 and 03
    exps = [run_experiment(name, preset, train_set, test_set, nb, cfg=replace(cfg, loss=loss), method="mode")
            for kind, name, preset, loss in SEED_004_PLAN if kind not in have or nb.checkpoint_path(name).exists()]
    # Seed 004 swapped blocks 1-7 of Zhang's net for VGG's conv blocks and kept the rest: output at 1/4 like Zhang's.
    transfer = build_model("vgg_transfer", cfg=judge.cfg, width=judge.width, output_stride=4)
    transfer.load_encoder_from(judge)  # fit resumes over it when the run already holds a trained one
    exps.append(run_experiment(TRANSFER_NAME, transfer, train_set, test_set, nb, cfg=replace(cfg, loss="ce"),
                               method="mode"))
    return exps


def _find(colorizers: dict[str, DecodedColorizer], source: str | None, method: str, T: float | None = None):
    return next((n for n, c in colorizers.items() if c.source == source and c.kind == "classifier"
                 and c.method == method and (T is None or abs(c.T - T) < 1e-9)), None)


def seed_004_stand_ins(colorizers: dict[str, DecodedColorizer]) -> dict[str, str | None]:
    """Which judged row stands for each of seed 004's: SEED_004_CANDIDATES first, else the first of that kind;
    classifiers decoded by the mode (as seed 004), the annealed row at T = 0.89. None where the run has none."""
    plain = {n: c for n, c in colorizers.items() if n == c.source}  # one entry per checkpoint
    transfer = SEED_004_CANDIDATES["vgg_transfer"]

    def pick(key: str, kind: str, fallback: bool = True) -> str | None:
        ours = [n for n in SEED_004_CANDIDATES[key] if n in plain and plain[n].kind == kind]
        others = [n for n, c in plain.items() if c.kind == kind and n not in transfer] if fallback else []
        return next(iter(ours + others), None)

    cls = pick("classification", "classifier")
    return {"grayscale": "grayscale", "regression": pick("regression", "regression"),
            "classification": _find(colorizers, cls, "mode"), "annealed_mean": _find(colorizers, cls, "annealed", 0.89),
            "vgg_transfer": _find(colorizers, pick("vgg_transfer", "classifier", fallback=False), "mode"),
            "ground_truth": "ground_truth"}


def seed_004_comparison(rows: list[dict], stand_ins: dict[str, str | None]) -> list[dict]:
    """Seed 004's Figure 7 beside ours: per seed-004 row, our stand-in's name and judge columns, and their top-1."""
    by = {r["name"]: r for r in rows}
    keep = ("top1", "top1_imagenet", "confidence", "frechet")
    table = [{"name": key, "model": ours, **{k: by[ours][k] for k in keep if ours in by and k in by[ours]}}
             for key, ours in stand_ins.items()]
    return with_seed_004(table)


def judge_temperature_sweep(judge: nn.Module, test_set: ImageSet, colorizers: dict[str, DecodedColorizer],
                            sources: list[str], temperatures: list[float], device=None) -> list[dict]:
    """Judge rows of each source classifier decoded by the mode (T = 0) and at each T (sorted), with gray and truth."""
    views = {}
    for source in dict.fromkeys(s for s in sources if s):
        c = next((c for c in colorizers.values() if c.source == source and c.kind == "classifier"), None)
        if c is None:
            known = sorted({c.source for c in colorizers.values() if c.kind == "classifier"})
            raise ValueError(f"judge_temperature_sweep: no classifier named {source!r} among the colorizers; "
                             f"classifiers: {known}")
        views.update(decodings(c.model, source, c.space, tuple(sorted(set(temperatures)))))
    rows = judge_colorizers(judge, test_set, views, device=device)
    for r in rows:
        v = views.get(r["name"])
        r.update(source=v.source if v else r["name"], T=None if v is None else 0.0 if v.method == "mode"
                 else 1.0 if v.method == "mean" else v.T, method=v.method if v else None)
    return rows


def plot_accuracy_vs_temperature(sweep: list[dict], marks: tuple[float, ...] = (DEFAULT_T, 0.89), key: str = "top1"):
    """The judge's accuracy against the decoding temperature T per classifier (mode at T = 0), gray and truth dashed."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 3.6))
    for source in dict.fromkeys(r["source"] for r in sweep if r["T"] is not None):
        pts = sorted((r["T"], r[key]) for r in sweep if r["source"] == source and r["method"] == "annealed")
        line, = ax.plot(*zip(*pts), "o-", label=source) if pts else ax.plot([], [], "o-", label=source)
        mode = [r[key] for r in sweep if r["source"] == source and r["method"] == "mode"]
        ax.plot([0.0] * len(mode), mode, "D", color=line.get_color())
    for r, style in ((r, s) for r in sweep for n, s in (("grayscale", ":"), ("ground_truth", "--")) if r["name"] == n):
        ax.axhline(r[key], color="gray", ls=style, label=r["name"].replace("_", " "))
    for m in marks:
        ax.axvline(m, color="k", lw=0.8)
        ax.text(m, ax.get_ylim()[1], f" T={m}", va="top", fontsize=8)
    ax.set_xlabel("temperature T (0: mode)"), ax.set_ylabel(f"judge {key}"), ax.legend(fontsize=8)
    return fig


def fixed_examples(rows: list[dict], labels: torch.Tensor, n: int = 8, fixer: str | None = None
                   ) -> tuple[torch.Tensor, int]:
    """Indices of up to n kept examples (judge_colorizers(keep_examples=...)) that grayscale gets wrong and `fixer`
    (None: any colorizer) right, then other grayscale errors, then the rest; and how many were such fixes."""
    by = {r["name"]: r for r in rows}
    gray = by["grayscale"]["example_predictions"]  # (K,)
    y = labels[:gray.shape[0]].to(gray.device)
    names = [fixer] if fixer else [r["name"] for r in rows if r["name"] not in ("grayscale", "ground_truth")]
    right = torch.stack([by[name]["example_predictions"] == y for name in names]).any(0) if names else gray != gray
    wrong = gray != y
    fixed = wrong & right
    order = torch.cat([fixed.nonzero(), (wrong & ~fixed).nonzero(), (~wrong).nonzero()]).flatten()
    return order[:n], int(fixed.sum())


def plot_examples(rows: list[dict], labels: torch.Tensor, classes: list[str], index: torch.Tensor):
    """Seed 004 fig. 8: each row's kept images at `index`, labelled with the judge's class (green when right)."""
    from .viz import image_grid

    k = max(1, len(index))
    fig = image_grid({r["name"]: r["examples"][index] for r in rows}, n=k)
    for j, r in enumerate(rows):
        for c, i in enumerate(index.tolist()):
            p = int(r["example_predictions"][i])
            fig.axes[j * k + c].set_xlabel(classes[p] if p < len(classes) else str(p), fontsize=7, labelpad=1,
                                           color="tab:green" if p == int(labels[i]) else "tab:red")
    fig.subplots_adjust(hspace=0.3)
    return fig
