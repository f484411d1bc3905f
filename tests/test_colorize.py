"""Colorizing your own photos: formats, EXIF rotation, the full-resolution L kept, skipping, names, CLI, info."""
from __future__ import annotations

import hashlib
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from colorkit.cli import main
from colorkit.color import rgb_to_lab, uint8_to_float
from colorkit.checkpoint import find_checkpoints, format_info
from colorkit.colorize import colorize_photos
from colorkit.outputs import output_name, output_paths

ROOT = Path(__file__).resolve().parents[1]


def _scene(h: int, w: int) -> np.ndarray:
    """A smooth colourful (h, w, 3) uint8 picture with some sharp edges (so that lost detail would show)."""
    y, x = np.mgrid[0:h, 0:w] / max(h, w)
    rgb = np.stack([0.5 + 0.4 * np.sin(7 * x), 0.5 + 0.4 * np.cos(5 * y), 0.3 + 0.5 * x * y], -1)
    rgb[(np.floor(x * 20) + np.floor(y * 20)) % 2 == 0] *= 0.6  # a checkerboard of 20 px cells
    return (rgb.clip(0, 1) * 255).round().astype(np.uint8)


def _png16(path: Path, rgb16: np.ndarray) -> None:
    """Write a 16-bit RGB PNG by hand (Pillow cannot): filter 0 rows of big-endian samples."""
    h, w, _ = rgb16.shape
    raw = b"".join(b"\x00" + rgb16[y].astype(">u2").tobytes() for y in range(h))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", w, h, 16, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw))
                     + chunk(b"IEND", b""))


def _lightness(rgb: np.ndarray) -> torch.Tensor:
    """L (H, W) of a float [0, 1] or uint8 (H, W, 3) array."""
    x = torch.from_numpy(np.array(rgb)).permute(2, 0, 1)[None]  # a writable copy
    x = uint8_to_float(x) if x.dtype == torch.uint8 else x.double()
    return rgb_to_lab(x)[0, 0]


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    """A tiny classification colorizer trained for one step through train.fit, which writes the checkpoint."""
    from colorkit.data import ImageSet
    from colorkit.models import build_model
    from colorkit.train import TrainConfig, fit

    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("ckpt") / "tiny.pt"
    images = torch.from_numpy(_scene(32, 32)).permute(2, 0, 1)[None].repeat(8, 1, 1, 1)
    scenes = ImageSet(images, None, [], "synthetic scenes", "tests")
    model = build_model("compact_classifier", width=0.125)
    cfg = TrainConfig(epochs=1, batch_size=8, checkpoint=path, profile="smoke")
    fit(model, scenes, None, cfg, device="cpu", progress=False)
    return path


