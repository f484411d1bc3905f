"""Tests for colorkit.data: CIFAR-10 sources and cache, the problem-photo zoo, embedded patches, augment, batches."""
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
import torch.nn.functional as F
from PIL import Image

from colorkit import data as D
from colorkit.data import cifar, photos

# The shared CIFAR-10 JPEG copy, only through an explicit path: CI sets it in a second step after `make test`,
# which runs as a user would (no ../shared, no COLORKIT_* variables).
SHARED_TAR = Path(os.environ.get("COLORKIT_TEST_CIFAR10") or "/nonexistent/cifar10-jpeg.tar.gz")


@pytest.fixture(autouse=True)
def _isolated(monkeypatch, tmp_path):
    """No user data, no network, a private cache: every test sees a machine without CIFAR-10."""
    monkeypatch.delenv(D.ENV_CIFAR10, raising=False)
    monkeypatch.setenv(D.ENV_CACHE, str(tmp_path / "cache"))
    monkeypatch.setattr(cifar, "_online", lambda *a, **k: False)


def _colour(c: int, k: int) -> tuple[int, int, int]:
    return (20 + 20 * c, 40 + 50 * k, 128)  # class and index readable back from the pixels


def _jpeg(rgb, size=8) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (size, size), rgb).save(buf, "JPEG", quality=95)
    return buf.getvalue()


def _cifar_jpeg_folder(root: Path, per_class=(3, 2)) -> Path:
    for split, n in zip(("train", "test"), per_class):
        for c, cls in enumerate(D.CIFAR10_CLASSES):
            (root / split / cls).mkdir(parents=True)
            for k in range(n):
                (root / split / cls / f"{k:04d}.jpg").write_bytes(_jpeg(_colour(c, k)))
    return root


def _cifar_tar(tmp_path: Path) -> Path:
    folder = _cifar_jpeg_folder(tmp_path / "src" / "cifar10")
    tar = tmp_path / "cifar10-jpeg.tar.gz"
    with tarfile.open(tar, "w:gz") as t:
        t.add(folder, arcname="cifar10")  # members cifar10/train/<class>/NNNN.jpg
    return tar


def _decoded_ids(s: D.ImageSet) -> list[tuple[int, int]]:
    px = s.images[:, :, 4, 4].int()  # (N, 3) centre pixel
    return [(round((r - 20) / 20), round((g - 40) / 50)) for r, g, _ in px.tolist()]


def test_jpeg_tar_and_folder_layouts_labels_order_and_limit(tmp_path):
    tar = _cifar_tar(tmp_path)
    for source in (tar, tmp_path / "src" / "cifar10", tmp_path / "src"):
        s = D.load_cifar10(source, download=False)
        assert s.name == "CIFAR-10 (JPEG copy)" and s.classes == D.CIFAR10_CLASSES
        assert s.images.shape == (30, 3, 8, 8) and s.images.dtype == torch.uint8 and s.labels.dtype == torch.int64
        # classes interleaved, each in its original (file number) order; labels match the pixels
        assert _decoded_ids(s) == [(c, k) for k in range(3) for c in range(10)]
        assert s.labels.tolist() == [c for k in range(3) for c in range(10)]
    test = D.load_cifar10(tar, split="test", download=False)
    assert len(test) == 20 and torch.bincount(test.labels).tolist() == [2] * 10
    small = D.load_cifar10(tar, limit=13, download=False)  # 13 = 1 of each class + one more of classes 0..2
    assert torch.bincount(small.labels, minlength=10).tolist() == [2, 2, 2] + [1] * 7
    assert sorted(_decoded_ids(small)) == sorted([(c, 0) for c in range(10)] + [(c, 1) for c in range(3)])


def test_jpeg_cache_is_written_once_and_reused(tmp_path, monkeypatch):
    tar = _cifar_tar(tmp_path)
    first = D.load_cifar10(tar, limit=10, download=False)
    cached = sorted((tmp_path / "cache").glob("cifar10-jpeg-*.npz"))
    assert len(cached) == 1 and not list((tmp_path / "cache").glob(".*tmp"))
    full = D.load_cifar10(tar, download=False)  # a full load caches both splits from one pass
    assert len(sorted((tmp_path / "cache").glob("cifar10-jpeg-*.npz"))) == 3
    monkeypatch.setattr(cifar, "_jpeg_members", lambda *a: pytest.fail("cache not used"))
    again = D.load_cifar10(tar, limit=10, download=False)
    assert torch.equal(again.images, first.images) and torch.equal(again.labels, first.labels)
    assert len(D.load_cifar10(tar, split="test", download=False)) == 20
    assert torch.equal(D.load_cifar10(tar, download=False).images, full.images)


