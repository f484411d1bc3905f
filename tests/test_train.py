"""colorkit.train / colorkit.targets: overfitting, determinism, exact resume, NaN stop, checkpoints, prediction."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from colorkit import color, metrics, quantize
from colorkit.checkpoint import load_checkpoint, load_model
from colorkit.models import build_model
from colorkit.loop import validate
from colorkit.colorizer import Colorizer
from colorkit.targets import gaussian_blur, predict_ab
from colorkit.loop import TrainingDiverged
from colorkit.train import OPTIMIZERS, History, TrainConfig, fit, make_optimizer

torch.set_num_threads(1)
SIZE = 16  # every test image is 16x16: a multiple of the models' input_multiple (8)


def _images(n: int, seed: int = 0) -> torch.Tensor:
    """uint8 images (N, 3, 16, 16) whose colour is a fixed function of brightness: learnable from L alone."""
    g = torch.Generator().manual_seed(seed)
    ramp = torch.linspace(0, 1, SIZE)
    angle = torch.rand(n, 1, 1, generator=g) * 6.3
    t = 0.5 + 0.5 * (torch.cos(angle) * ramp.view(1, SIZE, 1) + torch.sin(angle) * ramp.view(1, 1, SIZE) - 0.5)
    t = (t + 0.15 * torch.rand(n, SIZE, SIZE, generator=g)).clamp(0, 1)  # (N, H, W) brightness-like field
    rgb = torch.stack([t, 0.2 + 0.6 * t ** 2, 0.9 - 0.7 * t], dim=1)  # (N, 3, H, W): a palette along t
    return (rgb * 255).round().to(torch.uint8)


def _ab_model(seed: int = 0):
    torch.manual_seed(seed)
    return build_model("mlp", width=0.125)  # ab (B, 2, H, W) from 7x7 patches of L: tiny and fast


def _cnn_model(seed: int = 0, dropout: float = 0.0):
    torch.manual_seed(seed)
    return build_model("cnn_tanh", width=0.125, dropout=dropout)  # ab (B, 2, H, W), input_multiple 8


def _logits_model(seed: int = 0):
    torch.manual_seed(seed)
    return build_model("zhang_simplified", width=0.125)  # logits (B, 313, H/4, W/4), BN


def _cfg(**kw) -> TrainConfig:
    base = dict(epochs=2, batch_size=8, optimizer="adam", lr=3e-3, weight_decay=0.0, seed=0)
    return TrainConfig(**{**base, **kw})


def _equal_state(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


@pytest.mark.parametrize("make, loss", [(_ab_model, "l2"), (_logits_model, "ce")])
def test_loss_decreases_on_tiny_overfit(make, loss):
    model = make()
    hist = fit(model, _images(8), cfg=_cfg(epochs=25, loss=loss, lr=1e-2), progress=False)
    assert len(hist.train_loss) == 25 and len(hist.train_loss_step) == 25
    assert hist.train_loss[-1] < 0.5 * hist.train_loss[0], hist.train_loss
    assert all(s > 0 for s in hist.epoch_seconds) and all(r > 0 for r in hist.images_per_second)
    assert not model.training  # fit hands the model back in eval mode


def test_same_seed_gives_identical_weights():
    data = _images(24)
    a, b = _logits_model(), _logits_model()
    ha = fit(a, data, cfg=_cfg(augment=True), device="cpu", progress=False)
    hb = fit(b, data, cfg=_cfg(augment=True), device="cpu", progress=False)
    assert _equal_state(a, b) and ha.train_loss_step == hb.train_loss_step
    c = _logits_model()
    fit(c, data, cfg=_cfg(augment=True, seed=1), device="cpu", progress=False)  # another shuffle / augmentation
    assert not _equal_state(a, c)


def test_resume_after_crash_matches_uninterrupted_run(tmp_path):
    data, val = _images(24), _images(8, seed=1)
    cfg = dict(augment=True, log_every=2)
    straight = _cnn_model(dropout=0.2)  # dropout: the torch CPU RNG state must be restored as well
    h_straight = fit(straight, data, val, _cfg(**cfg), device="cpu", progress=False)

    path = tmp_path / "run.pt"
    crashed = _cnn_model(dropout=0.2)
    calls = {"n": 0}

    def crash(module, inputs, output):  # dies in the middle of epoch 2 (3 steps an epoch)
        calls["n"] += module.training
        if calls["n"] == 5:
            raise RuntimeError("simulated crash")

    handle = crashed.register_forward_hook(crash)
    with pytest.raises(RuntimeError, match="simulated crash"):
        fit(crashed, data, val, _cfg(checkpoint=path, **cfg), device="cpu", progress=False)
    handle.remove()
    assert load_checkpoint(path)["epoch"] == 1

    resumed = _cnn_model(seed=123, dropout=0.2)  # a different init: everything must come from the checkpoint
    h_resumed = fit(resumed, data, val, _cfg(checkpoint=path, **cfg), device="cpu", progress=False)
    assert _equal_state(straight, resumed)
    assert h_resumed.train_loss_step == h_straight.train_loss_step
    assert h_resumed.val_rmse_ab == h_straight.val_rmse_ab and len(h_resumed.val_loss) == 2
    assert load_checkpoint(path)["epoch"] == 2
    # a finished run resumes to a no-op; a changed training setting is refused
    again = _cnn_model(seed=7, dropout=0.2)
    fit(again, data, val, _cfg(checkpoint=path, **cfg), device="cpu", progress=False)
    assert _equal_state(again, straight)
    with pytest.raises(ValueError, match="cannot resume .* lr"):
        fit(_cnn_model(dropout=0.2), data, val, _cfg(checkpoint=path, lr=1e-4, **cfg), device="cpu", progress=False)


def test_nan_loss_stops_with_clear_error_and_keeps_last_checkpoint(tmp_path):
    model, path = _ab_model(), tmp_path / "nan.pt"
    calls = {"n": 0}

    def poison(module, inputs, output):  # inf output at the 2nd training step of epoch 2 (4 steps an epoch)
        calls["n"] += module.training
        return output * float("inf") if calls["n"] == 6 else None

    model.register_forward_hook(poison)
    with pytest.raises(TrainingDiverged, match=r"epoch 2, step 2 of 4.*last good checkpoint .*epoch 1"):
        fit(model, _images(32), cfg=_cfg(checkpoint=path), progress=False)
    state = load_checkpoint(path)
    assert state["epoch"] == 1 and len(state["history"]["train_loss"]) == 1
    assert all(torch.isfinite(v).all() for v in state["model"].values())


def test_huge_learning_rate_diverges():
    torch.manual_seed(0)
    model = build_model("cnn_tanh", head="linear", width=0.125)  # unbounded head: the loss can blow up
    with pytest.raises(TrainingDiverged, match=r"loss is (nan|inf) at epoch \d+, step \d+ of 2"):
        fit(model, _images(16), cfg=_cfg(optimizer="sgd", lr=1e12, epochs=3), progress=False)


def test_checkpoint_loads_weights_only_and_load_model_rebuilds(tmp_path):
    path = tmp_path / "ck.pt"
    model = _logits_model()
    fit(model, _images(16), _images(8, seed=1), _cfg(epochs=1, checkpoint=path), progress=False)
    raw = torch.load(path, weights_only=True)  # plain types and tensors only
    assert raw["epoch"] == 1 and raw["spec"] == model.spec
    assert raw["config"]["optimizer"] == "adam" and raw["config"]["checkpoint"] == str(path)
    assert set(raw["rng"]) >= {"torch_cpu", "shuffle"} and raw["rng"]["shuffle"].dtype == torch.uint8
    assert set(raw["history"]) == set(History().to_dict()) and len(raw["history"]["val_rmse_ab"]) == 1
    assert raw["optimizer"]["state"] and raw["dataset"] == ""
    loaded, meta = load_model(path, device="cpu")
    assert not loaded.training and meta["epoch"] == 1 and History.from_dict(meta["history"]).train_loss
    assert _equal_state(loaded, model)
    L = color.to_luma_chroma(color.uint8_to_float(_images(4, seed=2)), "lab")[0]
    assert torch.equal(predict_ab(loaded, L), predict_ab(model, L))


def test_predict_ab_shapes_and_values_for_both_kinds():
    L = torch.rand(5, 1, 20, 28) * 100  # not a multiple of input_multiple 8: padded, then cropped
    for model in (_cnn_model(), _logits_model()):
        model.train()
        ab = predict_ab(model, L, batch_size=2)
        assert ab.shape == (5, 2, 20, 28) and ab.dtype == L.dtype and torch.isfinite(ab).all()
        assert model.training  # the mode is restored
        assert torch.allclose(ab, predict_ab(model, L, batch_size=5), atol=1e-5)  # batching changes nothing
    L16 = L[:, :, :16, :16]
    model.eval()
    with torch.no_grad():
        want = F.interpolate(quantize.decode(model(L16), method="annealed", T=0.38), size=(16, 16),
                             mode="bilinear", align_corners=False)
    assert torch.allclose(predict_ab(model, L16), want, atol=1e-5)
    rgb = Colorizer(model)(_images(3))
    assert rgb.shape == (3, 3, SIZE, SIZE) and rgb.min() >= 0 and rgb.max() <= 1


def test_validation_metric_matches_predict_ab():
    model, val = _logits_model(), _images(8, seed=3)
    hist = fit(model, _images(16), val, _cfg(epochs=1), progress=False)
    L, ab = color.to_luma_chroma(color.uint8_to_float(val), "lab")
    want = metrics.rmse_ab(predict_ab(model, L), ab).mean().item()
    assert hist.val_rmse_ab[0] == pytest.approx(want, rel=1e-4)
    loss, rmse = validate(model, val, "ce", batch_size=3)  # uneven batches: per-image means
    assert rmse == pytest.approx(want, rel=1e-4) and loss == pytest.approx(hist.val_loss[0], rel=1e-4)


def test_rebalanced_with_unit_weights_equals_soft_cross_entropy():
    data = _images(16)
    a, b = _logits_model(), _logits_model()
    fit(a, data, cfg=_cfg(loss="ce"), progress=False)
    fit(b, data, cfg=_cfg(loss="rebalanced", class_weights=torch.ones(313)), progress=False)
    assert _equal_state(a, b)


@pytest.mark.parametrize("kw", [dict(loss="l1"), dict(color_space="ycbcr", target_blur=1.5), dict(amp="bf16"),
                                dict(optimizer="adadelta", lr=None), dict(optimizer="rmsprop", lr=None)])
def test_other_regression_settings_train(kw):
    hist = fit(_ab_model(), _images(16), _images(8, seed=1), _cfg(**kw), progress=False)
    assert all(map(torch.isfinite, torch.tensor(hist.train_loss + hist.val_loss + hist.val_rmse_ab)))


def test_ce_onehot_trains_with_bf16_autocast_and_channels_last():
    hist = fit(_logits_model(), _images(16), cfg=_cfg(loss="ce_onehot", amp="bf16", channels_last=True),
               progress=False)
    assert len(hist.train_loss) == 2 and all(0 < v < 100 for v in hist.train_loss_step)
    with pytest.raises(ValueError, match="amp 'fp16' needs a CUDA device"):
        fit(_logits_model(), _images(16), cfg=_cfg(amp="fp16"), device="cpu", progress=False)


def test_gaussian_blur_matches_scipy():
    ndimage = pytest.importorskip("scipy.ndimage")
    x = torch.rand(2, 2, 12, 15, dtype=torch.float64)
    want = ndimage.gaussian_filter(x.numpy(), sigma=(0, 0, 1.0, 1.0), mode="mirror", truncate=3.0)
    assert torch.allclose(gaussian_blur(x, 1.0), torch.from_numpy(want), atol=1e-12)
    assert torch.equal(gaussian_blur(x, 0.0), x)


def test_optimizer_presets():
    p = [torch.nn.Parameter(torch.zeros(3))]
    adam = make_optimizer(p, TrainConfig()).param_groups[0]
    assert (adam["lr"], adam["betas"], adam["weight_decay"]) == (3.16e-5, (0.9, 0.99), 1e-3)  # Zhang et al.
    sgd = make_optimizer(p, TrainConfig(optimizer="sgd", lr=0.5)).param_groups[0]
    assert sgd["nesterov"] and sgd["lr"] == 0.5
    assert set(OPTIMIZERS) == {"adam", "adadelta", "rmsprop", "sgd"}


@pytest.mark.parametrize("kw, match", [
    (dict(optimizer="adamw"), "optimizer 'adamw'; valid values: adam, adadelta, rmsprop, sgd"),
    (dict(loss="mse"), "loss 'mse'; valid values: auto, l2, l1, ce"),
    (dict(color_space="hsv"), "color_space 'hsv'; valid values: lab, ycbcr"),
    (dict(amp="fp8"), "amp 'fp8'"),
    (dict(epochs=0), "epochs must be an int >= 1, got 0"),
    (dict(sigma=-1.0), "sigma must be > 0"),
    (dict(class_weights=torch.ones(10)), r"class_weights must be a \(313,\) tensor or None, got \(10,\)"),
])
def test_bad_config_raises(kw, match):
    with pytest.raises(ValueError, match=match):
        TrainConfig(**kw)


def test_bad_fit_and_predict_inputs_raise():
    data = _images(8)
    with pytest.raises(ValueError, match="loss 'ce' does not fit a model with output_kind 'ab'"):
        fit(_ab_model(), data, cfg=_cfg(loss="ce"), progress=False)
    with pytest.raises(ValueError, match="color_space must be 'lab'"):
        fit(_logits_model(), data, cfg=_cfg(color_space="ycbcr"), progress=False)
    with pytest.raises(ValueError, match="needs cfg.class_weights"):
        fit(_logits_model(), data, cfg=_cfg(loss="rebalanced"), progress=False)
    with pytest.raises(ValueError, match=r"uint8 \(N, 3, H, W\) tensor, got shape \(8, 3, 16, 16\), dtype torch.flo"):
        fit(_ab_model(), data.float(), cfg=_cfg(), progress=False)
    with pytest.raises(ValueError, match="divisible by 8"):
        fit(_cnn_model(), data[..., :12], cfg=_cfg(), progress=False)
    with pytest.raises(TypeError, match="TrainConfig"):
        fit(_ab_model(), data, cfg={"epochs": 1}, progress=False)
    with pytest.raises(ValueError, match=r"predict_ab: expected L with 1 channels"):
        predict_ab(_ab_model(), torch.rand(2, 3, 16, 16))
    with pytest.raises(ValueError, match="unknown method 'median'"):
        predict_ab(_logits_model(), torch.rand(2, 1, 16, 16), method="median")


def test_history_round_trips_and_plots():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    hist = History(train_loss_step=[3.0, 2.0, 1.5, 1.0], train_loss=[2.5, 1.25], val_loss=[2.0, 1.5])
    assert History.from_dict(hist.to_dict()) == hist
    ax = hist.plot()
    assert [line.get_label() for line in ax.get_lines()] == ["train (step)", "train (epoch)", "validation"]
    assert list(ax.get_lines()[0].get_xdata()) == [0.5, 1.0, 1.5, 2.0]  # steps placed in epoch units
    matplotlib.pyplot.close(ax.figure)


def test_checkpoint_records_profile_data_and_size_for_colorkit_info(tmp_path):
    from colorkit.experiment import train_config
    from colorkit.profiles import get_profile

    cfg = train_config(get_profile("smoke"), seed=3, epochs=1, batch_size=8, checkpoint=tmp_path / "m.pt")
    fit(_ab_model(), _images(16), None, cfg, progress=False)
    raw = torch.load(tmp_path / "m.pt", weights_only=True)
    assert raw["config"]["profile"] == "smoke" and raw["config"]["seed"] == 3
    assert raw["image_size"] == 16 and raw["spec"]["name"] == "mlp"


def test_cli_trains_the_rebalanced_loss_from_the_training_set_prior(tmp_path, capsys):
    from colorkit.rebalance import class_weights, empirical_prior
    from colorkit.data import load_dataset
    from colorkit.train_cli import main

    ckpt = tmp_path / "rebalanced.pt"
    argv = ["--model", "zhang_simplified", "--profile", "smoke", "--data", "embedded", "--loss", "rebalanced",
            "--prior", "own", "--prior-sigma", "0", "--checkpoint", str(ckpt), "--no-progress"]
    assert main(argv) == 0
    saved = load_checkpoint(ckpt)["config"]
    want = class_weights(empirical_prior(load_dataset("embedded", "train", limit=128)), lam=0.5, sigma=None)
    assert saved["loss"] == "rebalanced"
    torch.testing.assert_close(saved["class_weights"], want.float())
    missing = ["--model", "zhang_simplified", "--data", "embedded", "--loss", "rebalanced",
               "--prior", str(tmp_path / "none.npy"), "--no-progress"]
    assert main(missing) == 2
    assert "none.npy, which does not exist" in capsys.readouterr().err