@pytest.fixture
def photos(tmp_path) -> tuple[Path, dict[str, torch.Tensor]]:
    """A folder of mixed photos and each one's expected L (H, W) at its displayed size and orientation."""
    folder = tmp_path / "photos"
    folder.mkdir()
    expect = {}
    big = _scene(300, 400)  # stored 400 wide x 300 high, EXIF orientation 6: shown rotated, 300 wide x 400 high
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(big).save(folder / "big.jpg", quality=95, exif=exif)
    with Image.open(folder / "big.jpg") as im:  # the decoded JPEG, turned 90 degrees clockwise
        expect["big"] = _lightness(np.rot90(np.asarray(im.convert("RGB")), k=-1))
    noise = np.random.default_rng(0).integers(0, 257, (48, 40, 3))  # the low byte that 8 bits drop
    rgb16 = (_scene(48, 40).astype(np.float64) * 257 + noise).clip(0, 65535)
    _png16(folder / "deep.png", rgb16.astype(np.uint16))
    expect["deep"] = _lightness(rgb16 / 65535.0)
    alpha = np.linspace(0, 255, 50)[None, :, None].repeat(36, 0).round()  # transparent -> opaque left to right
    rgba = np.concatenate([_scene(36, 50), alpha.astype(np.uint8)], -1)
    Image.fromarray(rgba, "RGBA").save(folder / "glass.png")
    expect["glass"] = _lightness(_scene(36, 50) / 255.0 * (alpha / 255) + (1 - alpha / 255))  # over white
    gray = _scene(40, 64).mean(-1).round().astype(np.uint8)
    Image.fromarray(gray, "L").save(folder / "scan.png")
    expect["scan"] = _lightness(np.repeat(gray[..., None], 3, -1))
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    return folder, expect


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha1(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


def test_mixed_folder_keeps_full_resolution_lightness(checkpoint, photos, tmp_path):
    folder, expect = photos
    before = _digest(folder)
    out = tmp_path / "out"
    report = colorize_photos(folder, out, checkpoint, device="cpu", batch_size=3, progress=False)
    assert _digest(folder) == before  # inputs untouched
    assert [p.name for p, _ in report.skipped] == ["broken.jpg"] and report.skipped[0][1]
    assert sorted(o.name for _, o in report.written) == sorted(f"{k}_colorized.png" for k in expect)
    assert report.image_size == (32, 32) and report.model == "compact_classifier"
    for stem, L_in in expect.items():
        result = np.asarray(Image.open(out / f"{stem}_colorized.png"))
        assert result.shape == (*L_in.shape, 3), stem  # the input's (rotated) size
        L_out = _lightness(result).double()
        err = (L_out - L_in.double()).abs()
        assert err.mean() < 0.8 and torch.quantile(err.flatten(), 0.99) < 4.0, (stem, err.mean(), err.max())
        # the same L through the model's 32 x 32 would have lost the edges: the check above can tell
        blurred = F.interpolate(F.interpolate(L_in.double()[None, None], size=(32, 32), mode="area"),
                                size=L_in.shape, mode="bilinear")[0, 0]
        if stem in ("big", "scan"):
            assert (blurred - L_in).abs().mean() > 3 * err.mean()
    assert float(np.asarray(Image.open(out / "big_colorized.png")).std(-1).mean()) > 0.5  # it is coloured


def test_batching_and_temperature(checkpoint, photos, tmp_path):
    folder, _ = photos
    files = [folder / "big.jpg", folder / "scan.png", folder / "glass.png"]
    one = colorize_photos(files, tmp_path / "a", checkpoint, device="cpu", batch_size=1, progress=False)
    all_ = colorize_photos(files, tmp_path / "b", checkpoint, device="cpu", batch_size=16, progress=False)
    hot = colorize_photos(files, tmp_path / "c", checkpoint, temperature=1.0, device="cpu", progress=False)
    assert len(one.written) == len(all_.written) == 3 and not one.skipped
    for (_, a), (_, b), (_, c) in zip(one.written, all_.written, hot.written):
        x, y, z = (np.asarray(Image.open(p)).astype(int) for p in (a, b, c))
        assert np.abs(x - y).max() <= 1  # batches do not mix photos
        assert np.abs(x - z).max() > 0  # T changes the annealed mean of a classifier


def test_names_come_from_the_file_alone_and_inputs_are_never_overwritten(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    for p in (a / "cat.png", b / "cat.jpg", a / "dog.png", a / "dog_colorized.png", a / "Dog.JPG", a / "dog.txt"):
        p.write_bytes(b"x")
    names = [p.name for p in output_paths([a / "cat.png", b / "cat.jpg", a / "dog.png"], tmp_path / "out")]
    assert names == ["cat_colorized.png", "cat_colorized.png", "dog.png_colorized.png"]  # Dog.JPG is dog.png's twin
    assert [output_name(p) for p in (a / "Dog.JPG", a / "dog.txt", b / "cat.jpg")] == [
        "Dog.JPG_colorized.png", "dog.txt_colorized.png", "cat_colorized.png"]  # given alone: the same rule
    (b / "cat_colorized.png").write_bytes(b"x")
    with pytest.raises(ValueError, match="overwrite the input"):
        output_paths([b / "cat.jpg", b / "cat_colorized.png"], b)


def test_refuses_before_writing_and_reports_missing(checkpoint, photos):
    folder, _ = photos
    Image.fromarray(_scene(8, 8)).save(folder / "scan_colorized.png")  # would be overwritten by scan.png's output
    before = _digest(folder)
    with pytest.raises(ValueError, match="overwrite"):
        colorize_photos(folder, folder, checkpoint, device="cpu", progress=False)
    assert _digest(folder) == before
    with pytest.raises(FileNotFoundError, match="nowhere.jpg"):
        colorize_photos(folder / "nowhere.jpg", folder / "out", checkpoint, device="cpu", progress=False)


def test_cli_colorize_and_info(checkpoint, photos, tmp_path, capsys):
    folder, _ = photos
    assert main(["colorize", str(folder), "-o", str(tmp_path / "o1"), "--model", str(checkpoint),
                 "--device", "cpu"]) == 1  # broken.jpg skipped
    printed = capsys.readouterr().out
    assert "broken.jpg" in printed and "colorized 4 photo(s)" in printed
    assert main(["colorize", str(folder / "scan.png"), "-o", str(tmp_path / "o2"), "--model", str(checkpoint),
                 "--device", "cpu", "--temperature", "0.5"]) == 0
    assert (tmp_path / "o2" / "scan_colorized.png").is_file() and "skipped 0" in capsys.readouterr().out

    assert main(["info", str(checkpoint)]) == 0
    info = capsys.readouterr().out
    for field in ("compact_classifier", "head classify", "width=0.125", "training data:  synthetic scenes",
                  "profile:        smoke", "image size:     32", "1 of 1", "train_loss"):
        assert field in info, (field, info)
    assert info == format_info(checkpoint) + "\n"

    assert main(["info", str(folder / "big.jpg")]) == 2
    assert main(["colorize", str(folder), "-o", str(tmp_path / "o3"), "--model", str(folder / "scan.png")]) == 2
    assert main(["colorize", str(folder), "-o", str(tmp_path / "o4"), "--model", str(checkpoint),
                 "--temperature", "0"]) == 2
    errors = capsys.readouterr().err.strip().splitlines()
    assert len(errors) == 3 and all(line.startswith("colorkit ") and "error:" in line for line in errors)
    assert "not a" in errors[0] and "big.jpg" in errors[0]
    assert not (tmp_path / "o3").exists() and not (tmp_path / "o4").exists()


def test_info_of_a_foreign_file_is_one_line_without_traceback(tmp_path):
    bogus = tmp_path / "weights.pt"
    torch.save({"not": "ours"}, bogus)
    done = subprocess.run([sys.executable, "-m", "colorkit", "info", str(bogus)], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().count("\n") == 0 and "not a colorkit checkpoint" in done.stderr


def test_find_checkpoints_keeps_colorizers_classifiers_first(checkpoint, tmp_path):
    from colorkit.checkpoint import save_checkpoint
    from colorkit.models import build_model
    from colorkit.train import TrainConfig, fit

    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    (run / "checkpoints" / "b_classifier.pt").write_bytes(checkpoint.read_bytes())
    fit(build_model("cnn_tanh", width=0.125), torch.zeros(2, 3, 16, 16, dtype=torch.uint8), None,
        TrainConfig(epochs=1, batch_size=2, checkpoint=run / "checkpoints" / "a_regressor.pt"), device="cpu",
        progress=False)
    save_checkpoint(run / "checkpoints" / "judge.pt", {"weights": {}})  # not a colorizer
    (run / "checkpoints" / "junk.pt").write_bytes(b"junk")
    assert [p.name for p in find_checkpoints(run)] == ["b_classifier.pt", "a_regressor.pt"]
