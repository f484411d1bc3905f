"""The effects table: each seed's headline claim, measured on the reference models (`colorkit effects`).

    rows = effects_table(load_dataset(PATH, "test"))     # measure every reference, then test every claim
    print(format_effects(rows))

Every claim compares two colourings of the same test images (paired): per-image metrics by a paired bootstrap
(1,000 resamples; 200 for the Frechet distance), a judge's right/wrong answers by McNemar's exact test. A verdict
is "holds" when the difference goes the claimed way and is clear (interval excludes 0, or p < 0.05), "reversed"
when it is clear the other way, "within noise" otherwise.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import torch

from . import stats
from .color import join_lab, split_lab, uint8_to_float
from .colorizer import Colorizer
from .judge import _judge_batch, frechet_distance
from .metrics import colorfulness, colorizer_ab, grey_fraction, psnr, rmse_ab
from .pretrained import PretrainedMissing, load_pretrained

# The colourings measured: name -> (reference model, decoding); "grayscale" and "truth" need no model.
VARIANTS: dict[str, tuple[str, dict[str, Any]]] = {
    "mlp": ("mlp", {}), "regressor": ("regressor", {}), "regressor_l1": ("regressor_l1", {}), "gan": ("gan", {}),
    "classifier": ("classifier", {}), "classifier, mean": ("classifier", {"method": "mean"}),
    "classifier, mode": ("classifier", {"method": "mode"}),
    "unbalanced": ("classifier_unbalanced", {}), "unbalanced, mean": ("classifier_unbalanced", {"method": "mean"}),
    "unbalanced, mode": ("classifier_unbalanced", {"method": "mode"}), "transfer": ("transfer", {}),
    "vehicles, general prior": ("vehicles_general", {}), "vehicles, own prior": ("vehicles_own", {}),
}
VEHICLES = ("airplane", "automobile", "ship", "truck")  # seed 001's narrow domain (colorkit.recipes)
JUDGES = ("judge", "chroma_judge")
SWEEP_T = (1.0, 0.77, 0.58, 0.38, 0.2, 0.1)  # temperatures of the sepia-to-vivid sweep (then the mode)


@dataclass(frozen=True)
class Claim:
    """One seed's claim: variant a against variant b on a metric, a's value claimed 'higher' or 'lower'."""

    seed: str
    text: str
    metric: str  # "rmse_ab" | "colourfulness" | "colour_gap" | "top1:<judge>" | "frechet:<judge>"
    a: str
    b: str
    direction: str
    classes: tuple[str, ...] = ()  # only the test images of these classes (empty: all)


CLAIMS: tuple[Claim, ...] = (
    Claim("002", "a CNN colours better than a per-pixel MLP", "rmse_ab", "regressor", "mlp", "lower"),
    Claim("003", "L1 beats L2 (the generator alone)", "rmse_ab", "regressor_l1", "regressor", "lower"),
    Claim("003", "L1 beats L2: less averaging, more colour", "colourfulness", "regressor_l1", "regressor", "higher"),
    Claim("003", "the GAN's colourfulness is closer to the truth's than its generator's alone", "colour_gap",
          "gan", "regressor_l1", "lower"),
    Claim("003", "the GAN's colours are closer to real in the judge's features", "frechet:judge", "gan",
          "regressor_l1", "lower"),
    Claim("001", "rebalancing gives more colour", "colourfulness", "classifier", "unbalanced", "higher"),
    Claim("001", "... at a cost in RMSE", "rmse_ab", "classifier", "unbalanced", "higher"),
    Claim("001", "the annealed mean is more vivid than the mean (unbalanced)", "colourfulness", "unbalanced",
          "unbalanced, mean", "higher"),
    Claim("001", "the mode is more vivid than the annealed mean (unbalanced)", "colourfulness", "unbalanced, mode",
          "unbalanced", "higher"),
    Claim("001", "the annealed mean is more vivid than the mean (rebalanced)", "colourfulness", "classifier",
          "classifier, mean", "higher"),
    Claim("001", "a narrow domain's own prior beats a general one (vehicles)", "psnr", "vehicles, own prior",
          "vehicles, general prior", "higher", VEHICLES),
    Claim("001", "... and gives more colour (vehicles)", "colourfulness", "vehicles, own prior",
          "vehicles, general prior", "higher", VEHICLES),
    Claim("004", "classification (mode) beats regression for the judge", "top1:judge", "unbalanced, mode",
          "regressor", "higher"),
    Claim("004", "classification (mode) beats regression for the chroma judge", "top1:chroma_judge",
          "unbalanced, mode", "regressor", "higher"),
    Claim("004", "the annealed mean beats the mean for the chroma judge", "top1:chroma_judge", "unbalanced",
          "unbalanced, mean", "higher"),
    Claim("004", "the annealed mean beats the mode for the chroma judge", "top1:chroma_judge", "unbalanced",
          "unbalanced, mode", "higher"),
    Claim("004", "colorized beats grayscale for the judge", "top1:judge", "classifier", "grayscale", "higher"),
    Claim("004", "colorized beats grayscale for the chroma judge", "top1:chroma_judge", "classifier", "grayscale",
          "higher"),
)


def load_references(device: str | torch.device = "cpu", variants=None, judges=JUDGES
                    ) -> tuple[dict[str, Colorizer], dict[str, torch.nn.Module], list[str]]:
    """(colourings by name, judges by name, names of reference models not in the package); `variants`: only these
    colourings (names of VARIANTS; default all), `judges`: only these judges."""
    wanted = VARIANTS if variants is None else {v: VARIANTS[v] for v in variants}
    models, judge_models, missing = {}, {}, []
    for name in sorted({m for m, _ in wanted.values()}):
        try:
            models[name] = Colorizer.from_pretrained(name, device)
        except PretrainedMissing:
            missing.append(name)
    for name in sorted(judges):
        try:
            judge_models[name] = load_pretrained(name, device)[0]
        except PretrainedMissing:
            missing.append(name)
    colourings = {v: models[m] if not decoding else models[m].with_method(decoding["method"])
                  for v, (m, decoding) in wanted.items() if m in models}
    return colourings, judge_models, missing


@torch.no_grad()
def measure(images: torch.Tensor, labels: torch.Tensor, colourings: dict[str, Colorizer | Callable],
            judges: dict[str, torch.nn.Module], batch_size: int = 500, features: tuple[str, ...] = ("gan", "regressor_l1"),
            progress: bool = True, tta: int = 0) -> dict[str, dict[str, np.ndarray]]:
    """Per-image rmse_ab, psnr, colourfulness, grey fraction and each judge's correct (and penultimate features for
    `features` and the truth) of grayscale, the truth and each colouring (a Colorizer, or a callable Lab L -> ab).

    The one judged evaluation: the effects table, notebook 06 and the shipped models' cards. tta: the judges'
    test-time augmentation (judge._judge_batch: 0 none, 1 flips, 2 flips and shifts).
    """
    from tqdm.auto import tqdm

    names = ["grayscale", "truth", *colourings]
    if len(set(names)) != len(names):
        raise ValueError(f"measure: colouring names must differ from 'grayscale' and 'truth', got {list(colourings)}")
    device = next(next(iter(judges.values())).parameters()).device if judges else images.device
    out: dict[str, dict[str, list]] = {n: {} for n in names}
    for start in tqdm(range(0, images.shape[0], batch_size), desc="effects", disable=not progress):
        rgb = uint8_to_float(images[start:start + batch_size].to(device))
        y = labels[start:start + batch_size]
        L, ab_true = split_lab(rgb)
        for name in names:
            ab = {"grayscale": torch.zeros_like(ab_true), "truth": ab_true}.get(name)
            ab = colorizer_ab(colourings[name], rgb, L, f"measure: colouring {name!r}") if ab is None else ab
            x = rgb if name == "truth" else join_lab(L, ab)
            rec = out[name]
            rec.setdefault("rmse_ab", []).append(rmse_ab(ab, ab_true, reduction="none"))
            if name != "truth":
                rec.setdefault("psnr", []).append(psnr(x, rgb, reduction="none"))
            else:
                rec.setdefault("label", []).append(y)
            rec.setdefault("colourfulness", []).append(colorfulness(x, reduction="none"))
            rec.setdefault("grey_fraction", []).append(grey_fraction(ab, "none"))
            for jname, judge in judges.items():
                logits, feats = _judge_batch(judge, x, tta)
                rec.setdefault(f"correct:{jname}", []).append(logits.argmax(1).cpu() == y)
                if name in features or name == "truth":
                    rec.setdefault(f"features:{jname}", []).append(feats.cpu())
    keep = ("correct", "label")  # booleans and class indices stay as they are
    return {n: {k: torch.cat(v).cpu().numpy() if k.startswith(keep) else torch.cat(v).double().cpu().numpy()
                for k, v in rec.items()} for n, rec in out.items()}


def _frechet_pair(fa: np.ndarray, fb: np.ndarray, ft: np.ndarray):
    t = torch.from_numpy
    return lambda idx: (frechet_distance(t(fa[idx]), t(ft[idx])), frechet_distance(t(fb[idx]), t(ft[idx])))


def check_claim(claim: Claim, m: dict[str, dict[str, np.ndarray]], n_boot: int = 1000,
                classes: list[str] | None = None) -> dict[str, Any]:
    """One row of the table: both sides with 95 % intervals, the paired difference, its test and the verdict.

    classes: the class names of m["truth"]["label"], for claims about some classes only.
    """
    if claim.classes:
        wanted = np.isin(m["truth"]["label"], [list(classes).index(c) for c in claim.classes])
        m = {name: {k: v[wanted] for k, v in rec.items()} for name, rec in m.items()}
    a, b = m[claim.a], m[claim.b]
    kind, _, judge = claim.metric.partition(":")
    p = None
    if kind == "top1":
        r = stats.mcnemar(a[f"correct:{judge}"], b[f"correct:{judge}"])
        p = r["p"]
    elif kind == "frechet":
        key = f"features:{judge}"
        r = stats.paired_bootstrap(_frechet_pair(a[key], b[key], m["truth"][key]), len(a[key]), max(n_boot // 5, 50),
                                   bias_correct=True)
    elif kind == "colour_gap":
        ca, cb, ct = a["colourfulness"], b["colourfulness"], m["truth"]["colourfulness"]
        r = stats.paired_bootstrap(lambda idx: (abs(ca[idx].mean() - ct[idx].mean()),
                                                abs(cb[idx].mean() - ct[idx].mean())), len(ca), n_boot)
    else:
        r = stats.mean_paired_bootstrap(a[kind], b[kind], n_boot)
    return {"seed": claim.seed, "claim": claim.text, "metric": claim.metric, "a_name": claim.a, "b_name": claim.b,
            "direction": claim.direction, **{k: r[k] for k in ("a", "b", "diff", "a_ci", "b_ci", "diff_ci")},
            "p": p, "verdict": stats.verdict(r["diff"], r["diff_ci"], claim.direction, p)}


def effects_table(test_set, device: str | torch.device = "cpu", n_boot: int = 1000,
                  progress: bool = True) -> dict[str, Any]:
    """Measure every reference on test_set and test every claim whose models ship; returns rows and context."""
    colourings, judges, missing = load_references(device)
    m = measure(test_set.images, test_set.labels, colourings, judges, progress=progress)
    rows, skipped = [], []
    for claim in CLAIMS:
        needs = {claim.a, claim.b} - {"grayscale", "truth"}
        judge = claim.metric.partition(":")[2]
        if needs - set(colourings) or (judge and judge not in judges):
            skipped.append(claim.text)
            continue
        if claim.classes and not set(claim.classes) <= set(test_set.classes or ()):
            skipped.append(claim.text)
            continue
        rows.append(check_claim(claim, m, n_boot, list(test_set.classes or ())))
    return {"n_images": int(test_set.images.shape[0]), "data": test_set.name, "rows": rows, "missing": missing,
            "skipped_claims": skipped, "summary": summarize(m)}


def summarize(m: dict[str, dict[str, np.ndarray]]) -> dict[str, dict[str, float]]:
    """Each colouring's means of measure()'s per-image values (features and labels left out)."""
    return {name: {k: float(v.mean()) for k, v in rec.items() if not k.startswith(("features", "label"))}
            for name, rec in m.items()}


def temperature_sweep(images: torch.Tensor, colorizers: dict[str, Colorizer] | None = None,
                      device: str | torch.device = "cpu", temperatures=SWEEP_T) -> list[dict[str, Any]]:
    """The sepia-to-vivid sweep: mean colourfulness, RMSE ab and grey fraction of each classifier over uint8 images
    (N, 3, H, W) at each T, then at the mode (T = 0), one network pass each; then the truth (T None).

    colorizers: {name: Colorizer}; None: the reference classifiers the package holds (classifier_unbalanced,
    classifier)."""
    if colorizers is None:
        colorizers = {}
        for name in ("classifier_unbalanced", "classifier"):
            try:
                colorizers[name] = Colorizer.from_pretrained(name, device)
            except PretrainedMissing:
                continue
    rgb = uint8_to_float(images)
    L, ab_true = split_lab(rgb)
    rows = []
    for name, c in colorizers.items():
        for T, ab in c.sweep(L, [*temperatures, 0.0]).items():
            rows.append({"model": name, "T": T, "decoding": "mode" if T == 0 else f"T={T:g}",
                         "colourfulness": colorfulness(join_lab(L, ab)).item(), "rmse_ab": rmse_ab(ab, ab_true).item(),
                         "grey": grey_fraction(ab).item()})
    rows.append({"model": "truth", "T": None, "decoding": "truth", "colourfulness": colorfulness(rgb).item(),
                 "rmse_ab": 0.0, "grey": grey_fraction(ab_true).item()})
    return rows


def _fmt(x: float, metric: str) -> str:
    return f"{100 * x:.1f} %" if metric.startswith("top1") else f"{x:.2f}"


def format_effects(result: dict[str, Any]) -> str:
    """The table as Markdown: seed, claim, metric, A and B with 95 % intervals, A - B [95 %], test, verdict."""
    lines = [f"Effects on {result['n_images']:,} test images of {result['data']} (95 % intervals; paired tests)", "",
             "| seed | claim | metric | A | B | A - B [95 %] | verdict |", "| --- | --- | --- | --- | --- | --- | --- |"]
    for r in result["rows"]:
        f = lambda x: _fmt(x, r["metric"])  # noqa: E731
        test = f"McNemar p = {r['p']:.2g}" if r["p"] is not None else "bootstrap"
        lines.append(f"| {r['seed']} | {r['claim']} | {r['metric']} | {r['a_name']}: {f(r['a'])} "
                     f"[{f(r['a_ci'][0])}, {f(r['a_ci'][1])}] | {r['b_name']}: {f(r['b'])} [{f(r['b_ci'][0])}, "
                     f"{f(r['b_ci'][1])}] | {f(r['diff'])} [{f(r['diff_ci'][0])}, {f(r['diff_ci'][1])}], {test} | "
                     f"**{r['verdict']}** |")
    for name in result["missing"]:
        lines.append(f"\nnot measured: reference {name!r} is not in the package (train it: make reference)")
    return "\n".join(lines)


def format_summary(result: dict[str, Any]) -> str:
    """Every colouring's means: judges' top-1 (seed 004's ordering), colourfulness, RMSE ab, grey fraction."""
    judges = [j for j in JUDGES if any(f"correct:{j}" in r for r in result["summary"].values())]
    head = ["colouring", *[f"{j} top-1" for j in judges], "colourfulness", "RMSE ab", "grey pixels"]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    n = result["n_images"]
    for name, r in result["summary"].items():
        if name.startswith("vehicles"):  # trained on four classes: their claims use those test images only
            continue
        acc = [f"{100 * r[f'correct:{j}']:.1f} % [{', '.join(f'{100 * v:.1f}' for v in stats.wilson(round(r[f'correct:{j}'] * n), n))}]"
               for j in judges]
        lines.append(f"| {name} | " + " | ".join(acc + [f"{r['colourfulness']:.2f}", f"{r['rmse_ab']:.2f}",
                                                        f"{100 * r['grey_fraction']:.1f} %"]) + " |")
    return "\n".join(lines)


def changed_verdicts(result: dict[str, Any], expected: dict[str, Any]) -> list[str]:
    """Claims whose verdict differs from `expected` (an earlier result on the same images), one line each."""
    old = {(r["seed"], r["claim"]): r["verdict"] for r in expected["rows"]}
    new = {(r["seed"], r["claim"]): r["verdict"] for r in result["rows"]}
    lines = [f"{s} {c}: was {old[(s, c)]!r}, now {new.get((s, c), 'not measured')!r}"
             for (s, c) in old if new.get((s, c)) != old[(s, c)]]
    lines += [f"{s} {c}: new claim ({v!r}), not in the expected file" for (s, c), v in new.items() if (s, c) not in old]
    return lines
