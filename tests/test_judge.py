"""Tests for the VGG judge (colorkit.judge) and the VGG models (colorkit.models.vgg)."""
from __future__ import annotations

import math
from dataclasses import replace
import warnings

import numpy as np
import pytest
import scipy.linalg
import torch

from colorkit import judge as J
from colorkit import judge_train, loop
from colorkit.color import lab_to_rgb
from colorkit.data import ImageSet
from colorkit.effects import measure
from colorkit.models import build_model, vgg
from colorkit.models.vgg import CIFAR_MEAN, CIFAR_STD, VGG, ImageNetVGG, VGGTransferColorizer

torch.set_num_threads(1)


# ---------------------------------------------------------------- the VGG classifier

def test_vgg_shapes_and_penultimate():
    net = VGG("vgg11", width=0.125).eval()
    x = torch.rand(2, 3, 32, 32)
    assert net.features(x).shape == (2, 64, 1, 1)  # 512 * 0.125 channels after five 2x2 pools
    assert net.penultimate(x).shape == (2, 64) and net.feature_dim == 64
    assert net(x).shape == (2, 10)
    torch.testing.assert_close(net.fc(net.penultimate(x)), net(x))  # penultimate = input of the last layer
    assert net(torch.rand(2, 3, 64, 64)).shape == (2, 10)  # the global pool takes larger inputs
    assert VGG("vgg16", num_classes=4, width=0.125, hidden=32).eval()(x).shape == (2, 4)
    with pytest.raises(ValueError, match=r"VGG.features.*\(3, 32, 32\)"):
        net(torch.rand(3, 32, 32))
    with pytest.raises(ValueError, match="unknown cfg"):
        VGG("vgg19")


def test_vgg_normalises_with_cifar_statistics():
    net = VGG("vgg11", width=0.125)
    mean, std = torch.tensor(CIFAR_MEAN).view(1, 3, 1, 1), torch.tensor(CIFAR_STD).view(1, 3, 1, 1)
    torch.testing.assert_close(net.normalize(mean.expand(1, 3, 2, 2)), torch.zeros(1, 3, 2, 2))
    torch.testing.assert_close(net.normalize(mean + std), torch.ones(1, 3, 1, 1))


def test_vgg_parameter_counts():
    # conv3x3 without bias (BN shifts) = 9 * c_in * c_out, BN = 2 * c_out, head = Linear(512, 512) + Linear(512, 10).
    # vgg16: sum c_in * c_out = 3*64 + 64*64 + 64*128 + 128*128 + 128*256 + 2*256*256 + 256*512 + 5*512*512
    #        = 1,634,496 -> 9 * 1,634,496 = 14,710,464; BN 2 * 4,224 = 8,448; head 262,656 + 5,130 = 267,786
    #        total 14,986,698.
    # vgg11: sum = 3*64 + 64*128 + 128*256 + 256*256 + 256*512 + 3*512*512 = 1,024,192 -> 9,217,728;
    #        BN 2 * 2,752 = 5,504; head 267,786; total 9,491,018.
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert count(VGG("vgg16")) == 14_986_698
    assert count(VGG("vgg11")) == 9_491_018


# ---------------------------------------------------------------- Frechet distance

def _scipy_frechet(a: np.ndarray, b: np.ndarray) -> float:
    ca, cb = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean = scipy.linalg.sqrtm(ca @ cb).real
    return float(((a.mean(0) - b.mean(0)) ** 2).sum() + np.trace(ca) + np.trace(cb) - 2 * np.trace(covmean))


