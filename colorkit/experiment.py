"""One experiment = train a colorizer, evaluate it, keep a results row: the unit every notebook table is made of."""
from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Sequence

import torch

from .gan import build_gan, fit_gan
from .metrics import evaluate_colorizer
from .models import build_model, count_parameters
from .notebook import NotebookRun
from .profiles import Profile
from .quantize import DEFAULT_T
from .targets import predict_colors
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
    """A trained colorizer with its training history, decoding settings and evaluation row."""

    name: str
    model: torch.nn.Module
    history: History
    row: dict[str, Any]
    T: float = DEFAULT_T
    method: str = "annealed"
    space: str = "lab"
    extra: dict[str, Any] = field(default_factory=dict)

    def colorize(self, images: torch.Tensor) -> torch.Tensor:
        """RGB (B, 3, H, W) in [0, 1] of uint8 or float RGB images recoloured from their own luma (predict_colors)."""
        return predict_colors(self.model, images, self.space, T=self.T, method=self.method, output="rgb")

    def from_rgb(self, rgb: torch.Tensor) -> torch.Tensor:
        """Lab ab (B, 2, H, W) predicted for RGB images: how metrics and the judge call a model-backed colorizer."""
        return predict_colors(self.model, rgb, self.space, T=self.T, method=self.method, output="lab_ab")


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
    exp = Experiment(name, model, history, {}, T=T, method=method, space=cfg.color_space)
    return evaluate(exp, test_set, nb, prior)


def pretrained_experiment(name: str, test_set, nb: NotebookRun, T: float = DEFAULT_T, method: str = "annealed",
                          prior: torch.Tensor | None = None) -> Experiment:
    """A pretrained model shipped with the kit ("classifier", "regressor") as an evaluated Experiment (no training)."""
    from .pretrained import load_pretrained

    model, card = load_pretrained(name, nb.device)
    exp = evaluate(Experiment(f"pretrained {name}", model, History(), {}, T=T, method=method), test_set, nb, prior)
    exp.extra["card"] = card
    return exp


def evaluate(exp: Experiment, test_set, nb: NotebookRun, prior: torch.Tensor | None = None) -> Experiment:
    """Fill exp.row with the test metrics (plus parameter count and training seconds) and return exp."""
    metrics = evaluate_colorizer(exp, test_set, device=nb.device, prior=prior)  # through exp.from_rgb
    exp.row = {"model": exp.name, **metrics, "params": count_parameters(exp.model),
               "train_s": sum(exp.history.epoch_seconds)}
    return exp


def with_decoding(exp: Experiment, name: str, T: float = DEFAULT_T, method: str = "annealed") -> Experiment:
    """The same trained classifier decoded another way (mode, mean, annealed mean at T); shares the model."""
    if getattr(exp.model, "output_kind", None) != "logits":
        raise ValueError(f"with_decoding: {exp.name} is a regression model; only classifiers can be re-decoded")
    return Experiment(name, exp.model, exp.history, {}, T=T, method=method, space=exp.space)


def colorize_with(exp: Experiment, images: torch.Tensor) -> torch.Tensor:
    """RGB (B, 3, H, W) in [0, 1] of uint8 images recoloured by an experiment from their own luma."""
    return exp.colorize(images)


def comparison_rows(experiments: Sequence[Experiment], images: torch.Tensor) -> dict[str, torch.Tensor]:
    """Rows for viz.image_grid: the gray input, every experiment's colorization, and the truth."""
    from .color import join_lab, split_lab, uint8_to_float

    rgb = uint8_to_float(images)
    L, ab = split_lab(rgb)
    rows = {"input (L)": join_lab(L, torch.zeros_like(ab))}
    rows.update({exp.name: colorize_with(exp, images) for exp in experiments})
    rows["ground truth"] = rgb
    return rows


def show_table(rows: Sequence[dict[str, Any]], columns: Sequence[str] = METRIC_COLUMNS):
    """Display result rows as a table in a notebook (markdown), and return its text."""
    from IPython.display import Markdown, display

    from .runner import format_table

    text = format_table(list(rows), tuple(columns))
    display(Markdown(text))
    return text


def cached_logits(exp: Experiment, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """L (B, 1, H, W), true ab (B, 2, H, W) and the classifier's logits (B, 313, H', W') for uint8 images."""
    from .color import split_lab, uint8_to_float

    L, ab = split_lab(uint8_to_float(images))
    device = next(exp.model.parameters()).device
    with torch.no_grad():
        logits = exp.model(L.to(device)).float().cpu()
    return L, ab, logits


def temperature_rows(exp: Experiment, images: torch.Tensor, temperatures: Sequence[float]) -> dict[str, torch.Tensor]:
    """Rows for viz.image_grid: the input, the classifier decoded at each T (0 = mode), the truth."""
    from .color import join_lab
    from .quantize import annealed_mean

    L, ab, logits = cached_logits(exp, images)
    rows = {"input (L)": join_lab(L, torch.zeros_like(ab))}
    for T in temperatures:
        rows[f"T = {T:.2f}"] = join_lab(L, annealed_mean(logits, T))  # T = 0: the mode
    rows["ground truth"] = join_lab(L, ab)
    return rows


def temperature_sweep(exp: Experiment, test_set, nb: NotebookRun, temperatures: Sequence[float]) -> list[dict]:
    """Test metrics of one classifier decoded at each temperature, sorted by T."""
    rows = []
    for T in sorted(set(round(float(t), 4) for t in temperatures)):
        view = evaluate(with_decoding(exp, f"T={T}", T=T), test_set, nb)
        rows.append({"T": T, **{k: v for k, v in view.row.items() if k not in ("model", "params", "train_s")}})
    return rows


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
    exp = Experiment(name, G, history, {}, extra={"variant": variant, "discriminator": D, "config": cfg})
    return evaluate(exp, test_set, nb)
