"""The colorization Turing test: seeded trials, recording, fooling rate, Wilson interval, JSON, the widget."""
from __future__ import annotations

import json
import math

import pytest
import torch
from scipy.stats import binomtest

from colorkit.turing import TuringTest, colorful_observer, mean_chroma, turing_widget, wilson_interval


def _batches(n=12, size=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    real = torch.randint(0, 256, (n, 3, size, size), generator=g, dtype=torch.uint8)
    gray = real.float().mean(1, keepdim=True).round().to(torch.uint8).repeat(1, 3, 1, 1)  # a "colorizer": no colour
    return real, gray


def test_wilson_interval_hand_computed_and_scipy():
    lo, hi = wilson_interval(5, 10)  # p = 0.5, z = 1.96: 0.5 -+ 1.96 / 1.38415 * sqrt(0.025 + 0.0096)
    assert lo == pytest.approx(0.236593, abs=1e-5) and hi == pytest.approx(0.763407, abs=1e-5)
    assert wilson_interval(0, 10)[0] == pytest.approx(0.0, abs=1e-12)
    assert wilson_interval(0, 10)[1] == pytest.approx(1.959964 ** 2 / (10 + 1.959964 ** 2), rel=1e-6)
    for k, n, c in [(3, 40, 0.95), (17, 50, 0.95), (50, 50, 0.9), (1, 7, 0.99)]:
        ref = binomtest(k, n).proportion_ci(confidence_level=c, method="wilson")
        assert wilson_interval(k, n, c) == pytest.approx((ref.low, ref.high), abs=1e-9)
    assert wilson_interval(0, 0) == (0.0, 1.0)
    with pytest.raises(ValueError, match="successes"):
        wilson_interval(11, 10)
    with pytest.raises(ValueError, match="confidence"):
        wilson_interval(1, 10, confidence=1.5)


def test_trials_are_seeded_and_balanced():
    real, fake = _batches(40)
    a, b, c = TuringTest(real, fake, seed=0), TuringTest(real, fake, seed=0), TuringTest(real, fake, seed=1)
    key = lambda t: [(x.image, x.real_side) for x in t.trials]  # noqa: E731
    assert key(a) == key(b) and key(a) != key(c)
    assert sorted(x.image for x in a.trials) == list(range(40))  # each image once
    sides = [x.real_side for x in a.trials]
    assert 8 <= sides.count("left") <= 32  # seeded coin flips, not all on one side
    left, right = a.pairs()
    for k, t in enumerate(a.trials):  # the batch view agrees with the per-trial view
        one_left, one_right = a.pair(k)
        assert torch.equal(left[k], one_left) and torch.equal(right[k], one_right)
        shown_real = one_left if t.real_side == "left" else one_right
        assert torch.equal(shown_real, real[t.image])
    assert len(TuringTest(real, fake, n_trials=5)) == 5


def test_record_rate_interval_and_json(tmp_path):
    real, fake = _batches(10)
    test = TuringTest(real, fake, seed=3)
    assert math.isnan(test.fooling_rate()) and test.interval() == (0.0, 1.0)
    fooled = []
    for k in range(10):  # pick the fake side on trials 0, 3, 6, 9, else the real one
        real_side = test.trials[k].real_side
        wrong = "right" if real_side == "left" else "left"
        fooled.append(test.record(wrong if k % 3 == 0 else (1 if real_side == "right" else 0)))
    assert fooled == [k % 3 == 0 for k in range(10)] and test.done
    assert test.fooled == 4 and test.fooling_rate() == pytest.approx(0.4)
    assert test.interval() == pytest.approx(wilson_interval(4, 10))
    with pytest.raises(ValueError, match="already answered"):
        test.record("left")
    record = test.to_json(tmp_path / "turing.json", model="gray")
    on_disk = json.loads((tmp_path / "turing.json").read_text())
    assert on_disk == json.loads(json.dumps(record))
    assert on_disk["fooled"] == 4 and on_disk["n_trials"] == 10 and on_disk["model"] == "gray"
    assert [t["fooled"] for t in on_disk["trials"]] == fooled


def test_bad_inputs_are_named():
    real, fake = _batches(4)
    with pytest.raises(ValueError, match="same shape"):
        TuringTest(real, fake[:3])
    with pytest.raises(ValueError, match="uint8"):
        TuringTest(real.float(), fake)
    with pytest.raises(ValueError, match="n_trials"):
        TuringTest(real, fake, n_trials=5)
    with pytest.raises(ValueError, match="choice"):
        TuringTest(real, fake).record("middle")


def test_colorful_observer_catches_a_gray_colorizer():
    real, gray = _batches(30)
    chroma = mean_chroma(real)
    assert chroma.shape == (30,) and (chroma > 10).all()
    assert mean_chroma(gray).abs().max() < 1.0  # gray has no chroma (up to rounding)
    test = TuringTest(real, gray, seed=0).run(colorful_observer)
    assert test.done and test.fooled == 0  # it always finds the real one
    swapped = TuringTest(gray, real, seed=0).run(colorful_observer)  # "real" is gray now: always fooled
    assert swapped.fooled == 30 and swapped.interval()[0] > 0.85


def test_widget_records_clicks():
    pytest.importorskip("ipywidgets")
    real, fake = _batches(3)
    test, finished = TuringTest(real, fake, seed=0), []
    ui = turing_widget(test, on_done=finished.append)
    buttons = [col.children[1] for col in ui.children[1].children]
    status = ui.children[2]
    left_png = ui.children[1].children[0].children[0].value
    assert left_png[:4] == b"\x89PNG" and "trial 1/3" in status.value
    for _ in range(3):
        real_side = test.trials[test.position].real_side
        buttons[0 if real_side == "left" else 1].click()  # a perfect observer
    assert test.done and test.fooled == 0 and finished == [test]
    assert all(b.disabled for b in buttons) and status.value.startswith("done")
