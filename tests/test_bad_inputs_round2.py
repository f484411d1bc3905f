"""Bad input, round two (issue 19): output names, races, Ctrl-C, hints files, training arguments, priors.

Each case gives a one-line error naming the file or argument and the problem, or the right result; exit codes as
README says (0 done, 1 some inputs skipped, 2 bad arguments or data, 130 interrupted). Every file is made here.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from colorkit import cli
from colorkit import train_cli
from colorkit.checkpoint import load_checkpoint
from colorkit.data import ImageSet
from colorkit.loop import TrainingDiverged
from colorkit.train import TrainConfig, fit
from conftest import HintOracle

torch.set_num_threads(1)


def _photo(path: Path, h: int = 24, w: int = 32, seed: int = 0, grey: bool = False) -> Path:
    rng = np.random.default_rng(seed)
    rgb = rng.integers(0, 256, (h, w, 1 if grey else 3), dtype=np.uint8).repeat(3 if grey else 1, axis=2)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rgb).save(path)
    return path


def _one_line_error(capsys, *needles: str) -> str:
    """The captured stderr: exactly one error line (argparse's usage line aside), no traceback, with each needle."""
    text = capsys.readouterr().err
    lines = [line for line in text.strip().splitlines() if "error" in line]
    assert len(lines) == 1 and "Traceback" not in text, text
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


def _colorize(*args: str) -> int:
    return cli.main(["colorize", *args, "--device", "cpu"])


# ---------------------------------------------------------------- output names, races, Ctrl-C

def test_output_names_depend_on_the_photo_alone(checkpoint, tmp_path, capsys):
    coll, out = tmp_path / "coll", tmp_path / "out"
    for name, seed in (("a.jpg", 0), ("a.png", 1), ("a_2.png", 2)):
        _photo(coll / name, seed=seed)
    assert _colorize(str(coll), "-o", str(out), "--model", str(checkpoint)) == 0
    assert sorted(p.name for p in out.iterdir()) == ["a.jpg_colorized.png", "a.png_colorized.png",
                                                     "a_2_colorized.png"]
    for p in out.iterdir():
        p.write_bytes(b"marker")
    assert _colorize(str(coll / "a.png"), "-o", str(out), "--model", str(checkpoint), "--overwrite") == 0
    assert (out / "a.jpg_colorized.png").read_bytes() == b"marker"  # a.jpg's output is not touched
    with Image.open(out / "a.png_colorized.png") as im:  # a.png's own output is the one replaced
        assert im.size == (32, 24)
    capsys.readouterr()


def test_an_output_that_appears_meanwhile_is_kept(checkpoint, tmp_path, monkeypatch, capsys):
    import colorkit.colorize as cz

    real = cz.colorize_images

    def another_run_writes_first(model, images, *args, **kwargs):  # the other run's file lands after planning
        (tmp_path / "out" / "cat_colorized.png").write_bytes(b"the other run's output")
        return real(model, images, *args, **kwargs)

    monkeypatch.setattr(cz, "colorize_images", another_run_writes_first)
    _photo(tmp_path / "in" / "cat.png"), _photo(tmp_path / "in" / "dog.png", seed=1)
    assert _colorize(str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--model", str(checkpoint)) == 1
    report = capsys.readouterr().out
    assert (tmp_path / "out" / "cat_colorized.png").read_bytes() == b"the other run's output"
    assert "colorized 1 photo(s)" in report and "cat_colorized.png appeared while this run was working" in report
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["cat_colorized.png", "dog_colorized.png"]


def test_two_photos_with_one_output_name_write_it_once(checkpoint, tmp_path, capsys):
    first, second = _photo(tmp_path / "x" / "a.png"), _photo(tmp_path / "y" / "a.png", seed=1)
    assert _colorize(str(first), str(second), "-o", str(tmp_path / "out"), "--model", str(checkpoint),
                     "--overwrite") == 1
    assert f"skipped {second}: its output {tmp_path / 'out' / 'a_colorized.png'} is also {first}'s" in \
        capsys.readouterr().out


def test_ctrl_c_stops_the_batch_with_the_report_and_exit_130(checkpoint, tmp_path, monkeypatch, capsys):
    import colorkit.colorize as cz

    real, calls = cz.colorize_images, []

    def interrupted_on_the_second(model, images, *args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(model, images, *args, **kwargs)

    monkeypatch.setattr(cz, "colorize_images", interrupted_on_the_second)
    for i, name in enumerate(("a.png", "b.png", "c.png")):
        _photo(tmp_path / "in" / name, seed=i)
    out = tmp_path / "out"
    assert _colorize(str(tmp_path / "in"), "-o", str(out), "--model", str(checkpoint), "--batch-size", "1") == 130
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err and "interrupted (Ctrl-C)" in captured.err
    assert "colorized 1 photo(s)" in captured.out and "interrupted (Ctrl-C): 2 photo(s) not colorized" in captured.out
    assert [p.name for p in out.iterdir()] == ["a_colorized.png"]  # whole, and no temporary file left behind
    with Image.open(out / "a_colorized.png") as im:
        im.load()


# ---------------------------------------------------------------- hints files

def _grey_photo(folder: Path, h: int = 64, w: int = 64) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((h, w, 3), 128, np.uint8)).save(folder / "grey.png")
    return folder / "grey.png"


def test_more_hints_than_pixels_are_refused_fast(tmp_path, capsys):
    from colorkit.colorize import colorize_photos

    photo = _grey_photo(tmp_path / "in")
    hints = tmp_path / "hints.json"
    hints.write_text(json.dumps([{"x": i % 64, "y": (i // 64) % 64, "color": "#ff8800"} for i in range(100_000)]))
    start = time.perf_counter()
    with pytest.raises(ValueError, match=rf"hints \({hints}\) for grey.png: 100,000 points for a 64 x 64 image; "
                                         r"expected at most 4,096 \(one a pixel\)"):
        colorize_photos(photo, tmp_path / "out", HintOracle(), image_size=64, hints=str(hints), progress=False)
    assert time.perf_counter() - start < 5  # was 249 s
    assert not (tmp_path / "out").exists()


def test_hints_are_converted_in_one_batched_call(tmp_path, monkeypatch):
    import colorkit.hint_points as hints_module
    from colorkit.colorize import colorize_photos

    calls = []
    real = hints_module.color.rgb_to_lab

    class CountingColor:
        @staticmethod
        def rgb_to_lab(rgb):
            calls.append(tuple(rgb.shape))
            return real(rgb)

    monkeypatch.setattr(hints_module, "color", CountingColor)
    photo = _grey_photo(tmp_path / "in")
    hints = tmp_path / "hints.json"
    hints.write_text(json.dumps([{"x": i % 64, "y": i // 64, "color": "#ff8800"} for i in range(4096)]))
    report = colorize_photos(photo, tmp_path / "out", HintOracle(), image_size=64, hints=str(hints), progress=False)
    assert len(report.written) == 1 and calls == [(1, 3, 4096, 1)]  # every point's colour, once, in one call


@pytest.mark.parametrize("case", ["/dev/zero", "folder", "over 10 MB"])
def test_hints_files_that_are_not_small_regular_files(hint_checkpoint, tmp_path, capsys, case):
    photo = _photo(tmp_path / "cat.png")
    path = {"/dev/zero": Path("/dev/zero"), "folder": tmp_path, "over 10 MB": tmp_path / "big.json"}[case]
    if case == "over 10 MB":
        path.write_bytes(b"[" + b" " * 10_000_000 + b"]")
    assert _colorize(str(photo), "-o", str(tmp_path / "out"), "--model", str(hint_checkpoint), "--hints",
                     str(path)) == 2
    why = {"/dev/zero": "is not a regular file", "folder": "is a folder",
           "over 10 MB": "is larger than 10 MB, the limit for a hints file"}[case]
    _one_line_error(capsys, f"hints: {path} {why}")


@pytest.mark.parametrize("point, words", [
    ({"x": 10 ** 400, "y": 1, "ab": [1, 2]}, r"for cat.png: point 0 \(x=10000+\.\.\., y=1\) lies outside the 32 x 24"),
    ({"x": 1, "y": 1, "ab": [10 ** 400, 2]}, r"\[0\]: expected a colour as '#rrggbb' or \(a, b\) with finite"),
    ({"x": 1, "y": float("nan"), "color": "#000000"}, r"\[0\] has non-numeric or non-finite coordinates"),
])
def test_huge_or_non_finite_numbers_in_a_hints_file(hint_checkpoint, tmp_path, capsys, point, words):
    photo = _photo(tmp_path / "cat.png")
    hints = tmp_path / "hints.json"
    hints.write_text(json.dumps([point]))
    assert _colorize(str(photo), "-o", str(tmp_path / "out"), "--model", str(hint_checkpoint), "--hints",
                     str(hints)) == 2
    err = _one_line_error(capsys, str(hints))
    assert __import__("re").search(words, err) and len(err) < 400, err


def test_check_points_takes_huge_integers_without_overflow():
    from colorkit.hint_points import check_points

    with pytest.raises(ValueError, match=r"point 0 \(x=1000.*\.\.\., y=0\) lies outside the 8 x 8 image"):
        check_points([(10 ** 400, 0, (1, 1))], 8)
    with pytest.raises(ValueError, match="point 0: expected a colour"):
        check_points([(0, 0, (10 ** 400, 1))], 8)


# ---------------------------------------------------------------- training arguments, divergence

@pytest.mark.parametrize("flag, value, words", [
    ("--epochs", "0", "expected an int >= 1, got 0"), ("--batch-size", "0", "expected an int >= 1, got 0"),
    ("--size", "0", "expected an int in [1, 2048], got 0"), ("--epochs", "-3", "expected an int >= 1, got -3"),
    ("--width", "nan", "expected a number in (0, 4], got nan"), ("--lr", "inf", "expected a number in (0, 1e+06], got inf"),
    ("--prior-sigma", "1e-200", "expected 0 or a number in [1, 25] ab units"), ("--lam", "2", "expected a number in [0, 1], got 2"),
])
def test_train_refuses_zero_negative_and_non_finite_arguments(tmp_path, capsys, monkeypatch, flag, value, words):
    monkeypatch.setattr(train_cli, "fit", lambda *a, **k: pytest.fail("training started"))
    with pytest.raises(SystemExit) as done:
        train_cli.main(["--model", "compact_classifier", f"{flag}={value}", "--no-progress"])
    assert done.value.code == 2
    _one_line_error(capsys, f"argument {flag}: {words}")


@pytest.mark.parametrize("validate", [False, True])
def test_a_diverging_run_never_writes_non_finite_weights(tmp_path, validate):
    from colorkit.models import build_model

    torch.manual_seed(0)
    path = tmp_path / "run.pt"
    images = torch.randint(0, 256, (8, 3, 32, 32), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    why = (r"the validation loss is nan after epoch 1; training stopped \(no checkpoint was written\)" if validate
           else rf"the weights are NaN or infinite after epoch 2; training stopped \(the last good checkpoint {path} "
                r"\(epoch 1\) is kept\)")
    with pytest.raises(TrainingDiverged, match=why):
        fit(build_model("compact_classifier", width=0.125), images, images[:4] if validate else None,
            TrainConfig(epochs=3, batch_size=8, lr=1e6, checkpoint=path), device="cpu", progress=False)
    if validate:
        assert not path.exists()
    else:
        state = load_checkpoint(path)
        assert state["epoch"] == 1 and all(torch.isfinite(v).all() for v in state["model"].values()
                                           if v.is_floating_point())
    with pytest.raises(ValueError, match="lr must be a finite number > 0, got inf"):
        TrainConfig(lr=float("inf"))


def test_resuming_a_checkpoint_with_non_finite_weights_is_refused(checkpoint, tmp_path):
    from colorkit.checkpoint import save_checkpoint
    from colorkit.models import build_model

    state = load_checkpoint(checkpoint)
    bad = save_checkpoint(tmp_path / "nan.pt", {**state, "model": {k: torch.full_like(v, float("nan"))
                                                                   if v.is_floating_point() else v
                                                                   for k, v in state["model"].items()}})
    images = torch.randint(0, 256, (8, 3, 32, 32), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    with pytest.raises(ValueError, match=r"cannot resume from .*nan.pt: it holds non-finite weights"):
        fit(build_model("compact_classifier", width=0.125), ImageSet(images, None, [], "noise", "tests"), None,
            TrainConfig(epochs=2, batch_size=8, checkpoint=bad, profile="smoke"), device="cpu", progress=False)


# ---------------------------------------------------------------- photos without colour, priors

def test_black_and_white_photos_make_no_prior_and_no_rebalanced_model(tmp_path, capsys):
    bw = tmp_path / "bw"
    for i in range(4):
        _photo(bw / f"p{i}.png", h=48, w=48, seed=i, grey=True)
    assert cli.main(["prior", str(bw), "-o", str(tmp_path / "prior.npy")]) == 2
    _one_line_error(capsys, f"the 4 photo(s) in {bw} are black-and-white: 100.00% of their pixels have |a| and |b| "
                    "below 5 Lab units (98% or more counts as no colour)")
    assert not (tmp_path / "prior.npy").exists()
    common = ["--model", "compact_classifier", "--data", str(bw), "--size", "16", "--epochs", "1", "--no-progress",
              "--checkpoint", str(tmp_path / "c.pt")]
    assert train_cli.main([*common, "--loss", "rebalanced", "--prior", "own"]) == 2
    _one_line_error(capsys, "--data: the training photos of photos in", "are black-and-white")
    assert not (tmp_path / "c.pt").exists()
    assert train_cli.main(common) == 0  # another loss: trained, but not without a word
    assert "python -m colorkit.train: warning: --data: the training photos of photos in" in capsys.readouterr().err


@pytest.mark.parametrize("sigma", ["inf", "1e-200", "0.5", "-1", "nan"])
def test_prior_sigma_out_of_range_writes_nothing(tmp_path, capsys, sigma):
    photo = _photo(tmp_path / "in" / "cat.png")
    out = tmp_path / "prior.npy"
    assert cli.main(["prior", str(photo), "-o", str(out), "--plot", str(tmp_path / "p.png"), "--sigma", sigma]) == 2
    _one_line_error(capsys, "--sigma: sigma must be 0 (no smoothing) or between 1 and 25 ab units")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in"]


def test_smooth_prior_refuses_a_sigma_that_gives_nan():
    from colorkit.rebalance import smooth_prior

    with pytest.raises(ValueError, match="smooth_prior: sigma must be between 1 and 25"):
        smooth_prior(torch.full((313,), 1 / 313, dtype=torch.float64), 1e-200)


def test_prior_plot_with_an_unknown_type_writes_nothing(tmp_path, capsys):
    photo = _photo(tmp_path / "in" / "cat.png")
    assert cli.main(["prior", str(photo), "-o", str(tmp_path / "x.npy"), "--plot", str(tmp_path / "x.txt")]) == 2
    _one_line_error(capsys, f"--plot {tmp_path / 'x.txt'}: expected an image file name ending in one of", ".png")
    assert not (tmp_path / "x.npy").exists() and not (tmp_path / "x.txt").exists()


def _prior_arg_error(tmp_path, capsys, prior: str, *needles: str) -> None:
    argv = ["--model", "compact_classifier", "--data", str(tmp_path / "photos"), "--size", "16", "--epochs", "1",
            "--loss", "rebalanced", "--prior", prior, "--no-progress"]
    assert train_cli.main(argv) == 2
    _one_line_error(capsys, *needles)


@pytest.mark.parametrize("case", ["/dev/zero", "folder", "structured", "ints", "nan", "negative"])
def test_prior_files_are_checked_with_one_line_errors(tmp_path, capsys, monkeypatch, case):
    monkeypatch.setattr(train_cli, "fit", lambda *a, **k: pytest.fail("training started"))
    for i in range(2):
        _photo(tmp_path / "photos" / f"p{i}.png", h=32, w=32, seed=i)
    arrays = {"structured": np.zeros(313, dtype=[("p", "f8"), ("q", "i4")]), "ints": np.ones(313, dtype=np.int64),
              "nan": np.full(313, np.nan), "negative": np.r_[-1.0, np.full(312, 2 / 312)]}
    if case in arrays:
        path = tmp_path / f"{case}.npy"
        np.save(path, arrays[case])
    else:
        path = Path("/dev/zero") if case == "/dev/zero" else tmp_path / "photos"
    why = {"/dev/zero": "which is not a regular file", "folder": "which is a folder",
           "structured": "holds dtype [('p', '<f8'), ('q', '<i4')], expected a plain float array of shape (313,)",
           "ints": "holds dtype int64, expected a plain float array", "nan": "is not a probability vector",
           "negative": "is not a probability vector"}[case]
    _prior_arg_error(tmp_path, capsys, str(path), str(path), why)


def test_an_empty_test_folder_is_named(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(train_cli, "fit", lambda *a, **k: pytest.fail("training started"))
    _photo(tmp_path / "photos" / "train" / "a.png", h=32, w=32)
    (tmp_path / "photos" / "test").mkdir()
    assert train_cli.main(["--model", "compact_classifier", "--data", str(tmp_path / "photos"), "--size", "16",
                              "--no-progress"]) == 2
    _one_line_error(capsys, f"no image files (", f"in {tmp_path / 'photos' / 'test'} (with train/ and test/ both")
