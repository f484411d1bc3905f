"""The pretrained models the kit ships: files match their cards, predictions match, the recipe still runs."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import colorkit as ck
from colorkit import pretrained as P
from colorkit import pretrained_train

CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
# The shared CIFAR-10 JPEG copy, only through an explicit path (CI sets it; a user has none).
CIFAR = os.environ.get("COLORKIT_TEST_CIFAR10")


@pytest.mark.parametrize("name", P.NAMES)
def test_shipped_model_matches_its_card(name):
    card = P.read_card(name)
    pt, _ = P.weights_path(name)
    assert P.sha256_file(pt) == card["sha256"] and pt.stat().st_size == card["bytes"]
    for key in ("data", "command", "epochs", "wall_time_s", "hardware", "metrics", "commit", "parameters"):
        assert card.get(key) is not None, key
    n = "20,000" if name.startswith("vehicles") else "50,000"  # seed 001's narrow domain: the four vehicle classes
    assert card["data"].startswith("CIFAR-10 (JPEG copy)") and card["data"].endswith(f"{n} training images")
    model, _ = P.load_pretrained(name, device="cpu")
    assert sum(p.numel() for p in model.parameters()) == card["parameters"]
    got = P.check_output(model, model.spec)
    np.testing.assert_allclose(got, card["check"]["output"], rtol=1e-4, atol=1e-4)


def test_shipped_models_fit_the_size_budget():
    total = sum(P.weights_path(n)[0].stat().st_size for n in P.NAMES)
    assert total <= 64e6, f"{total / 1e6:.1f} MB"  # issue 17: every shipped model together at most 64 MB


def test_chroma_judge_sees_no_class_in_grayscale():
    """The chroma judge looks only at Lab a, b: every grey image of any lightness gets the same answer."""
    judge, card = P.load_pretrained("chroma_judge", device="cpu")
    grey = torch.linspace(0, 1, 7)[:, None, None, None].expand(7, 3, 32, 32)
    rgb = torch.rand(7, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        grey_logits, rgb_logits = judge(grey), judge(rgb)
    # float32 Lab of a grey pixel has |ab| ~ 1e-5, not exactly 0: logits agree to 1e-3, the answer exactly
    assert torch.allclose(grey_logits, grey_logits[:1].expand_as(grey_logits), atol=1e-3)
    assert (grey_logits.argmax(1) == grey_logits[0].argmax()).all()
    assert (rgb_logits - rgb_logits[:1]).abs().max() > 0.1  # and colour does move it
    assert card["metrics"]["test_top1"] - card["metrics"]["test_top1_grayscale"] >= 0.30


def test_pretrained_classifier_gives_colour_to_a_real_photo():
    """The hero colorizer on a photo it never saw (scikit-image's coffee): coloured, and more so as T falls."""
    c = ck.Colorizer.from_pretrained("classifier", device="cpu")
    photo = ck.sample_photo("coffee", size=64)  # (1, 3, 64, 64) in [0, 1]
    vivid = ck.metrics.colorfulness(c.with_T(0.38)(photo)).item()
    mean = ck.metrics.colorfulness(c.with_T(1.0)(photo)).item()  # T = 1: the plain mean
    assert vivid > 10 and vivid > mean, (vivid, mean)


def test_tampered_weights_are_refused(tmp_path):
    for suffix in (".pt", ".json"):
        shutil.copy(P.weights_path("judge")[0].with_suffix(suffix), tmp_path / f"judge{suffix}")
    data = bytearray((tmp_path / "judge.pt").read_bytes())
    data[-100] ^= 0xFF
    (tmp_path / "judge.pt").write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"judge\.pt does not match its card's sha256"):
        P.load_pretrained("judge", device="cpu", folder=tmp_path)


def test_unknown_and_missing_models_say_what_to_do(tmp_path):
    with pytest.raises(ValueError, match="unknown model 'zebra'; valid names: judge, chroma_judge, classifier"):
        P.load_pretrained("zebra")
    with pytest.raises(P.PretrainedMissing, match="make pretrained"):
        P.load_pretrained("judge", folder=tmp_path)


def _fake_cifar(root: Path, per_class: dict[str, int]) -> Path:
    """A train/<class>/NNNN.png, test/<class>/NNNN.png folder of random 32x32 images with class-dependent tints."""
    g = np.random.default_rng(0)
    for split, n in per_class.items():
        for k, cls in enumerate(CLASSES):
            (root / split / cls).mkdir(parents=True)
            for i in range(n):
                img = g.integers(0, 256, (32, 32, 3)).astype(np.uint8) // 2 + np.uint8(12 * k)
                Image.fromarray(img).save(root / split / cls / f"{i:04d}.png")
    return root


