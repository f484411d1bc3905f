"""The harness every numbered notebook starts with: parameters, seeding, device, run folder, outputs."""
from __future__ import annotations

import ast
import base64
import io
import json
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import torch

from ._files import atomic_write
from .device import default_device, seed_everything
from .profiles import PROFILES, Profile, get_profile

PARAMETERS_MARKER = "# parameters"  # first line of every notebook's parameters cell
INJECTED_MARKER = "# Parameters"  # first line of the cell papermill injects
RESULTS_DIR = "results"
# Set, it replaces a notebook's `profile` parameter (given by name): the test suite (conftest.py) and the browser test
# run the notebooks, stored with a `cpu` run's outputs, at `smoke`; `colorkit run` sets it to its own --profile.
PROFILE_ENV = "COLORKIT_PROFILE"
# Set to "text" (by `colorkit run`), the kit's progress bars in a notebook are tqdm's plain-text bars, not ipywidgets
# bars, whose saved widget state (some 10 kB a bar) would otherwise be stored in the executed notebook.
PROGRESS_ENV = "COLORKIT_PROGRESS"
INLINE_DPI = 80  # figures shown in a notebook: 80 dots an inch (a 10 x 4 in figure is 800 x 320 pixels)


def repo_root(start: str | os.PathLike | None = None) -> Path | None:
    """The colorkit checkout above `start` (the folder holding pyproject.toml and notebooks/), if any."""
    here = Path(start or os.getcwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "pyproject.toml").is_file() and (folder / "notebooks").is_dir():
            return folder
    return None


def declared_parameters(source: str) -> list[str]:
    """Names assigned at top level in a parameters cell's source."""
    names = []
    for node in ast.parse(source).body:
        targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
        names += [t.id for t in targets if isinstance(t, ast.Name)]
    return names


def check_parameters(history: list[str]) -> None:
    """Reject papermill parameters that the notebook's parameters cell does not declare.

    `history` is IPython's `In` list: the last parameters cell declares the valid names, and a
    papermill-injected cell run after it may only assign those.
    """
    declared_at = [i for i, src in enumerate(history) if src.lstrip().startswith(PARAMETERS_MARKER)]
    if not declared_at:
        return
    valid = declared_parameters(history[declared_at[-1]])
    for src in history[declared_at[-1] + 1:]:
        if src.lstrip().startswith(INJECTED_MARKER):
            unknown = sorted(set(declared_parameters(src)) - set(valid))
            if unknown:
                raise ValueError(f"unknown notebook parameter(s) {', '.join(unknown)}; "
                                 f"valid parameters: {', '.join(valid)}")


@dataclass
class NotebookRun:
    """What a notebook needs from the kit: its profile, device, run folder and output helpers."""

    name: str
    profile: Profile
    device: torch.device
    run_dir: Path
    seed: int
    figures_dir: Path | None
    started: float = field(default_factory=time.time)
    results: dict[str, Any] = field(default_factory=dict)

    def save_figure(self, fig, name: str, dpi: int = 100) -> None:
        """Save a matplotlib figure to the run folder (and to figures/ for non-smoke profiles)."""
        target = self.run_dir / "figures" / f"{self.name}_{name}.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(target, dpi=dpi, bbox_inches="tight")
        if self.figures_dir is not None and self.profile.name != "smoke":
            self.figures_dir.mkdir(parents=True, exist_ok=True)
            fig.savefig(self.figures_dir / f"{self.name}_{name}.png", dpi=dpi, bbox_inches="tight")

    def save_results(self, results: dict[str, Any]) -> Path:
        """Write this notebook's results (plus profile, device, data and time) as JSON for the runner."""
        self.results.update(results)
        payload = {"notebook": self.name, "profile": self.profile.name, "device": device_name(self.device),
                   "seconds": round(time.time() - self.started, 1), **self.results}
        target = self.run_dir / RESULTS_DIR / f"{self.name}.json"
        return atomic_write(target, json.dumps(payload, indent=2, default=_jsonable))

    def checkpoint_path(self, name: str) -> Path:
        """Where a model of this run is checkpointed (later notebooks of the run find it here)."""
        slug = re.sub(r"[^\w.-]+", "_", name).strip("_").lower()  # "CNN (tanh)" -> "cnn_tanh"
        return self.run_dir / "checkpoints" / f"{slug}.pt"


def _jsonable(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return value.tolist()
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} to results JSON")


def device_name(device: torch.device) -> str:
    """A human name for the device results were measured on."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"CPU ({os.cpu_count()} cores)"


def start_notebook(name: str, namespace: dict[str, Any]) -> NotebookRun:
    """Validate a notebook's parameters, seed everything and set up its run folder."""
    check_parameters(list(namespace.get("In", [])))
    given = namespace.get("profile", "smoke")
    profile = get_profile(given)  # a wrong name is an error even when the environment replaces it
    override = os.environ.get(PROFILE_ENV) if isinstance(given, str) else None  # a Profile object is kept as given
    overridden = bool(override) and override != profile.name
    if overridden:
        profile = get_profile(override)  # the test suite runs the notebooks (stored at cpu) at smoke
        namespace["profile"] = override
    seed = int(namespace.get("seed", 0))
    device_arg = namespace.get("device")
    device = torch.device(device_arg) if device_arg else default_device()
    root = repo_root()
    run_dir = namespace.get("run_dir") or ((root or Path.cwd()) / "runs" / f"latest-{profile.name}")
    run_dir = Path(run_dir).resolve()
    run_dir.mkdir(parents=True, exist_ok=True)
    seed_everything(seed)
    import matplotlib.pyplot as plt

    plt.rcParams["figure.constrained_layout.use"] = True  # colour bars and labels never overlap
    inline_figures()  # pictures as JPEG, plots as PNG, at INLINE_DPI: a notebook with outputs stays small
    if os.environ.get(PROGRESS_ENV) == "text":
        use_text_progress()
    shown = run_dir.relative_to(root) if root and run_dir.is_relative_to(root) else run_dir  # no machine path
    source = f" (from {PROFILE_ENV})" if overridden else ""
    print(f"colorkit notebook {name}: profile={profile.name}{source} ({profile.description}), "
          f"device={device_name(device)}, "
          f"seed={seed}, run folder={shown}")
    return NotebookRun(name=name, profile=profile, device=device, run_dir=run_dir, seed=seed,
                       figures_dir=(root / "figures") if root else None)


