"""Bad inputs to the CLIs and loaders (issue 10): each gives a one-line error naming the file, or the right result.

Exit codes: 0 done, 1 some inputs skipped, 2 bad arguments or an unusable model. Every file is made here.
"""
from __future__ import annotations

import argparse
import hashlib
import io
import os
import pickle
import struct
import tarfile
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from colorkit import cli, runner, train_cli
from colorkit.checkpoint import CheckpointError, find_checkpoints, load_checkpoint, save_checkpoint
from colorkit.colorize import NonFiniteOutput, colorize_photos
from colorkit.data import ImageSet, load_cifar10, load_dataset


def _photo(path: Path, h: int = 40, w: int = 56, seed: int = 0) -> Path:
    rgb = np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)
    Image.fromarray(rgb).save(path)
    return path


def _huge_png(path: Path, side: int = 10_000) -> Path:
    """A valid grey PNG of side x side pixels that is about 100 KB on disk (all black; zlib squeezes it)."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    z, row = zlib.compressobj(9), b"\x00" * (side + 1)  # filter byte 0, then `side` zero samples
    idat = b"".join(z.compress(row) for _ in range(side)) + z.flush()
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0))
                     + chunk(b"IDAT", idat) + chunk(b"IEND", b""))
    return path


def _one_line_error(capsys, *needles: str) -> str:
    """The captured stderr's error: one line (after any progress bar), no traceback, holding each needle."""
    text = capsys.readouterr().err
    lines = [line for line in text.strip().splitlines() if "error" in line]
    assert len(lines) == 1 and "Traceback" not in text and "colorizing" not in lines[0], text
    err = lines[0]
    for needle in needles:
        assert needle in err, (needle, err)
    return err


def _colorize(*args: str) -> int:
    return cli.main(["colorize", *args, "--device", "cpu"])


# ---------------------------------------------------------------- data loss, denial of service

def test_existing_outputs_are_kept_unless_overwrite(checkpoint, tmp_path, capsys):
    photos, out = tmp_path / "photos", tmp_path / "out"
    photos.mkdir(), out.mkdir()
    _photo(photos / "cat.png"), _photo(photos / "dog.png", seed=1)
    (out / "cat_colorized.png").write_bytes(b"someone else's file")
    assert _colorize(str(photos), "-o", str(out), "--model", str(checkpoint)) == 1
    report = capsys.readouterr().out
    assert (out / "cat_colorized.png").read_bytes() == b"someone else's file"
    assert "skipped 1" in report and "cat_colorized.png already exists" in report and "--overwrite" in report
    assert (out / "dog_colorized.png").is_file()
    assert _colorize(str(photos), "-o", str(out), "--model", str(checkpoint), "--overwrite") == 0
    with Image.open(out / "cat_colorized.png") as im:
        assert im.size == (56, 40)


def test_a_photo_over_the_pixel_budget_is_refused_by_name_and_the_rest_written(checkpoint, tmp_path, capsys):
    photos, out = tmp_path / "photos", tmp_path / "out"
    photos.mkdir()
    big = _huge_png(photos / "bomb.png")
    assert big.stat().st_size < 200_000  # 100 megapixels in about 100 KB
    _photo(photos / "a.png"), _photo(photos / "z.jpg", seed=2)
    assert _colorize(str(photos), "-o", str(out), "--model", str(checkpoint)) == 1
    report = capsys.readouterr().out
    assert "colorized 2 photo(s)" in report and f"skipped {big}: 10000 x 10000 = 100.0 megapixels" in report
    assert sorted(p.name for p in out.iterdir()) == ["a_colorized.png", "z_colorized.png"]
    # a budget from the command line: the 40 x 56 photos (2,240 pixels) are over 2,000
    assert _colorize(str(photos / "a.png"), "-o", str(tmp_path / "o2"), "--model", str(checkpoint),
                     "--max-pixels", "2000") == 1
    assert "over the budget of 0.002 megapixels" in capsys.readouterr().out