def test_recipe_runs_at_a_tiny_size_and_resumes(tmp_path, capsys):
    """The exact commands of `make pretrained`, on 40 images, export cards that load; a rerun resumes."""
    data = _fake_cifar(tmp_path / "cifar", {"train": 4, "test": 2})
    common = ["--data", str(data), "--work", str(tmp_path / "work"), "--out", str(tmp_path / "out"), "--epochs", "1"]
    for name in P.NAMES:
        assert pretrained_train.main([name, *common]) == 0
        model, card = P.load_pretrained(name, device="cpu", folder=tmp_path / "out")
        assert card["command"] == f"python -m colorkit.pretrained_train {name} --data cifar --epochs 1"
        n = 16 if name.startswith("vehicles") else 40  # four of the ten classes
        assert card["epochs"] == 1 and card["data"].endswith(f"{n} training images")
    classifier = json.loads((tmp_path / "out" / "classifier.json").read_text())
    assert "judge_gap_recovered" in classifier["metrics"]  # judged by the judge trained just before
    before = (tmp_path / "work" / "full" / "regressor.pt").stat().st_mtime_ns
    assert pretrained_train.main(["regressor", *common]) == 0  # resumes: the epoch is done, nothing retrained
    assert (tmp_path / "work" / "full" / "regressor.pt").stat().st_mtime_ns == before
    # --recard: the same weights judged again by the judges shipped now (both judges, each named by its sha256)
    card_path = tmp_path / "out" / "regressor.json"
    old = json.loads(card_path.read_text())
    old["metrics"] = {k: v for k, v in old["metrics"].items() if not k.startswith("chroma_judge")}
    card_path.write_text(json.dumps(old))
    assert pretrained_train.main(["regressor", "--recard", *common]) == 0
    new = json.loads(card_path.read_text())
    assert new["sha256"] == old["sha256"] and new["history"] == old["history"]
    chroma = json.loads((tmp_path / "out" / "chroma_judge.json").read_text())
    assert new["metrics"]["chroma_judge_sha256"] == chroma["sha256"] and "chroma_judge_top1_colorized" in new["metrics"]
    assert pretrained_train.main(["judge", "--recard", *common]) == 0
    judge = json.loads((tmp_path / "out" / "judge.json").read_text())
    assert judge["metrics"]["tta"] == 2 and set(judge["headline"]) == {"top1", "top1_grayscale"}


def test_recipe_refuses_bad_sizes(capsys):
    assert pretrained_train.main(["judge", "--epochs", "0"]) == 2
    assert "--epochs must be >= 1" in capsys.readouterr().err


@pytest.mark.skipif(not CIFAR, reason="set COLORKIT_TEST_CIFAR10 to the CIFAR-10 JPEG copy (CI does)")
def test_real_data_judge_accuracy_matches_its_card():
    """On the first 1,000 test images of the JPEG copy, the shipped judge is within 3 points of its card."""
    judge, card = ck.load_pretrained("judge", device="cpu")
    test = ck.load_dataset(CIFAR, "test", limit=1000)
    from colorkit.judge import judge_images

    acc = judge_images(judge, test.images, test.labels, tta=card["metrics"]["tta"])["top1"]
    assert abs(acc - card["metrics"]["test_top1"]) < 0.03, acc


@pytest.mark.skipif(not CIFAR, reason="set COLORKIT_TEST_CIFAR10 to the CIFAR-10 JPEG copy (CI does)")
def test_real_data_histogram_judge_pilot_runs_and_grayscale_is_chance():
    """benchmarks/pilot_histogram_judge.py at a small size: grayscale has one histogram, so one answer (~10 %)."""
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, "benchmarks/pilot_histogram_judge.py", "--data", CIFAR, "--limit", "1000",
                          "--test-limit", "500", "--epochs", "2"], cwd=root, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    rows = {line.split()[0]: float(line.split()[1]) for line in out.stdout.splitlines() if line.endswith(" %")}
    assert set(rows) == {"truth", "grayscale", "mlp", "regressor", "classifier_unbalanced", "classifier", "gan"}
    assert 5.0 <= rows["grayscale"] <= 15.0 and rows["truth"] > rows["grayscale"], rows


def test_colorize_command_works_without_a_model(tmp_path, capsys):
    """`colorkit colorize PHOTO -o OUT` on a fresh install: the pretrained classifier, a coloured PNG, exit 0."""
    from colorkit.cli import main

    photo = ck.sample_photo("coffee", size=96)[0]  # (3, 96, 96) in [0, 1]
    gray = (photo.mean(0) * 255).round().to(torch.uint8).numpy()
    Image.fromarray(gray).save(tmp_path / "old.png")
    assert main(["colorize", str(tmp_path / "old.png"), "-o", str(tmp_path / "out")]) == 0
    assert "pretrained classifier" in capsys.readouterr().out
    out = torch.from_numpy(np.array(Image.open(tmp_path / "out" / "old_colorized.png"))).permute(2, 0, 1)
    assert out.shape == (3, 96, 96)
    assert ck.metrics.colorfulness(out[None].float() / 255).item() > 5  # colour where the input had none


def test_pretrained_command_lists_every_model(capsys):
    from colorkit.cli import main

    assert main(["pretrained"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == list(P.NAMES)
    assert all("CIFAR-10 (JPEG copy)" in line for line in lines)