def test_frechet_hand_cases():
    g = torch.Generator().manual_seed(0)
    a = torch.randn(500, 6, generator=g, dtype=torch.float64)
    assert abs(J.frechet_distance(a, a)) < 1e-9
    shift = torch.tensor([1.0, -2.0, 0.5, 0.0, 3.0, 0.25], dtype=torch.float64)
    # equal covariances: the trace terms cancel, leaving the squared mean distance 1 + 4 + .25 + 9 + .0625
    assert J.frechet_distance(a, a + shift) == pytest.approx(14.3125, rel=1e-9)
    # 1-D: (mu_a - mu_b)^2 + (sigma_a - sigma_b)^2
    x = torch.randn(1000, 1, generator=g, dtype=torch.float64)
    y = 3 * x + 1
    assert J.frechet_distance(x, y) == pytest.approx((y.mean() - x.mean()).item() ** 2 + (2 * x.std()).item() ** 2,
                                                    rel=1e-9)


def test_frechet_matches_scipy():
    rng = np.random.default_rng(1)
    a = rng.normal(size=(300, 8)) @ rng.normal(size=(8, 8))
    b = rng.normal(size=(200, 8)) @ rng.normal(size=(8, 8)) + 0.3
    ours = J.frechet_distance(torch.from_numpy(a).float(), torch.from_numpy(b).float())
    assert ours == pytest.approx(_scipy_frechet(a.astype(np.float32).astype(np.float64),
                                                b.astype(np.float32).astype(np.float64)), rel=1e-6)
    with pytest.raises(ValueError, match=r"frechet_distance: feature dims differ"):
        J.frechet_distance(torch.zeros(4, 3), torch.zeros(4, 2))
    with pytest.raises(ValueError, match=r"frechet_distance: .*N >= 2"):
        J.frechet_distance(torch.zeros(1, 3), torch.zeros(4, 3))


# ---------------------------------------------------------------- training, cache, judging colorizers

