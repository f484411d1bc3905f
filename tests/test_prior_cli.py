"""Your own photos end to end: `colorkit prior`, random crops, and `python -m colorkit.train --data PHOTOS --size`."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from PIL import Image
from skimage import color as skcolor

from colorkit.checkpoint import load_checkpoint
from colorkit.cli import main as cli_main
from colorkit.data.photos import PHOTO_LOAD_SCALE, load_photos, photo_training_sets, random_crops
from colorkit.quantize import ab_bins
from colorkit.rebalance import class_weights, empirical_prior, load_zhang_prior, photo_prior
from colorkit.train_cli import main as train_main

torch.set_num_threads(1)


def _save(path, rgb: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rgb.astype(np.uint8)).save(path)


def _histogram(rgbs: list[np.ndarray]) -> np.ndarray:
    """Pixels per bin of uint8 (H, W, 3) images: skimage's Lab and the nearest bin centre by brute force."""
    bins = ab_bins(dtype=torch.float64).numpy()  # (313, 2)
    counts = np.zeros(len(bins))
    for rgb in rgbs:
        ab = skcolor.rgb2lab(rgb / 255.0)[..., 1:].reshape(-1, 2)
        nearest = ((ab[:, None, :] - bins[None]) ** 2).sum(-1).argmin(1)
        counts += np.bincount(nearest, minlength=len(bins))
    return counts


def _smooth(p: np.ndarray, sigma: float) -> np.ndarray:
    """Zhang's smoothing by explicit sums: bin r's mass spread over the bins q by exp(-|q - r|^2 / 2 sigma^2)."""
    bins = ab_bins(dtype=torch.float64).numpy()
    out = np.zeros_like(p)
    for r in range(len(p)):
        k = np.exp(-((bins - bins[r]) ** 2).sum(1) / (2 * sigma ** 2))
        out += p[r] * k / k.sum()
    return out / out.sum()


@pytest.fixture
def photos(tmp_path):
    """A folder of three photos (one in a subfolder, one larger than PRIOR_MAX_SIDE) and their pixels as counted."""
    rng = np.random.default_rng(0)
    folder = tmp_path / "photos"
    red = np.zeros((10, 20, 3)) + [200, 30, 40]
    noisy = rng.integers(0, 256, (30, 40, 3))
    big = np.repeat(np.repeat(rng.integers(0, 256, (3, 6, 3)), 100, axis=0), 100, axis=1)  # 300 x 600 blocks
    _save(folder / "red.png", red)
    _save(folder / "sub" / "noisy.png", noisy)
    _save(folder / "big.png", big)
    shrunk = np.asarray(Image.fromarray(big.astype(np.uint8)).resize((512, 256), Image.Resampling.BOX))
    return folder, [red.astype(np.uint8), noisy.astype(np.uint8), big.astype(np.uint8)], shrunk


def test_photo_prior_counts_every_pixel_and_smooths_like_zhang(photos):
    folder, (red, noisy, big), _ = photos
    result = photo_prior(folder, sigma=5.0)
    assert sorted(p.name for p in result.photos) == ["big.png", "noisy.png", "red.png"] and not result.skipped
    assert result.pixels == 200 + 1200 + 512 * 256  # the 600 px photo is shrunk to 512 px on its longer side
    small = photo_prior([folder / "red.png", folder / "sub"], sigma=5.0)
    want = _histogram([red, noisy])
    np.testing.assert_allclose(small.empirical.numpy(), want / want.sum(), atol=2.5 / want.sum())
    np.testing.assert_allclose(small.prior.numpy(), _smooth(small.empirical.numpy(), 5.0), atol=1e-12)
    assert torch.equal(photo_prior(folder, sigma=0).prior, result.empirical)
    blocks = photo_prior(folder / "big.png", max_side=None)  # every pixel of the original
    want = _histogram([big])
    np.testing.assert_allclose(blocks.empirical.numpy(), want / want.sum(), atol=2.5 / want.sum())
    (folder.parent / "none").mkdir()
    with pytest.raises(ValueError, match="no image files"):
        photo_prior(folder.parent / "none")