def test_a_photo_that_fails_to_colorize_does_not_end_the_batch(checkpoint, tmp_path, monkeypatch, capsys):
    import colorkit.colorize as cz

    real = cz.colorize_images

    def short_of_memory(model, images, *args, **kwargs):  # the 64-pixel-wide photo exhausts memory
        if any(img.shape[-1] == 64 for img in images):
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 9.00 GiB")
        return real(model, images, *args, **kwargs)

    monkeypatch.setattr(cz, "colorize_images", short_of_memory)
    photos = tmp_path / "photos"
    photos.mkdir()
    _photo(photos / "a.png"), _photo(photos / "wide.png", w=64), _photo(photos / "z.png")
    assert _colorize(str(photos), "-o", str(tmp_path / "out"), "--model", str(checkpoint)) == 1
    report = capsys.readouterr().out
    assert "colorized 2 photo(s)" in report and "wide.png: colorizing it (40x64 px) failed: OutOfMemoryError" in report
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a_colorized.png", "z_colorized.png"]


# ---------------------------------------------------------------- code execution from data

class _Exploit:
    """Unpickling this runs a shell command (that creates `marker`), as a crafted data_batch_1 would."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def _pickle_cifar(folder: Path, n: int = 30) -> Path:
    """A cifar-10-batches-py folder in torchvision's layout, n images a batch with labels 0..9 in turn."""
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {b"batch_label": name.encode(), b"labels": [i % 10 for i in range(n)],
                 b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8), b"filenames": [b"x.png"] * n}
        (folder / name).write_bytes(pickle.dumps(batch, protocol=2))
    return folder


def test_a_crafted_cifar_pickle_is_refused_without_running_its_code(tmp_path, capsys):
    folder = _pickle_cifar(tmp_path / "cifar-10-batches-py")
    assert len(load_cifar10(folder, download=False)) == 150  # real batches still load
    marker = tmp_path / "pwned"
    (folder / "data_batch_1").write_bytes(pickle.dumps({b"data": _Exploit(marker), b"labels": []}, protocol=2))
    with pytest.raises(ValueError, match=r"data_batch_1: not a CIFAR-10 batch pickle \(it refers to posix.system"):
        load_cifar10(folder, download=False)
    with pytest.raises(ValueError, match="data_batch_1"):
        load_dataset(str(tmp_path))
    assert train_cli.main(["--model", "compact_classifier", "--data", str(folder), "--no-progress"]) == 2
    _one_line_error(capsys, "data_batch_1", "posix.system")
    assert not marker.exists()


# ---------------------------------------------------------------- tracebacks instead of one-line errors

@pytest.mark.parametrize("case", ["existing file", "under a file", "uncreatable"])
def test_unusable_output_folders_are_one_line_errors(checkpoint, tmp_path, capsys, case):
    _photo(tmp_path / "cat.png")
    (tmp_path / "file.txt").write_text("a file")
    out = {"existing file": tmp_path / "file.txt", "under a file": tmp_path / "file.txt" / "out",
           "uncreatable": tmp_path / ("x" * 300)}[case]  # a name longer than any file system allows
    assert _colorize(str(tmp_path / "cat.png"), "-o", str(out), "--model", str(checkpoint)) == 2
    why = {"existing file": "is an existing file", "under a file": "which is a file",
           "uncreatable": "cannot create output folder"}[case]
    _one_line_error(capsys, str(out), why)


def test_a_checkpoint_whose_spec_is_a_string(checkpoint, tmp_path, capsys):
    state = load_checkpoint(checkpoint)
    bad = save_checkpoint(tmp_path / "bad_spec.pt", {**state, "spec": "compact_classifier"})
    _photo(tmp_path / "cat.png")
    assert _colorize(str(tmp_path / "cat.png"), "-o", str(tmp_path / "out"), "--model", str(bad)) == 2
    _one_line_error(capsys, "bad_spec.pt holds no usable model spec", "got str")
    assert cli.main(["info", str(bad)]) == 2
    _one_line_error(capsys, "bad_spec.pt holds no usable model spec")
    assert find_checkpoints(tmp_path) == []  # skipped, no crash
    assert not (tmp_path / "out").exists()