def _pickle_folder(root: Path) -> tuple[Path, np.ndarray, np.ndarray]:
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    data = rng.integers(0, 256, (6, 40, 3072), dtype=np.uint8)
    labels = rng.integers(0, 10, (6, 40))
    for i, name in enumerate([f"data_batch_{j}" for j in range(1, 6)] + ["test_batch"]):
        with open(folder / name, "wb") as f:
            pickle.dump({b"data": data[i], b"labels": labels[i].tolist()}, f)
    return folder, data, labels


def test_torchvision_pickles_env_var_and_limit(tmp_path, monkeypatch):
    folder, data, labels = _pickle_folder(tmp_path)
    monkeypatch.setenv(D.ENV_CIFAR10, str(tmp_path))  # the parent of cifar-10-batches-py works too
    s = D.load_cifar10(download=False)
    assert s.name == "CIFAR-10" and s.images.shape == (200, 3, 32, 32)
    assert torch.equal(s.images, torch.from_numpy(data[:5].reshape(200, 3, 32, 32)))
    assert s.labels.tolist() == labels[:5].reshape(-1).tolist()
    small = D.load_cifar10(folder, limit=20, download=False)
    want = np.zeros(200, bool)  # first 2 of each class, in the original order
    for c in range(10):
        want[np.flatnonzero(labels[:5].reshape(-1) == c)[:2]] = True
    assert small.labels.tolist() == labels[:5].reshape(-1)[want].tolist()
    assert torch.equal(small.images, s.images[torch.from_numpy(want)])
    test = D.load_cifar10(folder, split="test", download=False)
    assert torch.equal(test.images, torch.from_numpy(data[5].reshape(40, 3, 32, 32)))
    # the cache dir's cifar-10-batches-py is found without any path
    monkeypatch.delenv(D.ENV_CIFAR10)
    assert len(D.load_cifar10(cache_dir=tmp_path, split="test", download=False)) == 40


def test_missing_cifar_explains_where_to_put_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="COLORKIT_CIFAR10") as e:
        D.load_cifar10(download=True)  # offline (patched): fails fast, no download attempt
    assert "data_batch_1" in str(e.value) and "cifar-10-python.tar.gz" in str(e.value)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        D.load_cifar10(tmp_path / "nope.tar.gz")
    with pytest.raises(ValueError, match="split"):
        D.load_cifar10(split="val")


def test_load_dataset_forms(tmp_path, capsys):
    s = D.load_dataset("auto", limit=12, size=16)
    assert s.name == "embedded photo patches" and s.images.shape == (12, 3, 16, 16)
    banner = capsys.readouterr().out
    assert "No CIFAR-10 found" in banner and "COLORKIT_CIFAR10" in banner and banner.startswith("+--")
    assert D.load_dataset("embedded", split="test", limit=5).images.shape == (5, 3, 32, 32)
    tar = _cifar_tar(tmp_path)
    j = D.load_dataset(str(tar), limit=10, size=8)
    assert j.name == "CIFAR-10 (JPEG copy)" and j.images.shape == (10, 3, 8, 8)
    assert D.load_dataset(tar, limit=10, size=4).images.shape == (10, 3, 4, 4)  # resized
    with pytest.raises(FileNotFoundError):
        D.load_dataset("cifar10")
    with pytest.raises(ValueError, match="'embedded'.*'cifar10'"):
        D.load_dataset("imagenet")
    photos = tmp_path / "photos"
    photos.mkdir()
    for i in range(3):
        Image.new("RGB", (20 + i, 12), (i * 50, 0, 0)).save(photos / f"{i}.png")
    p = D.load_dataset(photos, size=8, limit=2)
    assert p.images.shape == (2, 3, 8, 8) and p.labels is None


# ---------------------------------------------------------------- the problem-photo zoo

