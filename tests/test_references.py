"""colorkit.references: a seed's effects rows in a notebook, and the reference's curve beside yours."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from colorkit import references
from colorkit.data import ImageSet
from colorkit.effects import CLAIMS, check_claim, load_references, measure
from colorkit.pretrained import read_card

CIFAR_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def _labelled(n: int = 40, name: str = "CIFAR-10 (test fixture)") -> ImageSet:
    g = torch.Generator().manual_seed(3)
    images = torch.randint(0, 256, (n, 3, 32, 32), dtype=torch.uint8, generator=g)
    labels = torch.arange(n, dtype=torch.int64) % 10
    return ImageSet(images, labels, CIFAR_CLASSES, name, "tests")


def test_without_cifar_the_committed_rows_of_the_seed_are_shown_and_say_so():
    committed = json.loads((references.repo_root(references.__file__) / references.COMMITTED).read_text())
    embedded = ImageSet(torch.zeros(4, 3, 32, 32, dtype=torch.uint8), None, [], "embedded photo patches", "tests")
    got = references.seed_effects("003", embedded)
    assert got["rows"] == [r for r in committed["rows"] if r["seed"] == "003"]
    assert len(got["rows"]) == sum(c.seed == "003" for c in CLAIMS)
    assert got["source"].startswith("committed") and "10,000" in got["source"]
    assert "| 003 |" in references.effects_markdown(got) and "committed" in references.effects_markdown(got)


def test_on_labelled_cifar_the_rows_are_measured_and_equal_the_effects_tables():
    test = _labelled()
    got = references.seed_effects(("002", "003"), test, n_boot=200)
    assert got["source"].startswith("measured here") and got["n_images"] == 40
    colourings, judges, _ = load_references()
    m = measure(test.images, test.labels, colourings, judges, progress=False)
    for claim in [c for c in CLAIMS if c.seed in ("002", "003")]:
        want = check_claim(claim, m, 200, CIFAR_CLASSES)
        have = references.row(got, claim.text)
        for key in ("a", "b", "diff"):  # bootstrap intervals differ only by resampling: the point values must not
            assert have[key] == pytest.approx(want[key], rel=1e-6, abs=1e-9), (claim.text, key)


def test_unknown_seeds_and_claims_get_clear_errors():
    with pytest.raises(ValueError, match="seeds"):
        references.seed_effects("009")
    with pytest.raises(KeyError, match="no single row"):
        references.row(references.seed_effects("002"), "L1 beats")


@pytest.mark.parametrize("name", ["classifier", "vehicles_own", "gan"])
def test_reference_curve_counts_steps_from_the_card(name):
    card = read_card(name)
    n_train = 20000 if name.startswith("vehicles") else 50000
    curve = references.reference_curve(name)
    per_epoch = math.ceil(n_train / card["recipe"]["batch_size"])
    assert curve["steps"] == [per_epoch * (i + 1) for i in range(card["epochs"])]
    assert np.allclose(curve["val_rmse_ab"], card["history"]["val_rmse_ab"])


def test_history_curve_and_the_plot():
    import matplotlib
    matplotlib.use("Agg")
    from colorkit.train import History

    steps, values = references.history_curve(History(val_rmse_ab=[12.0, 11.0, 10.5]), n_train=100, batch_size=32)
    assert steps == [4, 8, 12] and values == [12.0, 11.0, 10.5]
    ax = references.plot_against_reference({"mine": (steps, values)}, ["regressor", "mlp"])
    assert len(ax.lines) == 3 and ax.get_xscale() == "log"


def test_claims_pick_rows_by_their_text_and_load_only_what_they_compare(monkeypatch):
    import colorkit.effects as effects

    loaded = []
    real = effects.Colorizer.from_pretrained
    monkeypatch.setattr(effects.Colorizer, "from_pretrained", lambda name, *a, **k: loaded.append(name) or real(name, *a, **k))
    got = references.seed_effects("003", _labelled(), n_boot=100, claims=["L1 beats L2"])
    assert [r["claim"] for r in got["rows"]] == [c.text for c in CLAIMS if c.text.startswith("L1 beats L2")]
    assert sorted(loaded) == ["regressor", "regressor_l1"]
    committed = references.seed_effects("003", None, claims=["the GAN's colourfulness"])
    assert [r["claim"] for r in committed["rows"]] == ["the GAN's colourfulness is closer to the truth's than its generator's alone"]
    with pytest.raises(ValueError, match="unmatched"):
        references.seed_effects("003", None, claims=["a CNN colours better"])
