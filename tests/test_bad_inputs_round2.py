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
from colorkit import train as train_module
from colorkit import train_cli
from colorkit.checkpoint import load_checkpoint
from colorkit.data import ImageSet
from colorkit.train import TrainConfig, TrainingDiverged, fit

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


class HintCopier(torch.nn.Module):
    """A hint model that predicts the hinted ab where there is a hint, grey elsewhere (no training needed)."""

    output_kind, input_multiple, output_stride, hint_channels = "ab", 1, 1, 3

    def __init__(self):
        super().__init__()
        self.dummy = torch.nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, 1:3] * x[:, 3:4] + 0 * self.dummy


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    """A tiny classification colorizer written by train.fit (one step on random images)."""
    from colorkit.models import build_model

    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("ckpt") / "tiny.pt"
    images = torch.randint(0, 256, (8, 3, 32, 32), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    fit(build_model("compact_classifier", width=0.125), ImageSet(images, None, [], "noise", "tests"), None,
        TrainConfig(epochs=1, batch_size=8, checkpoint=path, profile="smoke"), device="cpu", progress=False)
    return path


@pytest.fixture(scope="module")
def hint_checkpoint(tmp_path_factory) -> Path:
    """A tiny hint model (zhang_hints) written by train.fit (one step on random images)."""
    from colorkit.models import build_model

    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("hints") / "hints.pt"
    images = torch.randint(0, 256, (8, 3, 16, 16), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    fit(build_model("zhang_hints", width=0.125), ImageSet(images, None, [], "noise", "tests"), None,
        TrainConfig(epochs=1, batch_size=8, checkpoint=path, profile="smoke"), device="cpu", progress=False)
    return path


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
        colorize_photos(photo, tmp_path / "out", HintCopier(), image_size=64, hints=str(hints), progress=False)
    assert time.perf_counter() - start < 5  # was 249 s
    assert not (tmp_path / "out").exists()


def test_hints_are_converted_in_one_batched_call(tmp_path, monkeypatch):
    import colorkit.hints as hints_module
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
    report = colorize_photos(photo, tmp_path / "out", HintCopier(), image_size=64, hints=str(hints), progress=False)
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
    from colorkit.hints import check_points

    with pytest.raises(ValueError, match=r"point 0 \(x=1000.*\.\.\., y=0\) lies outside the 8 x 8 image"):
        check_points([(10 ** 400, 0, (1, 1))], 8)
    with pytest.raises(ValueError, match="point 0: expected a colour"):
        check_points([(0, 0, (10 ** 400, 1))], 8)