def test_cli_prior_writes_plots_refuses_to_overwrite_and_reports_skips(photos, tmp_path, capsys):
    folder, *_ = photos
    out, png = tmp_path / "out" / "prior.npy", tmp_path / "prior.png"
    assert cli_main(["prior", str(folder), "-o", str(out), "--plot", str(png)]) == 0
    text = capsys.readouterr().out
    saved = np.load(out)
    assert saved.shape == (313,) and saved.dtype == np.float64 and abs(saved.sum() - 1) < 1e-12
    np.testing.assert_array_equal(saved, photo_prior(folder).prior.numpy())
    assert "prior of 3 photo(s)" in text and "grey_mass" in text and "mean_chroma" in text
    assert "unusually saturated" in text  # random-noise photos: the plausibility check speaks up
    assert Image.open(png).format == "PNG"
    with pytest.warns(UserWarning, match="does not look like a prior of photos"):  # what train --prior reads
        torch.testing.assert_close(load_zhang_prior(path=out), torch.from_numpy(saved))
    before = out.read_bytes()
    assert cli_main(["prior", str(folder), "-o", str(out), "--sigma", "0"]) == 2
    assert "already exists; pass --overwrite" in capsys.readouterr().err and out.read_bytes() == before
    assert cli_main(["prior", str(folder / "red.png"), "-o", str(tmp_path / "x.npy"), "--plot", str(png)]) == 2
    assert not (tmp_path / "x.npy").exists()  # the plot was there: nothing written
    assert cli_main(["prior", str(folder), "-o", str(out), "--sigma", "0", "--overwrite"]) == 0
    np.testing.assert_array_equal(np.load(out), photo_prior(folder).empirical.numpy())
    (folder / "broken.jpg").write_bytes(b"not a photo")
    assert cli_main(["prior", str(folder), "-o", str(tmp_path / "b.npy")]) == 1
    assert "skipped" in capsys.readouterr().out and (tmp_path / "b.npy").is_file()
    (tmp_path / "empty").mkdir()
    for argv, words in ((["prior", str(tmp_path / "empty"), "-o", str(tmp_path / "e.npy")], "no image files"),
                        (["prior", str(tmp_path / "gone"), "-o", str(tmp_path / "e.npy")], "gone"),
                        (["prior", str(folder), "-o", str(tmp_path / "e.txt")], "expected a .npy"),
                        (["prior", str(folder), "-o", str(tmp_path / "e.npy"), "--sigma", "-1"], "--sigma")):
        assert cli_main(argv) == 2
        err = capsys.readouterr().err
        assert words in err and err.count("\n") == 1, err
    with pytest.raises(SystemExit):
        cli_main(["prior", "--help"])
    assert "exit status: 0" in " ".join(capsys.readouterr().out.split())


