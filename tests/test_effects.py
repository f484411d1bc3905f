"""The effects table: its statistics against scipy and brute force, its claims and verdicts, the Colorizer it uses."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from scipy import stats as sps

from colorkit import effects, effects_cli, stats
from colorkit.colorizer import Colorizer
from colorkit.models import build_model
from colorkit.targets import predict_colors


@pytest.mark.parametrize("n_ab,n_ba", [(0, 0), (3, 0), (10, 4), (40, 61), (300, 250)])
def test_mcnemar_matches_scipys_exact_binomial_test(n_ab, n_ba):
    n_same = 50
    a = np.array([1] * n_ab + [0] * n_ba + [1] * n_same + [0] * 7, bool)
    b = np.array([0] * n_ab + [1] * n_ba + [1] * n_same + [0] * 7, bool)
    r = stats.mcnemar(a, b)
    assert (r["n_ab"], r["n_ba"]) == (n_ab, n_ba)
    want = 1.0 if n_ab + n_ba == 0 else sps.binomtest(min(n_ab, n_ba), n_ab + n_ba, 0.5).pvalue
    assert r["p"] == pytest.approx(want, rel=1e-9, abs=1e-15)
    assert r["diff"] == pytest.approx(a.mean() - b.mean())
    lo, hi = r["diff_ci"]
    assert lo <= r["diff"] <= hi


@pytest.mark.parametrize("k,n", [(0, 10), (8, 10), (50, 100), (8213, 10000)])
def test_wilson_matches_scipy(k, n):
    ci = sps.binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    assert stats.wilson(k, n) == pytest.approx((ci.low, ci.high), abs=1e-9)


def test_vectorised_bootstrap_equals_a_plain_loop_over_the_same_resamples():
    rng = np.random.default_rng(1)
    x, y = rng.normal(1.0, 1.0, 200), rng.normal(0.8, 1.0, 200)
    fast = stats.mean_paired_bootstrap(x, y, n_boot=300, seed=5)
    idx = stats.bootstrap_indices(200, 300, seed=5)
    diffs = [x[i].mean() - y[i].mean() for i in idx]
    assert fast["diff_ci"] == pytest.approx(tuple(np.percentile(diffs, [2.5, 97.5])))
    generic = stats.paired_bootstrap(stats.mean_pair(x, y), 200, n_boot=300, seed=5)
    assert generic["diff_ci"] == pytest.approx(fast["diff_ci"]) and generic["a"] == pytest.approx(x.mean())


def test_bootstrap_interval_covers_a_known_difference_about_95_percent_of_the_time():
    rng = np.random.default_rng(0)
    hits = 0
    for trial in range(100):
        common = rng.normal(0, 1, 400)  # shared per-image difficulty: the pairing matters
        x, y = common + rng.normal(0.1, 0.5, 400), common + rng.normal(0.0, 0.5, 400)
        lo, hi = stats.mean_paired_bootstrap(x, y, n_boot=400, seed=trial)["diff_ci"]
        hits += lo <= 0.1 <= hi
    assert 85 <= hits <= 100


@pytest.mark.parametrize("diff,ci,direction,p,want", [
    (1.0, (0.5, 1.5), "higher", None, "holds"), (1.0, (0.5, 1.5), "lower", None, "reversed"),
    (1.0, (-0.1, 2.0), "higher", None, "within noise"), (-0.02, (-0.03, -0.01), "lower", 0.001, "holds"),
    (-0.02, (-0.03, -0.01), "higher", 0.001, "reversed"), (0.02, (0.01, 0.03), "higher", 0.2, "within noise")])
def test_verdicts(diff, ci, direction, p, want):
    assert stats.verdict(diff, ci, direction, p) == want


def _measurements(n=500, seed=0):
    rng = np.random.default_rng(seed)
    base = rng.uniform(5, 15, n)
    truth_col = rng.uniform(20, 40, n)
    y = rng.integers(0, 10, n)
    m = {"truth": {"rmse_ab": np.zeros(n), "colourfulness": truth_col, "correct:judge": np.ones(n, bool)},
         "good": {"rmse_ab": base, "colourfulness": truth_col - 2 + rng.normal(0, 1, n),
                  "correct:judge": rng.random(n) < 0.8},
         "bad": {"rmse_ab": base + 1 + rng.normal(0, 0.5, n), "colourfulness": truth_col - 10,
                 "correct:judge": rng.random(n) < 0.5},
         "same": {"rmse_ab": base + rng.normal(0, 0.5, n), "colourfulness": truth_col - 2 + rng.normal(0, 1, n),
                  "correct:judge": rng.random(n) < 0.8}}
    return m, y


@pytest.mark.parametrize("metric,a,b,direction,want", [
    ("rmse_ab", "good", "bad", "lower", "holds"), ("rmse_ab", "bad", "good", "lower", "reversed"),
    ("rmse_ab", "good", "same", "lower", "within noise"), ("colour_gap", "good", "bad", "lower", "holds"),
    ("colourfulness", "bad", "good", "higher", "reversed"), ("top1:judge", "good", "bad", "higher", "holds")])
def test_claims_on_made_up_measurements(metric, a, b, direction, want):
    m, _ = _measurements()
    row = effects.check_claim(effects.Claim("000", "made up", metric, a, b, direction), m, n_boot=300)
    assert row["verdict"] == want
    assert row["a_ci"][0] <= row["a"] <= row["a_ci"][1] and row["b_ci"][0] <= row["b"] <= row["b_ci"][1]


def test_a_claim_about_some_classes_uses_only_their_images():
    m, y = _measurements()
    m["truth"]["label"] = y
    vehicles = np.isin(y, [0, 1])
    m["mixed"] = {"rmse_ab": np.where(vehicles, m["good"]["rmse_ab"], m["bad"]["rmse_ab"] + 5)}
    m["other"] = {"rmse_ab": np.where(vehicles, m["bad"]["rmse_ab"], m["good"]["rmse_ab"])}
    classes = ["airplane", "automobile", *[f"c{i}" for i in range(2, 10)]]
    everywhere = effects.Claim("001", "x", "rmse_ab", "mixed", "other", "lower")
    on_vehicles = effects.Claim("001", "x", "rmse_ab", "mixed", "other", "lower", ("airplane", "automobile"))
    assert effects.check_claim(everywhere, m, 300, classes)["verdict"] == "reversed"
    row = effects.check_claim(on_vehicles, m, 300, classes)
    assert row["verdict"] == "holds" and row["a"] == pytest.approx(m["good"]["rmse_ab"][vehicles].mean())


def test_frechet_claim_prefers_features_drawn_like_the_truths():
    rng = np.random.default_rng(0)
    t = rng.normal(0, 1, (200, 12))  # few images, many features: resampling inflates the distance the most
    m = {"truth": {"features:judge": t}, "near": {"features:judge": t + rng.normal(0, 0.3, t.shape)},
         "far": {"features:judge": 1.5 * t + 1.0}}
    row = effects.check_claim(effects.Claim("003", "x", "frechet:judge", "near", "far", "lower"), m, n_boot=100)
    assert row["verdict"] == "holds" and row["a"] < row["b"]
    for side in ("a", "b"):  # resampling inflates a Frechet distance: the intervals are shifted back around it
        assert row[f"{side}_ci"][0] <= row[side] <= row[f"{side}_ci"][1], (side, row)


def test_every_claim_names_known_colourings_and_judges():
    known = set(effects.VARIANTS) | {"grayscale", "truth"}
    for c in effects.CLAIMS:
        assert {c.a, c.b} <= known, c
        judge = c.metric.partition(":")[2]
        assert not judge or judge in effects.JUDGES, c


def test_changed_verdicts_and_the_check_option(tmp_path, monkeypatch, capsys):
    rows = [{"seed": "002", "claim": "c1", "metric": "rmse_ab", "a_name": "a", "b_name": "b", "a": 1.0, "b": 2.0,
             "diff": -1.0, "a_ci": (0.9, 1.1), "b_ci": (1.9, 2.1), "diff_ci": (-1.2, -0.8), "p": None,
             "verdict": "holds", "direction": "lower"}]
    result = {"n_images": 10, "data": "made up", "rows": rows, "missing": [], "skipped_claims": [], "summary": {}}
    expected = json.loads(json.dumps(result))
    expected["rows"][0]["verdict"] = "within noise"
    assert effects.changed_verdicts(result, expected) == ["002 c1: was 'within noise', now 'holds'"]
    assert effects.changed_verdicts(result, json.loads(json.dumps(result))) == []

    class _Set:
        name, images = "made up", torch.zeros(10, 3, 32, 32, dtype=torch.uint8)

    monkeypatch.setattr("colorkit.effects_cli.load_dataset", lambda *a, **k: _Set())
    monkeypatch.setattr("colorkit.effects_cli.effects_table", lambda *a, **k: json.loads(json.dumps(result)))
    path = tmp_path / "expected.json"
    path.write_text(json.dumps(expected))
    assert effects_cli.main(["--out", str(tmp_path / "o"), "--no-sweep", "--check", str(path)]) == 1
    assert "verdict changed: 002 c1" in capsys.readouterr().err
    path.write_text(json.dumps(result))
    assert effects_cli.main(["--out", str(tmp_path / "o"), "--no-sweep", "--check", str(path)]) == 0
    assert json.loads((tmp_path / "o" / "effects.json").read_text())["rows"][0]["verdict"] == "holds"
    assert effects_cli.main(["--limit", "0"]) == 2
    from colorkit.cli import main as colorkit_main

    assert colorkit_main(["effects", "--n-boot", "0"]) == 2  # `colorkit effects` is the same command
    assert "--n-boot must be >= 1" in capsys.readouterr().err
    (tmp_path / "bad.json").write_text("{")
    assert effects_cli.main(["--check", str(tmp_path / "bad.json")]) == 2


def test_colorizer_reads_its_model_as_predict_colors_does():
    torch.manual_seed(0)
    model = build_model("zhang_simplified", width=0.125).eval()
    images = (torch.rand(3, 3, 24, 40) * 255).to(torch.uint8)
    c = Colorizer(model, name="tiny")
    assert torch.equal(c(images), predict_colors(model, images, "lab", T=0.38))
    hot = c.with_T(0.1)
    assert hot.T == 0.1 and hot.model is model and c.T == 0.38
    assert torch.equal(hot(images, output="ab"), predict_colors(model, images, "lab", T=0.1, output="lab_ab"))
    mode = c.with_method("mode")
    assert torch.equal(mode(images), predict_colors(model, images, "lab", method="mode"))
    assert (c.label, mode.label, c.with_method("mean").label) == ("tiny (T=0.38)", "tiny (mode)", "tiny (mean)")
    with pytest.raises(ValueError, match="T must be a positive finite number"):
        c.with_T(float("nan"))
    with pytest.raises(ValueError, match="unknown method 'median'"):
        c.with_method("median")
    with pytest.raises(ValueError, match="output must be 'rgb' or 'ab'"):
        c(images, output="lab")


def test_colorizer_refuses_a_judge():
    with pytest.raises(ValueError, match="not a colorizer"):
        Colorizer.from_pretrained("judge", "cpu")


def test_temperature_sweep_equals_each_decoding_measured_on_its_own():
    torch.manual_seed(0)
    c = Colorizer(build_model("zhang_simplified", width=0.125).eval(), "cls")
    images = torch.randint(0, 256, (6, 3, 32, 32), dtype=torch.uint8, generator=torch.Generator().manual_seed(1))
    rows = effects.temperature_sweep(images, {"cls": c}, temperatures=(1.0, 0.38))
    assert [(r["model"], r["T"], r["decoding"]) for r in rows] == [
        ("cls", 1.0, "T=1"), ("cls", 0.38, "T=0.38"), ("cls", 0.0, "mode"), ("truth", None, "truth")]
    rgb = images.float() / 255
    from colorkit.color import join_lab, split_lab
    from colorkit.metrics import colorfulness, rmse_ab
    L, ab_true = split_lab(rgb)
    for r, one in zip(rows, (c.with_T(1.0), c.with_T(0.38), c.with_method("mode"))):
        ab = predict_colors(one.model, images, T=one.T, method=one.method, output="lab_ab")
        assert r["colourfulness"] == pytest.approx(colorfulness(join_lab(L, ab)).item(), rel=1e-5)
        assert r["rmse_ab"] == pytest.approx(rmse_ab(ab, ab_true).item(), rel=1e-5)
        assert r["grey"] == pytest.approx(float(np.mean(np.hypot(*ab.numpy().transpose(1, 0, 2, 3)) < 5)))
    assert rows[-1]["colourfulness"] == pytest.approx(colorfulness(rgb).item()) and rows[-1]["rmse_ab"] == 0.0
    assert rows[-1]["grey"] == pytest.approx(float(np.mean(np.hypot(*ab_true.numpy().transpose(1, 0, 2, 3)) < 5)))
    assert 0 < rows[-1]["grey"] < 0.05  # random colours: a few grey pixels


class _GreyClassifier(torch.nn.Module):
    """Logits peaked at the bin nearest ab = (0, 0) (a grey mode), and flat elsewhere."""

    output_kind = "logits"

    def __init__(self):
        super().__init__()
        from colorkit.quantize import ab_bins
        self.register_buffer("peak", (ab_bins().norm(dim=1) == ab_bins().norm(dim=1).min()).float())
        self.anchor = torch.nn.Parameter(torch.zeros(()))

    def forward(self, L):  # (B, 1, H, W) -> (B, 313, H, W)
        return (3.0 * self.peak)[None, :, None, None].expand(L.shape[0], -1, *L.shape[-2:]) + 0 * self.anchor


def test_temperature_sweep_counts_grey_pixels():
    images = torch.randint(0, 256, (2, 3, 8, 8), dtype=torch.uint8, generator=torch.Generator().manual_seed(2))
    rows = effects.temperature_sweep(images, {"grey": Colorizer(_GreyClassifier())}, temperatures=(1.0,))
    assert [r["grey"] for r in rows[:2]] == [0.0, 1.0]  # the mean of the flat part is coloured; the mode is grey