def _hue_set(n: int, seed: int, name: str = "hues") -> ImageSet:
    """4 classes = the hue of the image (ab direction 0, 90, 180, 270 degrees); L is random texture for all classes."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.arange(n) % 4
    L = 35 + 30 * torch.rand(n, 1, 8, 8, generator=g)
    L = torch.nn.functional.interpolate(L, size=32, mode="bilinear", align_corners=False)  # (N, 1, 32, 32)
    angle = labels.double() * math.pi / 2
    chroma = 25 + 10 * torch.rand(n, 1, 32, 32, generator=g)
    ab = torch.stack([torch.cos(angle), torch.sin(angle)], 1)[:, :, None, None] * chroma  # (N, 2, 32, 32)
    rgb = lab_to_rgb(torch.cat([L, ab.float()], 1)).clamp(0, 1)
    return ImageSet((rgb * 255).round().to(torch.uint8), labels, ["red", "yellow", "green", "blue"], name, "synthetic")


# The smallest VGG judge that exercises every code path (the numbers mean nothing).
SMOKE = judge_train.JudgeConfig(arch="vgg11", width=0.125, batch_size=64, lr=0.05, warmup=0.2, tta=False,
                                eval_batch_size=256, profile="smoke", epochs=1, progress=False)


@pytest.fixture(scope="module")
def hue_judge(tmp_path_factory):
    cache = tmp_path_factory.mktemp("judge_cache")
    train, test = _hue_set(512, 0), _hue_set(128, 1)
    cfg = replace(SMOKE, epochs=4)
    model, info = judge_train.train_judge(train, test, cfg, device="cpu", cache=cache)
    return model, info, cfg, cache, train, test


def test_tiny_judge_learns_hue(hue_judge):
    model, info, _, _, _, _ = hue_judge
    assert not info["cached"] and info["data_name"] == "hues" and info["n_train"] == 512
    assert info["test_accuracy"] > 0.6  # chance is 0.25
    assert info["device_name"].startswith("cpu") and info["train_time_s"] > 0 and len(info["history"]) == 4


def test_cache_hit_loads_instead_of_training(hue_judge, monkeypatch):
    model, info, cfg, cache, train, test = hue_judge
    monkeypatch.setattr(judge_train, "_fit", lambda *a, **k: pytest.fail("trained again despite the cache"))
    again, info2 = judge_train.train_judge(train, test, cfg, device="cpu", cache=cache)
    assert info2["cached"] and info2["cache_path"] == info["cache_path"]
    assert info2["test_accuracy"] == info["test_accuracy"] and info2["device_name"] == info["device_name"]
    for (k, v), v2 in zip(model.state_dict().items(), again.state_dict().values()):
        torch.testing.assert_close(v, v2, msg=k)
    # a different recipe is a different key: a new file in a folder cache, an error for a single-file cache
    assert judge_train.judge_key(cfg, "hues", 512) != judge_train.judge_key(replace(SMOKE, epochs=5), "hues", 512)
    with pytest.raises(ValueError, match="train_judge: cache .* holds judge"):
        judge_train.train_judge(train, test, replace(SMOKE, epochs=5), "cpu", info["cache_path"])


def test_judged_rows_through_effects_measure(hue_judge):
    model, _, _, _, _, test = hue_judge
    zero = lambda L: torch.zeros(L.shape[0], 2, *L.shape[2:])  # noqa: E731
    m = measure(test.images, test.labels, {"zero": zero}, {"j": model}, batch_size=50, features=("zero", "grayscale"),
                progress=False)
    assert list(m) == ["grayscale", "truth", "zero"]
    for k in ("correct:j", "rmse_ab", "features:j"):  # a colorizer predicting a = b = 0 is the gray row
        np.testing.assert_allclose(m["zero"][k], m["grayscale"][k], rtol=1e-5, atol=1e-7)
    assert m["truth"]["rmse_ab"].max() == 0 and m["grayscale"]["rmse_ab"].mean() > 10  # chroma 25..35: ~30 / sqrt(2)
    assert m["truth"]["correct:j"].mean() > 0.6 > m["grayscale"]["correct:j"].mean()  # hue classes need colour
    assert J.frechet_distance(torch.from_numpy(m["grayscale"]["features:j"]), torch.from_numpy(m["truth"]["features:j"])) > 0
    gt = J.judge_images(model, test.images, test.labels, batch_size=50)
    assert gt["top1"] == pytest.approx(m["truth"]["correct:j"].mean()) and gt["features"].shape == (128, 64)
    np.testing.assert_allclose(gt["features"].numpy(), m["truth"]["features:j"], rtol=1e-5, atol=1e-6)
    as_float = J.judge_images(model, test.images.float() / 255, test.labels, batch_size=128)
    torch.testing.assert_close(as_float["features"], gt["features"])  # uint8 and float input agree
    flips = measure(test.images, test.labels, {}, {"j": model}, batch_size=50, progress=False, tta=1)
    assert flips["truth"]["correct:j"].mean() == pytest.approx(J.judge_images(model, test.images, test.labels, tta=1)["top1"])
    with pytest.raises(ValueError, match=r"judge_images: expected labels of shape \(128,\)"):
        J.judge_images(model, test.images, test.labels[:5])
    with pytest.raises(ValueError, match="measure: colouring 'bad' must give ab of shape"):
        measure(test.images, test.labels, {"bad": lambda L: L}, {"j": model}, progress=False)


# ---------------------------------------------------------------- configs, schedule, ImageNet judge

def test_judge_configs_and_schedule():
    seed_004 = judge_train.IMAGENET_JUDGE
    assert (seed_004.arch, seed_004.epochs, seed_004.n_train, seed_004.nesterov) == ("vgg16_bn_imagenet", 10, 10000, True)
    with pytest.raises(TypeError, match="train_judge: expected cfg as a JudgeConfig, got str"):
        judge_train.train_judge(_hue_set(8, 0), None, "smoke")
    f = [judge_train.one_cycle(s, 100, 0.2) for s in range(100)]
    assert f[0] == pytest.approx(0.05) and f[19] == pytest.approx(1.0) and max(f) == 1.0
    assert f[-1] == pytest.approx(1 / 80) and all(a >= b for a, b in zip(f[19:], f[20:]))


def test_imagenet_judge_absent_returns_none(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    assert not vgg.imagenet_judge_available()
    assert vgg.imagenet_weights_path() == tmp_path / "checkpoints" / "vgg16_bn-6c64b313.pth"
    with pytest.warns(RuntimeWarning, match=r"vgg16_bn-6c64b313.pth.*checkpoints"):
        assert judge_train.train_imagenet_judge(_hue_set(8, 0), None, device="cpu") is None
    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "checkpoints" / "vgg16_bn-6c64b313.pth").touch()
    assert vgg.imagenet_judge_available()


# ---------------------------------------------------------------- the VGG-transfer colorizer

def test_vgg_transfer_builds_and_backpropagates():
    model = build_model("vgg_transfer", width=0.125, cfg="vgg11")
    assert isinstance(model, VGGTransferColorizer) and model.output_kind == "logits"
    assert (model.output_stride, model.input_multiple) == (1, 8)
    L = 100 * torch.rand(2, 1, 32, 32)
    logits = model(L)
    assert logits.shape == (2, 313, 32, 32)
    logits.logsumexp(1).mean().backward()
    first = model.encoder.blocks[0][0].weight
    assert first.grad is not None and first.grad.abs().sum() > 0
    assert build_model("vgg_transfer", width=0.125, cfg="vgg11", output_stride=4)(L).shape == (2, 313, 8, 8)
    assert build_model(**model.spec)(L).shape == (2, 313, 32, 32)
    with pytest.raises(ValueError, match=r"divisible by 8"):
        model(torch.rand(1, 1, 20, 20))


def test_vgg_transfer_initialises_from_judge():
    judge = VGG("vgg11", width=0.125)
    model = build_model("vgg_transfer", width=0.125, cfg="vgg11")
    model.load_encoder_from(judge)
    for (k, v), v2 in zip(judge.blocks.state_dict().items(), model.encoder.blocks.state_dict().values()):
        torch.testing.assert_close(v, v2, msg=k)
    with pytest.raises(ValueError, match="load_encoder_from: judge is vgg16"):
        model.load_encoder_from(VGG("vgg16", width=0.125))


def test_imagenet_vgg_wrapper_shapes():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        net = ImageNetVGG("vgg11", num_classes=10, size=32).eval()  # random weights; seed 004 uses size 224
    x = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        assert net.penultimate(x).shape == (2, 4096) and net(x).shape == (2, 10)


def test_stopped_judge_training_resumes_to_the_same_weights(tmp_path, monkeypatch):
    """A run killed after its first epoch goes on from the .partial.pt file to the weights of an unbroken run."""
    train, test = _hue_set(256, 0), _hue_set(64, 1)
    cfg = replace(SMOKE, epochs=2, arch="airnet")
    whole, _ = judge_train.train_judge(train, test, cfg, device="cpu", cache=tmp_path / "whole")
    real_save = loop.save_checkpoint  # the training skeleton's per-epoch checkpoint

    def save_then_die(path, state):
        real_save(path, state)
        raise KeyboardInterrupt("killed after epoch 1")

    monkeypatch.setattr(loop, "save_checkpoint", save_then_die)
    with pytest.raises(KeyboardInterrupt):
        judge_train.train_judge(train, test, cfg, device="cpu", cache=tmp_path / "broken")
    partial = next((tmp_path / "broken").glob("*.partial.pt"))
    monkeypatch.setattr(loop, "save_checkpoint", real_save)
    resumed, info = judge_train.train_judge(train, test, cfg, device="cpu", cache=tmp_path / "broken")
    assert [h["epoch"] for h in info["history"]] == [1, 2] and not partial.exists()
    for (name, a), b in zip(whole.state_dict().items(), resumed.state_dict().values()):
        assert torch.equal(a, b), name
