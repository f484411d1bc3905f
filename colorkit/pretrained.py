"""The kit's own pretrained models: trained by its own code with a recorded command, shipped inside the package.

    model, card = ck.load_pretrained("classifier")    # a Zhang-style 313-bin colorizer, eval mode
    judge, card = ck.load_pretrained("judge")         # RGB in [0, 1] (B, 3, 32, 32) -> CIFAR-10 logits (B, 10)

Each model is two files in colorkit/weights/: NAME.pt (bf16 weights, the model spec) and NAME.json, its card
(data, exact command, epochs, wall time and hardware, test metrics, the sha256 of NAME.pt). `make pretrained`
retrains them all (colorkit.pretrained_train); there are no download links to die.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn

from ._files import atomic_write
from .checkpoint import load_checkpoint, save_checkpoint
from .device import default_device
from .models import build_model
from .models.airnet import AirNet, AirNetConfig

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
# The models the kit ships: the judges, the four of `make pretrained`, and the reference models of the effects
# table (`make reference`, colorkit/effects.py), each differing from a shipped one in what its seed compares.
NAMES = ("judge", "chroma_judge", "classifier", "regressor", "hints", "classifier_unbalanced", "regressor_l1", "mlp",
         "gan", "transfer", "vehicles_general", "vehicles_own")
JUDGES = ("judge", "chroma_judge")
STORAGE_DTYPE = torch.bfloat16  # half the bytes of float32; the weights are loaded back as float32


class PretrainedMissing(FileNotFoundError):
    """A pretrained model's files are not in the package (not trained yet, or removed)."""


def weights_path(name: str, folder: str | os.PathLike | None = None) -> tuple[Path, Path]:
    """(NAME.pt, NAME.json) in `folder` (default: the package's weights folder)."""
    folder = WEIGHTS_DIR if folder is None else Path(folder)
    return folder / f"{name}.pt", folder / f"{name}.json"


def sha256_file(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def read_card(name: str, folder: str | os.PathLike | None = None) -> dict[str, Any]:
    """The model card of a pretrained model (a dict read from NAME.json)."""
    if name not in NAMES:
        raise ValueError(f"load_pretrained: unknown model {name!r}; valid names: {', '.join(NAMES)}")
    pt, card = weights_path(name, folder)
    if not card.is_file() or not pt.is_file():
        raise PretrainedMissing(f"pretrained model {name!r} is not in {pt.parent} (expected {pt.name} and "
                                f"{card.name}); train it with `make pretrained` or `python -m colorkit.pretrained_train "
                                f"{name} --data PATH`")
    return json.loads(card.read_text())


def list_pretrained(folder: str | os.PathLike | None = None) -> list[dict[str, Any]]:
    """Cards of the pretrained models present (in NAMES order)."""
    cards = []
    for name in NAMES:
        try:
            cards.append(read_card(name, folder))
        except PretrainedMissing:
            continue
    return cards


def build_from_spec(spec: dict[str, Any]) -> nn.Module:
    """An untrained model from a stored spec: a colorizer preset (models.build_model) or the judge (AirNet)."""
    spec = dict(spec)
    if spec.get("name") == "airnet":
        model = AirNet(AirNetConfig(num_classes=int(spec.get("num_classes", 10)),
                                    widths=tuple(spec.get("widths", AirNetConfig.widths)),
                                    inputs=spec.get("inputs", "rgb")))
        model.spec = spec
        return model
    return build_model(**spec)


def load_pretrained(name: str, device: str | torch.device | None = None, folder: str | os.PathLike | None = None,
                    verify: bool = True) -> tuple[nn.Module, dict[str, Any]]:
    """(model in eval mode, float32, on device; its card). verify: check NAME.pt against the card's sha256."""
    card = read_card(name, folder)
    pt, _ = weights_path(name, folder)
    if verify and sha256_file(pt) != card["sha256"]:
        raise ValueError(f"load_pretrained: {pt} does not match its card's sha256 {card['sha256'][:12]}...: "
                         "the file was changed or damaged; reinstall colorkit or retrain it")
    state = load_checkpoint(pt)
    model = build_from_spec(state["spec"])
    model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state["model"].items()})
    return model.to(device or default_device()).eval(), card


def check_input(spec: dict[str, Any]) -> torch.Tensor:
    """A fixed input for a model's card check: RGB (2, 3, 32, 32) for the judge, L (2, 1, 32, 32) for colorizers."""
    g = torch.Generator().manual_seed(0)
    if spec.get("name") == "airnet":
        return torch.rand(2, 3, 32, 32, generator=g)
    return 100 * torch.rand(2, 1, 32, 32, generator=g)


@torch.no_grad()
def check_output(model: nn.Module, spec: dict[str, Any]) -> list[float]:
    """Mean, std and the first 6 values of the model's float32 output on check_input (stored in the card)."""
    out = model.float().eval()(check_input(spec).to(next(model.parameters()).device)).float().cpu()
    return [out.mean().item(), out.std().item(), *out.flatten()[:6].tolist()]


def export_pretrained(name: str, model: nn.Module, spec: dict[str, Any], card: dict[str, Any],
                      folder: str | os.PathLike | None = None) -> dict[str, Any]:
    """Write NAME.pt (bf16 weights + spec) and NAME.json (card + size + sha256 + check); returns the card written."""
    pt, _ = weights_path(name, folder)
    pt.parent.mkdir(parents=True, exist_ok=True)
    weights = {k: (v.detach().to("cpu", STORAGE_DTYPE) if v.is_floating_point() else v.detach().cpu()).clone()
               for k, v in model.state_dict().items()}
    save_checkpoint(pt, {"kind": "pretrained", "name": name, "spec": dict(spec), "model": weights})
    reloaded = build_from_spec(spec)
    reloaded.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in weights.items()})
    n_params = sum(p.numel() for p in model.parameters())
    card = {"name": name, **card, "parameters": n_params, "storage": str(STORAGE_DTYPE).removeprefix("torch."),
            "file": pt.name, "bytes": pt.stat().st_size, "sha256": sha256_file(pt),
            "check": {"input": "check_input(spec): torch.Generator seed 0", "output": check_output(reloaded, spec)}}
    write_card(name, card, folder)
    return card


def write_card(name: str, card: dict[str, Any], folder: str | os.PathLike | None = None) -> Path:
    """Write NAME.json atomically (a temp file, then a rename); returns its path."""
    path = weights_path(name, folder)[1]
    return atomic_write(path, json.dumps(card, indent=2) + "\n")


def summary_line(card: dict[str, Any]) -> str:
    """One line for `colorkit pretrained`: name, parameters, data, headline metrics."""
    metrics = ", ".join(f"{k} {v:.3g}" if isinstance(v, float) else f"{k} {v}"
                        for k, v in card.get("headline", {}).items())
    return (f"{card['name']:<11} {card['parameters'] / 1e6:5.2f} M params  {card.get('data', '?')}  "
            f"{card.get('epochs', '?')} epochs in {card.get('wall_time_s', 0) / 60:.0f} min  {metrics}")