def use_text_progress() -> int:
    """Make the kit's tqdm bars plain text (tqdm.std) in this kernel; returns how many kit modules were switched.

    The kit's modules bind `tqdm` from tqdm.auto when imported, which in a Jupyter kernel is the ipywidgets bar;
    this rebinds tqdm.auto and every loaded colorkit module's tqdm to tqdm.std's text bar.
    """
    import sys

    import tqdm.auto
    import tqdm.std

    tqdm.auto.tqdm = tqdm.std.tqdm
    switched = 0
    for name, module in list(sys.modules.items()):
        bar = getattr(module, "tqdm", None) if name.split(".")[0] == "colorkit" else None
        if isinstance(bar, type) and issubclass(bar, tqdm.std.tqdm) and bar is not tqdm.std.tqdm:
            module.tqdm = tqdm.std.tqdm
            switched += 1
    return switched


def _holds_picture(fig) -> bool:
    """Whether a figure shows an image of at least 32 x 32 pixels (imshow), which compresses badly as PNG."""
    for ax in fig.axes:
        for image in ax.get_images():
            array = image.get_array()
            if array is not None and array.shape[0] * array.shape[1] >= 32 * 32:
                return True
    return False


def inline_figures(dpi: int = INLINE_DPI, quality: int = 80) -> bool:
    """Show figures inline as JPEG when they hold a picture, else as PNG, at `dpi`; False outside IPython."""
    try:
        from IPython import get_ipython
        from IPython.core.pylabtools import print_figure
    except ImportError:
        return False
    shell = get_ipython()
    if shell is None or not hasattr(shell, "display_formatter"):
        return False
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    plt.close(plt.figure())  # load the backend now: loading matplotlib's inline backend resets the figure formatters
    formatters = shell.display_formatter.formatters

    def png(fig):
        return None if _holds_picture(fig) else print_figure(fig, "png", base64=True, dpi=dpi)

    def jpeg(fig):
        return print_figure(fig, "jpeg", base64=True, dpi=dpi, pil_kwargs={"quality": quality},
                            facecolor="white") if _holds_picture(fig) else None

    formatters["image/png"].for_type(Figure, png)
    formatters["image/jpeg"].for_type(Figure, jpeg)
    return True


def figure_bytes(fig, fmt: str = "jpeg", dpi: int = INLINE_DPI) -> bytes:
    """A matplotlib figure encoded as JPEG (for photos about a fifth of a PNG's size) or PNG; the figure is closed."""
    import matplotlib.pyplot as plt

    if fmt not in ("jpeg", "png"):
        raise ValueError(f"figure_bytes: fmt must be 'jpeg' or 'png', got {fmt!r}")
    buffer = io.BytesIO()
    options = {"pil_kwargs": {"quality": 90}} if fmt == "jpeg" else {}
    fig.savefig(buffer, format=fmt, dpi=dpi, facecolor="white", **options)
    plt.close(fig)
    return buffer.getvalue()


def figure_widget(controls: Sequence[Any], draw: Callable[[], Any], fmt: str = "jpeg", dpi: int = INLINE_DPI):
    """Controls above a picture that draw() (returning a matplotlib figure) redraws when a control's value changes.

    Safe to run headless: the picture is an ipywidgets.Image whose bytes are replaced, never an Output widget that
    captures display() calls. nbclient (papermill, nbconvert) emulates a front end's Output widget by sending a
    message on the kernel's shell socket while it waits for the cell's reply there; that wake-up can be lost, and
    the cell then sits idle until the per-cell timeout. The box also carries the current picture as a plain image,
    which viewers without a widget front end (a stored notebook, GitHub) show instead.
    """
    import ipywidgets as w

    class FigureBox(w.VBox):
        def _repr_mimebundle_(self, **kwargs):
            bundle = super()._repr_mimebundle_(**kwargs) or {}
            return {**bundle, f"image/{fmt}": base64.b64encode(picture.value).decode("ascii")}

    picture = w.Image(value=figure_bytes(draw(), fmt, dpi), format=fmt)

    def redraw(_change=None) -> None:
        picture.value = figure_bytes(draw(), fmt, dpi)

    for control in controls:
        control.observe(redraw, names="value")
    return FigureBox([*controls, picture])

__all__ = ["NotebookRun", "start_notebook", "figure_bytes", "figure_widget", "inline_figures", "use_text_progress", "check_parameters", "declared_parameters",
           "PROFILES", "repo_root"]