def _jpeg_tar(path: Path) -> bytes:
    with tarfile.open(path, "w:gz") as tar:
        for k in range(20):
            buf = io.BytesIO()
            Image.new("RGB", (32, 32), (k * 10, 50, 90)).save(buf, "JPEG")
            info = tarfile.TarInfo(f"cifar10/train/cat/{k:04d}.jpg")
            info.size = len(buf.getvalue())
            tar.addfile(info, io.BytesIO(buf.getvalue()))
    return path.read_bytes()


@pytest.mark.parametrize("damage", ["garbage", "truncated", "corrupt"])
def test_a_broken_tar_gz_given_to_train_is_a_one_line_error(tmp_path, capsys, damage):
    good = _jpeg_tar(tmp_path / "good.tar.gz")
    body = {"garbage": b"this is not an archive at all" * 50, "truncated": good[: len(good) // 2],
            "corrupt": good[:40] + bytes(b ^ 0x5A for b in good[40:400]) + good[400:]}[damage]
    bad = tmp_path / "cifar10-jpeg.tar.gz"
    bad.write_bytes(body)
    with pytest.raises(ValueError, match=r"cifar10-jpeg\.tar\.gz is not a readable tar archive"):
        load_cifar10(bad, download=False, cache_dir=tmp_path / "cache")
    assert train_cli.main(["--model", "compact_classifier", "--data", str(bad), "--no-progress"]) == 2
    _one_line_error(capsys, "cifar10-jpeg.tar.gz is not a readable tar archive")


# ---------------------------------------------------------------- wrong results with exit 0

@pytest.mark.parametrize("kind", ["nan weights", "overflowing weights"])
def test_non_finite_models_are_an_error(checkpoint, tmp_path, capsys, kind):
    state = load_checkpoint(checkpoint)
    weights = dict(state["model"])
    for key, t in weights.items():
        if t.dim() == 4:  # conv weights: NaN, or finite but so large that the activations overflow
            weights[key] = torch.full_like(t, float("nan")) if kind == "nan weights" else t * 1e30
    bad = save_checkpoint(tmp_path / "broken.pt", {**state, "model": weights})
    _photo(tmp_path / "cat.png")
    assert _colorize(str(tmp_path / "cat.png"), "-o", str(tmp_path / "out"), "--model", str(bad)) == 2
    why = "holds non-finite weights" if kind == "nan weights" else "gives NaN or infinite outputs"
    _one_line_error(capsys, "broken.pt", why)
    assert not (tmp_path / "out" / "cat_colorized.png").exists()
    if kind == "overflowing weights":
        with pytest.raises(NonFiniteOutput):
            colorize_photos(tmp_path / "cat.png", tmp_path / "o2", bad, device="cpu", progress=False)


def test_resuming_with_other_data_is_refused_and_keeps_the_provenance(tmp_path, capsys):
    from colorkit.models import build_model
    from colorkit.train import TrainConfig, fit

    path = tmp_path / "run.pt"
    gen = torch.Generator().manual_seed(0)
    a = ImageSet(torch.randint(0, 256, (8, 3, 32, 32), dtype=torch.uint8, generator=gen), None, [], "set A", "t")
    b = ImageSet(torch.randint(0, 256, (8, 3, 32, 32), dtype=torch.uint8, generator=gen), None, [], "set B", "t")
    fit(build_model("cnn_tanh"), a, None, TrainConfig(epochs=1, batch_size=8, checkpoint=path), device="cpu",
        progress=False)
    before = hashlib.sha1(path.read_bytes()).hexdigest()
    with pytest.raises(ValueError, match="it was trained on 'set A'.*'set B'"):
        fit(build_model("cnn_tanh"), b, None, TrainConfig(epochs=2, batch_size=8, checkpoint=path), device="cpu",
            progress=False)
    assert hashlib.sha1(path.read_bytes()).hexdigest() == before and load_checkpoint(path)["dataset"] == "set A"
    # the CLI refuses before training
    args = ["--model", "compact_classifier", "--epochs", "1", "--checkpoint", str(tmp_path / "cli.pt"), "--no-progress"]
    assert train_cli.main([*args, "--data", "embedded"]) == 0
    capsys.readouterr()
    cifar = _pickle_cifar(tmp_path / "cifar-10-batches-py")
    assert train_cli.main([*args, "--epochs", "2", "--data", str(cifar)]) == 2
    _one_line_error(capsys, "cli.pt", "'embedded photo patches'", f"--data '{cifar}' is 'CIFAR-10'")
    assert load_checkpoint(tmp_path / "cli.pt")["epoch"] == 1


def test_empty_input_folders(checkpoint, tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert _colorize(str(empty), "-o", str(tmp_path / "out"), "--model", str(checkpoint)) == 2
    _one_line_error(capsys, "no image files", str(empty))
    _photo(tmp_path / "cat.png")
    assert _colorize(str(empty), str(tmp_path / "cat.png"), "-o", str(tmp_path / "out"), "--model",
                     str(checkpoint)) == 1
    assert f"skipped {empty}: a folder with no image files" in capsys.readouterr().out


def test_size_zero_is_refused(checkpoint, tmp_path, capsys):
    _photo(tmp_path / "cat.png")
    for flag in ("--size", "--batch-size", "--max-pixels"):
        with pytest.raises(SystemExit) as done:
            _colorize(str(tmp_path / "cat.png"), "-o", str(tmp_path / "out"), "--model", str(checkpoint), flag, "0")
        assert done.value.code == 2
        assert f"argument {flag}: expected an int >= 1, got 0" in capsys.readouterr().err
    with pytest.raises(ValueError, match="image_size must be a positive int"):
        colorize_photos(tmp_path / "cat.png", tmp_path / "out", checkpoint, image_size=0, device="cpu")
    assert not (tmp_path / "out").exists()


# ---------------------------------------------------------------- unclear messages

def test_run_checks_data_up_front(tmp_path, capsys, monkeypatch):
    import papermill

    monkeypatch.setattr(papermill, "execute_notebook", lambda *a, **k: pytest.fail("a notebook was started"))
    argv = ["run", "--data", str(tmp_path / "nowhere"), "--run-dir", str(tmp_path / "run"), "--notebooks", "00"]
    assert cli.main(argv) == 2
    _one_line_error(capsys, "data (--data)", "nowhere", "does not exist")
    assert not (tmp_path / "run").exists()


def test_run_notebooks_without_values_is_an_error(tmp_path, capsys, monkeypatch):
    import papermill

    monkeypatch.setattr(papermill, "execute_notebook", lambda *a, **k: pytest.fail("a notebook was started"))
    with pytest.raises(SystemExit) as done:
        cli.main(["run", "--notebooks", "--run-dir", str(tmp_path / "run")])
    assert done.value.code == 2 and "--notebooks: expected at least one argument" in capsys.readouterr().err
    with pytest.raises(ValueError, match="expected a list of numbers or names"):
        runner.select_notebooks([])


def test_unsafe_empty_and_truncated_checkpoints_say_so_in_one_line(checkpoint, tmp_path, capsys):
    unsafe = tmp_path / "unsafe.pt"
    torch.save({"format": "colorkit-checkpoint", "payload": argparse.Namespace(run="rm -rf /")}, unsafe)
    (tmp_path / "empty.pt").write_bytes(b"")
    (tmp_path / "cut.pt").write_bytes(checkpoint.read_bytes()[:5000])
    with pytest.raises(CheckpointError) as e:
        load_checkpoint(unsafe)
    assert str(e.value) == (f"{unsafe} holds objects other than tensors and plain types; refusing to load it "
                            "(weights_only; found argparse.Namespace)")
    for name in ("empty.pt", "cut.pt"):
        with pytest.raises(CheckpointError) as e:
            load_checkpoint(tmp_path / name)
        assert str(e.value) == f"{tmp_path / name} is empty / truncated"
    for name in ("unsafe.pt", "empty.pt", "cut.pt"):
        assert cli.main(["info", str(tmp_path / name)]) == 2
        assert "\x1b" not in _one_line_error(capsys, name)


def test_every_command_documents_its_exit_codes(capsys):
    for argv, main in ((["colorize", "--help"], cli.main), (["info", "--help"], cli.main),
                       (["run", "--help"], cli.main), (["--help"], train_cli.main)):
        with pytest.raises(SystemExit):
            main(argv)
        text = " ".join(capsys.readouterr().out.split())
        assert "exit status: 0" in text and " 2 bad arguments" in text, (argv, text)
