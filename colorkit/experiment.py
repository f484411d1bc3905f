"""One experiment = train a colorizer, evaluate it, keep a results row: the unit every notebook table is made of."""
from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Sequence

import torch

from .color import gray_from_l, split_lab, uint8_to_float
from .colorizer import Colorizer
from .gan import build_gan, fit_gan
from .metrics import evaluate_colorizer
from .models import build_model, count_parameters
from .notebook import NotebookRun
from .pretrained import load_pretrained
from .profiles import Profile
from .quantize import DEFAULT_T
from .runner import format_table
from .train import History, TrainConfig, fit

METRIC_COLUMNS = ("model", "rmse_ab", "rmse_rgb", "psnr", "ssim", "auc", "auc_rebalanced", "colorfulness",
                  "params", "train_s")


def train_config(profile: Profile, seed: int = 0, **overrides: Any) -> TrainConfig:
    """A TrainConfig sized by the profile (epochs, batch size), with any field overridden."""
    names = {f.name for f in fields(TrainConfig)}
    unknown = sorted(set(overrides) - names)
    if unknown:
        raise ValueError(f"train_config: unknown option(s) {', '.join(unknown)}; valid: {', '.join(sorted(names))}")
    base = {"epochs": profile.epochs, "batch_size": profile.batch_size, "seed": seed, "profile": profile.name}
    return TrainConfig(**{**base, **overrides})


@dataclass
class Experiment:
    """A trained colorizer (a Colorizer: the model and how its output is read) with its history and results row."""

    name: str
    colorizer: Colorizer
    history: History
    row: dict[str, Any]
    extra: dict[str, Any] = field(default_factory=dict)

    def decoded(self, name: str, T: float = DEFAULT_T, method: str = "annealed") -> "Experiment":
        """The same trained classifier read another way (mode, mean, annealed mean at T), unevaluated; shares the model."""
        if self.colorizer.output_kind != "logits":
            raise ValueError(f"Experiment.decoded: {self.name} is a regression model; only classifiers can be re-decoded")
        return Experiment(name, replace(self.colorizer, name=name, T=float(T), method=method), self.history, {})


def run_experiment(name: str, model: str | torch.nn.Module, train_set, test_set, nb: NotebookRun,
                   cfg: TrainConfig | None = None, T: float = DEFAULT_T, method: str = "annealed",
                   prior: torch.Tensor | None = None, progress: bool = True, **model_options: Any) -> Experiment:
    """Build (by preset name, at the profile's width) or take a model, train it with resume, evaluate it."""
    if isinstance(model, str):
        model_options.setdefault("width", nb.profile.width)
        model = build_model(model, **model_options)
    cfg = cfg or train_config(nb.profile, nb.seed)
    if cfg.checkpoint is None:  # each experiment its own checkpoint; the caller's cfg is left as it was
        cfg = replace(cfg, checkpoint=nb.checkpoint_path(name))
    history = fit(model, train_set, test_set, cfg, device=nb.device, progress=progress)
    exp = Experiment(name, Colorizer(model, name, space=cfg.color_space, T=T, method=method), history, {})
    return evaluate(exp, test_set, nb, prior)


def pretrained_experiment(name: str, test_set, nb: NotebookRun, T: float = DEFAULT_T, method: str = "annealed",
                          prior: torch.Tensor | None = None) -> Experiment:
    """A pretrained model shipped with the kit ("classifier", "regressor") as an evaluated Experiment (no training)."""
    model, card = load_pretrained(name, nb.device)
    colorizer = Colorizer(model, f"pretrained {name}", T=T, method=method)
    exp = evaluate(Experiment(colorizer.name, colorizer, History(), {}), test_set, nb, prior)
    exp.extra["card"] = card
    return exp


def evaluate(exp: Experiment, test_set, nb: NotebookRun, prior: torch.Tensor | None = None) -> Experiment:
    """Fill exp.row with the test metrics (plus parameter count and training seconds) and return exp."""
    metrics = evaluate_colorizer(exp.colorizer, test_set, device=nb.device, prior=prior)
    exp.row = {"model": exp.name, **metrics, "params": count_parameters(exp.colorizer.model),
               "train_s": sum(exp.history.epoch_seconds)}
    return exp


def comparison_rows(experiments: Sequence[Experiment], images: torch.Tensor) -> dict[str, torch.Tensor]:
    """Rows for viz.image_grid: the gray input, every experiment's colorization, and the truth."""
    rgb = uint8_to_float(images)
    L, ab = split_lab(rgb)
    rows = {"input (L)": gray_from_l(L)}
    rows.update({exp.name: exp.colorizer(images) for exp in experiments})
    rows["ground truth"] = rgb
    return rows


def show_table(rows: Sequence[dict[str, Any]], columns: Sequence[str] = METRIC_COLUMNS):
    """Display result rows as a table in a notebook (markdown), and return its text."""
    from IPython.display import Markdown, display

    text = format_table(list(rows), tuple(columns))
    display(Markdown(text))
    return text


def run_gan(name: str, variant: str, train_set: Any, test_set: Any, nb: NotebookRun,
            generator: str | torch.nn.Module = "zhang_regressor", progress: bool = True, **overrides: Any) -> Experiment:
    """Build, train (resuming from nb.checkpoint_path(name)) and evaluate one GAN variant (colorkit.gan): an Experiment.

    Sized by nb.profile (width, gan_epochs, batch_size); samples go to <run folder>/samples; overrides are
    GANConfig fields or build_gan's width / n_layers / norm.
    """
    shape = {k: overrides.pop(k) for k in ("width", "n_layers", "norm") if k in overrides}
    shape.setdefault("width", nb.profile.width)
    overrides = {"epochs": nb.profile.gan_epochs, "batch_size": nb.profile.batch_size, "seed": nb.seed,
                 "checkpoint": nb.checkpoint_path(name), "sample_dir": Path(nb.run_dir) / "samples", **overrides}
    G, D, cfg = build_gan(variant, generator, **shape, **overrides)
    history = fit_gan(G, D, train_set, test_set, cfg, device=nb.device, progress=progress)
    exp = Experiment(name, Colorizer(G, name), history, {}, extra={"variant": variant, "discriminator": D, "config": cfg})
    return evaluate(exp, test_set, nb)
