"""The reference models in the notebooks: each seed's effects-table rows, and "yours against the reference".

    result = seed_effects("003", test)           # the effects table's rows for one seed (or several)
    show_effects(result)                         # as Markdown, with where the numbers come from
    plot_against_reference(history, "regressor") # your model's validation RMSE beside the reference's, by steps

The rows are measured on the run's own test images when they are CIFAR-10 test images with labels (the references
were trained on CIFAR-10); otherwise, for example on the embedded photo patches of a machine without CIFAR-10, the
committed rows of `colorkit effects` on all 10,000 test images (docs/effects-10000.json) are shown, and say so.
"""
from __future__ import annotations

import json
import math
import re
from typing import Any, Sequence

import torch

from .effects import CLAIMS, check_claim, format_effects, load_references, measure, summarize
from .notebook import repo_root
from .pretrained import read_card

COMMITTED = "docs/effects-10000.json"  # `colorkit effects --data CIFAR10 --out ...` on all 10,000 test images


def _seeds(seeds: str | Sequence[str]) -> tuple[str, ...]:
    seeds = (seeds,) if isinstance(seeds, str) else tuple(seeds)
    known = sorted({c.seed for c in CLAIMS})
    if not seeds or any(s not in known for s in seeds):
        raise ValueError(f"seed_effects: seeds {seeds!r}; the effects table has claims for seeds {', '.join(known)}")
    return seeds


def committed_effects(seeds: str | Sequence[str]) -> dict[str, Any]:
    """The committed effects-table rows of these seeds (all 10,000 CIFAR-10 test images), with their provenance."""
    seeds = _seeds(seeds)
    root = repo_root() or repo_root(__file__)
    path = None if root is None else root / COMMITTED
    if path is None or not path.is_file():
        raise FileNotFoundError(f"seed_effects: no CIFAR-10 test images in this run and no committed table "
                                f"({COMMITTED}) beside the package; run `colorkit effects --data CIFAR10`")
    result = json.loads(path.read_text())
    rows = [r for r in result["rows"] if r["seed"] in seeds]
    return {**result, "rows": rows, "source": f"committed: {COMMITTED} ({result['n_images']:,} test images of "
                                              f"{result['data']}, `colorkit effects`)"}


def can_measure(test_set) -> bool:
    """True when test_set is labelled CIFAR-10 test images (the data the references and judges were trained for)."""
    return (test_set is not None and test_set.labels is not None and test_set.name.startswith("CIFAR-10")
            and len(test_set.classes) == 10)


def _chosen(seeds: tuple[str, ...], claims: Sequence[str] | None) -> list:
    chosen = [c for c in CLAIMS if c.seed in seeds]
    if claims is None:
        return chosen
    picked = [c for c in chosen if c.text.startswith(tuple(claims))]
    unmatched = [t for t in claims if not any(c.text.startswith(t) for c in chosen)]
    if isinstance(claims, str) or not claims or unmatched:
        raise ValueError(f"seed_effects: claims {claims!r} (unmatched: {unmatched}); seed {', '.join(seeds)}'s "
                         f"claims: {[c.text for c in chosen]}")
    return picked


def seed_effects(seeds: str | Sequence[str], test_set=None, device: str | torch.device = "cpu",
                 n_boot: int = 1000, claims: Sequence[str] | None = None) -> dict[str, Any]:
    """The effects table's rows for `seeds` (only those whose text starts with one of `claims`, if given), measured
    on test_set when it is labelled CIFAR-10 (loading only the references they compare), else the committed rows."""
    seeds = _seeds(seeds)
    claims = _chosen(seeds, claims)
    if not can_measure(test_set):
        result = committed_effects(seeds)
        texts = {c.text for c in claims}
        return {**result, "rows": [r for r in result["rows"] if r["claim"] in texts]}
    needed = {n for c in claims for n in (c.a, c.b)} - {"grayscale", "truth"}
    judges_needed = {c.metric.partition(":")[2] for c in claims} - {""}
    colourings, judges, missing = load_references(device, needed, judges_needed)
    features = tuple(n for c in claims if c.metric.startswith("frechet") for n in (c.a, c.b))
    m = measure(test_set.images, test_set.labels, colourings, judges, features=features, progress=False)
    rows = [check_claim(c, m, n_boot, list(test_set.classes)) for c in claims
            if {c.a, c.b} - {"grayscale", "truth"} <= set(colourings)]
    return {"n_images": len(test_set), "data": test_set.name, "rows": rows, "missing": missing, "summary": summarize(m),
            "source": f"measured here on this run's {len(test_set):,} test images of {test_set.name}"}


def effects_markdown(result: dict[str, Any]) -> str:
    """The rows as a Markdown table (claim, A and B with 95 % intervals, A - B, verdict) and their source."""
    table = format_effects(result).split("\n", 2)[2]  # drop format_effects' own title line
    return f"**The reference models** ({result['source']}; 95 % intervals, paired tests):\n\n{table}"


def show_effects(result: dict[str, Any]) -> str:
    """Display the rows in a notebook (Markdown) and return the text."""
    from IPython.display import Markdown, display

    text = effects_markdown(result)
    display(Markdown(text))
    return text


def row(result: dict[str, Any], claim: str) -> dict[str, Any]:
    """The row whose claim text starts with `claim`; a clear error lists the claims there are."""
    hits = [r for r in result["rows"] if r["claim"].startswith(claim)]
    if len(hits) != 1:
        raise KeyError(f"no single row for claim {claim!r}; rows: {[r['claim'] for r in result['rows']]}")
    return hits[0]


def reference_curve(name: str) -> dict[str, Any]:
    """A shipped reference's validation RMSE ab per epoch, against optimiser steps, from its card."""
    card = read_card(name)
    history = card.get("history") or {}
    if not history.get("val_rmse_ab"):
        raise ValueError(f"reference {name!r}: its card has no validation curve (history.val_rmse_ab)")
    found = re.search(r"([\d,]+) training images", str(card.get("data", "")))
    if not found:
        raise ValueError(f"reference {name!r}: its card does not say how many training images ({card.get('data')!r})")
    n_train = int(found.group(1).replace(",", ""))
    per_epoch = math.ceil(n_train / card["recipe"]["batch_size"])
    steps = [per_epoch * (i + 1) for i in range(len(history["val_rmse_ab"]))]
    return {"name": name, "steps": steps, "val_rmse_ab": list(history["val_rmse_ab"]), "n_train": n_train,
            "batch_size": card["recipe"]["batch_size"], "data": card["data"]}


def plot_against_reference(curves: dict[str, tuple[list[int], list[float]]], reference: str | Sequence[str],
                           ax=None, title: str = "yours against the reference"):
    """Validation RMSE ab against optimiser steps (log x): your curves (name -> (steps, values)) and the references'."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.6))
    for name, (steps, values) in curves.items():
        ax.plot(steps, values, "o-", label=f"{name} (yours)")
    for ref in [reference] if isinstance(reference, str) else reference:
        c = reference_curve(ref)
        ax.plot(c["steps"], c["val_rmse_ab"], "s--", label=f"{ref} (reference, {c['n_train']:,} images)")
    ax.set(xscale="log", xlabel="optimiser steps", ylabel="validation RMSE ab", title=title)
    ax.legend(fontsize=8)
    return ax


def history_curve(history, n_train: int, batch_size: int) -> tuple[list[int], list[float]]:
    """(steps, val_rmse_ab) of a kit History for plot_against_reference."""
    per_epoch = math.ceil(n_train / batch_size)
    values = list(history.val_rmse_ab)
    return [per_epoch * (i + 1) for i in range(len(values))], values