def _png16_rgb(arr) -> bytes:
    """A 16-bit-per-channel RGB PNG (PIL cannot write one): arr (H, W, 3) big-endian uint16."""
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    h, w, _ = arr.shape
    raw = b"".join(b"\x00" + arr[y].tobytes() for y in range(h))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 16, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def test_problem_photos(tmp_path):
    grad16 = (np.arange(12 * 10).reshape(12, 10) * 547).astype(np.uint16)  # 0..65,000: clipping would show
    Image.fromarray(grad16).save(tmp_path / "a_gray16.png")
    rgba = np.zeros((6, 8, 4), np.uint8)
    rgba[..., 0], rgba[:, :4, 3], rgba[:, 4:, 3] = 200, 255, 0  # red, left opaque, right transparent
    Image.fromarray(rgba, "RGBA").save(tmp_path / "b_rgba.png")
    Image.fromarray(np.full((5, 7), 90, np.uint8), "L").save(tmp_path / "c_gray.jpg")
    pal = Image.new("P", (4, 4))
    pal.putpalette([10, 20, 30, 200, 100, 50] + [0] * 762)
    pal.putpixel((1, 1), 1)
    pal.save(tmp_path / "d_palette.png")
    cmyk = Image.new("CMYK", (5, 5), (0, 255, 255, 0))  # pure red in CMYK
    cmyk.save(tmp_path / "e_cmyk.tif")
    wide = np.zeros((4, 8, 3), np.uint8)
    wide[:, :4] = (255, 0, 0)
    wide[:, 4:] = (0, 0, 255)
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation 6: displayed rotated 90 degrees clockwise
    Image.fromarray(wide).save(tmp_path / "f_exif6.png", exif=exif)
    rgb16 = np.array([[[65535, 0, 1000], [30000, 40000, 50000], [257, 32896, 255]]], dtype=">u2")  # (1, 3, 3)
    (tmp_path / "g_rgb16.png").write_bytes(_png16_rgb(rgb16))
    out = D.load_photos(tmp_path)
    names = [p.name for p in out.paths]
    assert names == ["a_gray16.png", "b_rgba.png", "c_gray.jpg", "d_palette.png", "e_cmyk.tif", "f_exif6.png",
                     "g_rgb16.png"]
    g16, rgba_t, gray, palette, red, rotated, c16 = out.images
    assert (c16.permute(1, 2, 0).int() - torch.from_numpy(np.rint(rgb16 / 257.0))).abs().max() <= 1
    assert all(x.dtype == torch.uint8 and x.shape[0] == 3 for x in out.images) and out.skipped == []
    want16 = torch.from_numpy(np.rint(grad16 / 257.0).astype(np.uint8))
    assert torch.equal(g16[0], want16) and torch.equal(g16[1], want16) and int(g16.max()) == 253  # 65093 / 257
    assert rgba_t[:, 0, 0].tolist() == [200, 0, 0] and rgba_t[:, 0, 7].tolist() == [255, 255, 255]
    assert gray.shape == (3, 5, 7) and (gray.int() - 90).abs().max() <= 2
    assert palette[:, 0, 0].tolist() == [10, 20, 30] and palette[:, 1, 1].tolist() == [200, 100, 50]
    assert red[:, 2, 2].tolist() == [255, 0, 0]
    assert rotated.shape == (3, 8, 4)  # rotated upright: red on top, blue at the bottom
    assert torch.equal(rotated, torch.from_numpy(np.rot90(wide, k=-1).transpose(2, 0, 1).copy()))
    fixed = D.load_photos([tmp_path / "b_rgba.png", tmp_path / "f_exif6.png"], size=4)
    assert isinstance(fixed, D.ImageSet) and fixed.images.shape == (2, 3, 4, 4)


def test_unreadable_photos_raise_or_skip(tmp_path):
    Image.new("RGB", (16, 16), (1, 2, 3)).save(tmp_path / "good.png")
    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(buf, "JPEG")
    (tmp_path / "truncated.jpg").write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    (tmp_path / "text.png").write_bytes(b"this is not an image")
    with pytest.raises(ValueError, match="text.png"):
        D.load_photos(tmp_path)
    with pytest.raises(ValueError, match="truncated.jpg"):
        D.load_photos([tmp_path / "good.png", tmp_path / "truncated.jpg"])
    with pytest.warns(UserWarning) as record:
        out = D.load_photos(tmp_path, on_error="skip")
    assert [p.name for p in out.paths] == ["good.png"]
    assert sorted(p.name for p, _ in out.skipped) == ["text.png", "truncated.jpg"]
    assert all(isinstance(reason, str) and reason for _, reason in out.skipped)
    assert {Path(w.message.args[0].split("'")[1]).name for w in record} == {"text.png", "truncated.jpg"}
    with pytest.raises(FileNotFoundError, match="missing.png"):
        D.load_photos([tmp_path / "missing.png"])