def test_random_crops_are_windows_of_each_image():
    images = torch.randint(0, 256, (6, 3, 12, 10), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    crops = random_crops(images, 4, torch.Generator().manual_seed(1))
    assert crops.shape == (6, 3, 4, 4)
    places = set()
    for img, crop in zip(images, crops):
        found = [(t, l) for t in range(9) for l in range(7) if torch.equal(img[:, t:t + 4, l:l + 4], crop)]
        assert len(found) == 1
        places.add(found[0])
    assert len(places) > 3  # the places vary
    assert torch.equal(random_crops(images, 4, torch.Generator().manual_seed(1)), crops)
    assert torch.equal(random_crops(images[:, :, :10], 10), images[:, :, :10])
    with pytest.raises(ValueError, match=r"size must be an int in \[1, 10\]"):
        random_crops(images, 11)


def test_photo_training_sets_hold_out_every_tenth_photo(tmp_path):
    colours = [(20 * i, 100, 250 - 20 * i) for i in range(12)]
    for i, c in enumerate(colours):
        _save(tmp_path / "many" / f"p{i:02d}.png", np.zeros((50 + i, 70, 3)) + c)
    train, val = photo_training_sets(tmp_path / "many", 64, multiple=8)
    side = math.ceil(64 * PHOTO_LOAD_SCALE / 8) * 8
    assert side == 96 and train.images.shape == (10, 3, 96, 96) and val.images.shape == (2, 3, 96, 96)
    assert [tuple(v[:, 48, 48].tolist()) for v in val.images] == [colours[0], colours[10]]
    for split in ("train", "test"):
        for i in range(2):
            _save(tmp_path / "split" / split / f"{split}{i}.png", np.zeros((40, 40, 3)) + (5, 5, 5))
    train, val = photo_training_sets(tmp_path / "split", 32, multiple=8, limit=1)
    assert len(train) == 1 and len(val) == 2 and train.images.shape[-1] == 48
    few_train, few_val = photo_training_sets(tmp_path / "split" / "train", 32)
    assert torch.equal(few_train.images, few_val.images)  # fewer than 10 photos: they validate too
    with pytest.raises(ValueError, match="multiple of 8"):
        photo_training_sets(tmp_path / "many", 60, multiple=8)


def test_fit_trains_on_random_crops():
    from colorkit.models import build_model
    from colorkit.train import TrainConfig, fit

    images = torch.randint(0, 256, (8, 3, 24, 24), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    model = build_model("cnn_tanh", width=0.125)
    shapes = []
    model.register_forward_pre_hook(lambda m, inputs: shapes.append(tuple(inputs[0].shape)))
    fit(model, images, images[:2], TrainConfig(epochs=1, batch_size=4, crop=16), device="cpu", progress=False)
    assert shapes == [(4, 1, 16, 16), (4, 1, 16, 16), (2, 1, 24, 24)]  # crops to train, whole images to validate
    for crop in (12, 32):
        with pytest.raises(ValueError, match="crop must be a multiple of 8"):
            fit(model, images, cfg=TrainConfig(crop=crop), device="cpu", progress=False)


def test_train_cli_on_a_folder_of_photos_with_a_prior_file_and_its_own_prior(tmp_path, capsys):
    from skimage import data

    folder = tmp_path / "mine"
    for name in ("astronaut", "chelsea", "coffee", "rocket"):  # scikit-image's sample photos, saved as PNG
        _save(folder / f"{name}.png", getattr(data, name)())
    prior = tmp_path / "prior.npy"
    assert cli_main(["prior", str(folder), "-o", str(prior)]) == 0
    ckpt = tmp_path / "own.pt"
    common = ["--data", str(folder), "--size", "64", "--epochs", "1", "--no-progress"]
    assert train_main(["--model", "zhang_simplified", *common, "--loss", "rebalanced", "--prior", str(prior),
                       "--checkpoint", str(ckpt)]) == 0
    state = load_checkpoint(ckpt)
    assert state["config"]["crop"] == 64 and state["image_size"] == 96 and str(folder.resolve()) in state["dataset"]
    torch.testing.assert_close(state["config"]["class_weights"],
                               class_weights(torch.from_numpy(np.load(prior)), lam=0.5, sigma=5.0).float())
    own = tmp_path / "hints.pt"
    assert train_main(["--model", "zhang_hints", *common, "--loss", "rebalanced", "--prior", "own",
                       "--checkpoint", str(own)]) == 0
    assert "zhang_hints on photos in" in capsys.readouterr().out
    photos96 = load_photos(folder, size=96)  # the training photos as loaded: all 4 (fewer than 10 to hold out)
    torch.testing.assert_close(load_checkpoint(own)["config"]["class_weights"],
                               class_weights(empirical_prior(photos96), lam=0.5, sigma=5.0).float())
    assert train_main(["--model", "zhang_simplified", *common[:2], "--size", "60", "--no-progress"]) == 2
    assert "--size must be a positive multiple of 8" in capsys.readouterr().err