# ---------------------------------------------------------------- embedded patches

def test_embedded_images_shapes_labels_determinism():
    a = D.embedded_images(24, size=16, seed=3)
    assert a.images.shape == (24, 3, 16, 16) and a.images.dtype == torch.uint8
    assert a.name == "embedded photo patches" and len(a.classes) >= 4
    assert a.labels.tolist() == [i % len(a.classes) for i in range(24)]
    assert torch.equal(a.images, D.embedded_images(24, size=16, seed=3).images)
    assert not torch.equal(a.images, D.embedded_images(24, size=16, seed=4).images)
    assert not torch.equal(a.images, D.embedded_images(24, size=16, seed=3, split="test").images)
    assert a.images.float().std() > 20  # real photo content, not constant


def test_embedded_train_and_test_come_from_disjoint_tiles(monkeypatch):
    # a synthetic "photo" whose 4 x 4 tiles are constant colours that encode the tile: every patch must be
    # exactly one tile colour, and the tiles of the two splits must not overlap
    th, tw = 75, 101  # odd sizes exercise the half-resolution path's pixel pairs
    tile_id = torch.arange(16).view(4, 4).repeat_interleave(th, 0).repeat_interleave(tw, 1)  # (300, 404)
    photo = torch.stack([tile_id * 10.0, tile_id * 5.0, 255 - tile_id * 10.0])[None]  # (1, 3, 300, 404)
    monkeypatch.setattr(photos, "_PHOTO_CACHE", {"tiles": (photo, F.avg_pool2d(photo, 2))})
    seen = {}
    for split in ("train", "test"):
        x = D.embedded_images(200, size=16, split=split).images  # (200, 3, 16, 16)
        assert (x == x[:, :, :1, :1]).all(), "a patch mixes tiles"
        seen[split] = set((x[:, 0, 0, 0] // 10).tolist())
    assert seen["test"] == {r * 4 + c for r, c in photos._TEST_TILES}
    assert seen["train"].isdisjoint(seen["test"]) and len(seen["train"]) == 12


# ---------------------------------------------------------------- augment and batches

def _find_shift(out, padded, h, w):
    for oy in range(padded.shape[-2] - h + 1):
        for ox in range(padded.shape[-1] - w + 1):
            crop = padded[:, oy:oy + h, ox:ox + w]
            if torch.equal(out, crop):
                return oy, ox, False
            if torch.equal(out, crop.flip(-1)):
                return oy, ox, True
    return None


@pytest.mark.parametrize("mode", ["reflect", "zeros"])
def test_augment_crops_are_shifts_of_padded_image(mode):
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (12, 3, 9, 10), dtype=torch.uint8, generator=g)
    out = D.augment(x, crop_padding=3, flip=True, generator=torch.Generator().manual_seed(1), padding_mode=mode)
    assert out.shape == x.shape and out.dtype == torch.uint8
    padded = F.pad(x.float(), (3, 3, 3, 3), mode="reflect" if mode == "reflect" else "constant")
    found = [_find_shift(out[i].float(), padded[i], 9, 10) for i in range(12)]
    assert all(f is not None for f in found)
    assert len({f[:2] for f in found}) > 3 and {f[2] for f in found} == {True, False}
    same = D.augment(x, crop_padding=3, generator=torch.Generator().manual_seed(1), padding_mode=mode)
    assert torch.equal(out, same)


def test_augment_flip_only_float_and_errors():
    x = torch.rand(16, 3, 5, 6)
    out = D.augment(x, crop_padding=0, flip=True, generator=torch.Generator().manual_seed(2))
    assert out.dtype == torch.float32
    flipped = torch.tensor([torch.equal(o, i.flip(-1)) for o, i in zip(out, x)])
    kept = torch.tensor([torch.equal(o, i) for o, i in zip(out, x)])
    assert (flipped ^ kept).all() and 0 < flipped.sum() < 16
    assert torch.equal(D.augment(x, crop_padding=0, flip=False), x)
    with pytest.raises(ValueError, match="augment"):
        D.augment(x[0])
    with pytest.raises(ValueError, match="crop_padding"):
        D.augment(x, crop_padding=5)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_augment_and_batches_on_cuda():
    x = torch.randint(0, 256, (8, 3, 6, 6), dtype=torch.uint8)
    assert D.augment(x.cuda()).device.type == "cuda"
    s = D.ImageSet(x, torch.arange(8), [], "t", "t")
    xb, yb = next(D.batches(s, 4, device="cuda"))
    assert xb.device.type == "cuda" and yb.device.type == "cuda"


def test_batches_cover_everything_once_with_aligned_labels():
    imgs = torch.arange(10, dtype=torch.uint8).view(10, 1, 1, 1).expand(10, 3, 2, 2).contiguous()
    s = D.ImageSet(imgs, torch.arange(10), ["x"], "t", "t")
    got = list(D.batches(s, 4, generator=torch.Generator().manual_seed(0)))
    assert [len(x) for x, _ in got] == [4, 4, 2]
    order = torch.cat([y for _, y in got])
    assert sorted(order.tolist()) == list(range(10)) and order.tolist() != list(range(10))
    assert all(torch.equal(x[:, 0, 0, 0].long(), y) for x, y in got)
    again = torch.cat([y for _, y in D.batches(s, 4, generator=torch.Generator().manual_seed(0))])
    assert torch.equal(order, again)
    assert [len(x) for x, _ in D.batches(s, 4, shuffle=False, drop_last=True)] == [4, 4]
    nolabels = D.ImageSet(imgs, None, [], "t", "t")
    assert all(y is None for _, y in D.batches(nolabels, 5))


def test_imageset_checks_and_subset():
    s = D.ImageSet(torch.zeros(5, 3, 2, 2, dtype=torch.uint8), torch.arange(5), [], "t", "t")
    assert len(s) == 5 and len(s.subset(3)) == 3 and s.subset(torch.tensor([4, 0])).labels.tolist() == [4, 0]
    assert s.to("cpu").images.device.type == "cpu"
    with pytest.raises(ValueError, match=r"\(N, 3, H, W\) uint8"):
        D.ImageSet(torch.zeros(5, 3, 2, 2), None, [], "t", "t")
    with pytest.raises(ValueError, match="labels"):
        D.ImageSet(torch.zeros(5, 3, 2, 2, dtype=torch.uint8), torch.arange(4), [], "t", "t")


@pytest.mark.skipif(not SHARED_TAR.is_file(), reason="set COLORKIT_TEST_CIFAR10 to the CIFAR-10 JPEG copy (CI does)")
def test_shared_cifar10_jpeg_copy_limit_200():
    s = D.load_cifar10(SHARED_TAR, limit=200, download=False)
    assert s.name == "CIFAR-10 (JPEG copy)" and s.images.shape == (200, 3, 32, 32)
    assert torch.bincount(s.labels).tolist() == [20] * 10 and s.labels[:10].tolist() == list(range(10))
    assert 60 < s.images.float().mean() < 190


def test_a_printed_set_names_files_not_the_machines_folders():
    from dataclasses import replace

    from colorkit.data import embedded_images

    s = replace(embedded_images(2), name="photos in /home/ana/Pictures/trip",
                source="/work/shared/data/cifar10-jpeg.tar.gz")
    text = repr(s)
    assert "'photos in trip'" in text and "from cifar10-jpeg.tar.gz)" in text and "/home" not in text and "/work" not in text


def test_one_photo_listing_for_training_priors_and_colorize(tmp_path):
    from colorkit.colorize import find_photos
    from colorkit.data.photos import photo_files

    (tmp_path / "sub").mkdir()
    for name in ("b.PNG", "a.jpg", "notes.txt", "sub/c.png"):
        (tmp_path / name).write_bytes(b"")
    a, b, c = tmp_path / "a.jpg", tmp_path / "b.PNG", tmp_path / "sub" / "c.png"
    assert photo_files(tmp_path) == [a, b, c]  # training data and priors: sub-folders too
    assert find_photos([tmp_path, a]) == [a, b]  # colorize: a folder's own photos (one flat output folder), once
    with pytest.raises(FileNotFoundError, match=r"colorize_photos: '.*nowhere' is neither an image file nor a folder"):
        find_photos(tmp_path / "nowhere")
