"""colorkit.models: presets, shapes, strides, gradients, pinned parameter counts, errors, spec round trip."""
from __future__ import annotations

import math
import warnings

import pytest
import torch
from torch import nn

from colorkit.models import (
    MODEL_PRESETS, CompactConfig, CompactNet, Head, ZhangConfig, build_model, count_parameters, list_models,
    scale_channels,
)
from colorkit.models.heads import NUM_BINS

SMALL = 0.125  # the smoke profile's width

# preset -> (output_kind, output_stride, input_multiple) for the presets of this package
EXPECTED = {
    "mlp": ("ab", 1, 1),
    "cnn_tanh": ("ab", 1, 8),
    "cnn_sigmoid": ("ab", 1, 8),
    "compact": ("ab", 1, 8),
    "compact_classifier": ("logits", 1, 8),
    "compact_dilated": ("logits", 1, 8),
    "dilated_concat": ("logits", 1, 8),
    "vgg_compact": ("logits", 1, 8),
    "zhang": ("logits", 4, 8),
    "zhang_simplified": ("logits", 4, 8),
    "zhang_regressor": ("ab", 1, 8),
    "zhang_hints": ("logits", 4, 8),
    "zhang_hints_regressor": ("ab", 1, 8),
    "unet": ("ab", 1, 32),
}
CHEAP_64 = ["mlp", "cnn_tanh", "compact", "compact_dilated", "zhang", "zhang_regressor", "unet"]


def small(name: str, **options) -> nn.Module:
    """A preset at the smoke width (if it has a width option), quiet about missing VGG weights."""
    if "width" in MODEL_PRESETS[name].options():
        options.setdefault("width", SMALL)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return build_model(name, **options)


def lightness(b: int, h: int, w: int | None = None, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return 100 * torch.rand(b, 1, h, w or h, generator=g)


def test_all_expected_presets_registered():
    assert set(EXPECTED) <= set(list_models())
    assert list_models() == sorted(list_models())


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_forward_shape_kind_and_stride(name):
    torch.manual_seed(0)
    model = small(name)
    kind, stride, multiple = EXPECTED[name]
    assert (model.output_kind, model.output_stride, model.input_multiple) == (kind, stride, multiple)
    sizes = [32, 64] if name in CHEAP_64 else [32]
    for s in sizes:
        out = model(lightness(2, s))
        channels = NUM_BINS if kind == "logits" else 2
        assert out.shape == (2, channels, s // stride, s // stride)
        assert torch.isfinite(out).all()


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_backward_reaches_every_trainable_parameter(name):
    torch.manual_seed(0)
    model = small(name)
    out = model(lightness(2, 32))
    out.float().square().mean().backward()
    trainable = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    assert trainable
    for n, p in trainable:
        assert p.grad is not None, f"{name}: no gradient for {n}"
        assert torch.isfinite(p.grad).all(), f"{name}: non-finite gradient for {n}"
    assert any(p.grad.abs().sum() > 0 for _, p in trainable)


def test_vgg_front_end_is_frozen_and_stays_in_eval():
    model = small("vgg_compact", levels=3)
    front = list(model.encoder.parameters())
    assert front and not any(p.requires_grad for p in front)
    model.train()
    assert all(not m.training for m in model.encoder.modules())
    assert model.decoder.training and model.head.training
    model(lightness(2, 32)).square().mean().backward()
    assert all(p.grad is None for p in front)
    # the frozen front end does not count as trainable; the decoder does
    assert count_parameters(model, trainable_only=True) < count_parameters(model)


def test_vgg_weights_loaded_only_from_hub_cache(tmp_path, monkeypatch):
    from colorkit.models.compact import VGG16_BN_FILE, vgg16_bn_front

    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    with pytest.warns(UserWarning, match="randomly"):
        vgg16_bn_front(2, pretrained=True)
    from torchvision.models.vgg import cfgs, make_layers

    ref = make_layers(cfgs["D"][:5], batch_norm=True).state_dict()  # blocks 1-2 as torchvision names them
    state = {f"features.{k}": torch.full_like(v, 0.5) if v.is_floating_point() else v for k, v in ref.items()}
    (tmp_path / "checkpoints").mkdir()
    torch.save(state, tmp_path / "checkpoints" / VGG16_BN_FILE)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning when the weights are there
        levels = vgg16_bn_front(2, pretrained=True)
    assert torch.all(levels[0][0].weight == 0.5) and torch.all(levels[1][1].weight == 0.5)  # conv1_1, conv2_1


def test_pinned_zhang_parameter_counts():
    assert count_parameters(build_model("zhang")) == 32_235_385
    assert count_parameters(build_model("zhang_simplified")) == 15_387_513
    # the hint model: conv1_1 also sees ab hints (2) and the mask (1), 3 x 64 x 3 x 3 weights more
    assert count_parameters(build_model("zhang_hints")) == 15_387_513 + 3 * 64 * 3 * 3


def test_simplified_structure_two_convs_and_at_most_416_channels():
    model = build_model("zhang_simplified", width=1.0)
    for block in model.body:
        convs = [m for m in block if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
        assert 1 <= len(convs) <= 2
        assert all(c.out_channels <= 416 for c in convs)
    assert max(m.out_channels for m in model.body.modules() if isinstance(m, nn.Conv2d)) == 416


def test_zhang_blocks_option_and_regressor_head():
    full = [list(b.channels) for b in ZhangConfig().block_specs()]
    assert count_parameters(build_model("zhang", blocks=full)) == 32_235_385
    # the regression head swaps the 256 -> 313 1x1 conv for a 256 -> 2 one
    assert count_parameters(build_model("zhang_regressor")) == 32_235_385 - (256 * 313 + 313) + (256 * 2 + 2)
    with pytest.raises(ValueError, match="8 non-empty"):
        build_model("zhang", blocks=[[64]] * 7)


def test_zhang_dilation_and_strides_follow_table():
    model = build_model("zhang", width=SMALL)
    convs = [m for m in model.body.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
    assert len(convs) == 2 + 2 + 3 + 3 + 3 + 3 + 3 + 3
    assert [c.stride[0] for c in convs].count(2) == 4  # conv1_2, conv2_2, conv3_3 and the transposed conv8_1
    assert [c.dilation[0] for c in convs].count(2) == 6  # blocks 5 and 6
    assert isinstance(convs[-3], nn.ConvTranspose2d) and convs[-3].kernel_size == (4, 4)
    assert sum(isinstance(m, nn.BatchNorm2d) for m in model.body.modules()) == 7  # blocks 1-7


def test_width_scales_channels_to_multiples_of_eight():
    assert [scale_channels(c, w) for c, w in [(64, 1), (64, 0.125), (512, 0.125), (416, 0.125), (20, 0.1)]] == \
        [64, 8, 64, 48, 8]
    model = build_model("zhang", width=0.25)
    chans = [m.out_channels for m in model.body.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
    assert all(c % 8 == 0 and c >= 8 for c in chans)
    assert count_parameters(model) < count_parameters(build_model("zhang")) / 10
    with pytest.raises(ValueError, match="width"):
        scale_channels(64, 0)


@pytest.mark.parametrize("name", list_models())
def test_every_registered_preset_honours_the_interface(name):
    """Also the presets other modules register (e.g. models/vgg.py)."""
    model = small(name)
    assert model.output_kind in ("ab", "logits")
    s = 32 if 32 % model.input_multiple == 0 else model.input_multiple
    out = model(lightness(2, s))
    channels = NUM_BINS if model.output_kind == "logits" else 2
    assert out.shape == (2, channels, s // model.output_stride, s // model.output_stride)


@pytest.mark.parametrize("name", list_models())
def test_spec_rebuilds_same_architecture(name):
    model = small(name)
    assert model.spec["name"] == name and model.spec["head"] in ("tanh", "sigmoid", "linear", "classify")
    again = small(**model.spec)
    assert again.spec == model.spec
    assert count_parameters(again) == count_parameters(model)
    assert [tuple(p.shape) for p in again.parameters()] == [tuple(p.shape) for p in model.parameters()]


def test_head_override_changes_output_kind():
    model = small("compact_classifier", head="sigmoid")
    assert model.output_kind == "ab" and model.spec["head"] == "sigmoid"
    assert model(lightness(1, 32)).shape == (1, 2, 32, 32)
    assert small("zhang", head="linear").output_kind == "ab"


def test_head_output_maps_by_hand():
    x = torch.tensor([0.0, 0.5, -2.0]).view(1, 1, 1, 3)

    def run(kind: str) -> torch.Tensor:
        head = Head(kind, 1)
        with torch.no_grad():
            head.proj.weight.fill_(1.0)
            head.proj.bias.zero_()
        return head(x.expand(1, 1, 1, 3))

    assert torch.allclose(run("tanh")[0, 0, 0], 110 * torch.tanh(x[0, 0, 0]))
    assert torch.allclose(run("sigmoid")[0, 1, 0], torch.tensor([-0.5, 255 / (1 + math.exp(-0.5)) - 128,
                                                                 255 / (1 + math.exp(2)) - 128]))
    assert torch.allclose(run("linear")[0, 0, 0], torch.tensor([0.0, 55.0, -220.0]))
    assert run("classify").shape == (1, NUM_BINS, 1, 3)
    big = Head("tanh", 1)(1e4 * torch.randn(1, 1, 4, 4))
    assert big.abs().max() <= 110


def test_mlp_sees_only_its_patch():
    model = small("mlp", patch=5).eval()
    L = lightness(1, 16)
    base = model(L)
    far, near = L.clone(), L.clone()
    far[0, 0, 8, 11] += 30.0  # 3 columns from pixel (8, 8): outside its 5x5 patch
    near[0, 0, 8, 10] += 30.0  # 2 columns away: inside
    assert torch.equal(model(far)[..., 8, 8], base[..., 8, 8])
    assert not torch.equal(model(near)[..., 8, 8], base[..., 8, 8])
    with pytest.raises(ValueError, match="odd"):
        small("mlp", patch=4)


def test_compact_variants_differ_as_documented():
    pool, stride = small("compact_classifier"), small("compact_dilated")
    assert any(isinstance(m, nn.MaxPool2d) for m in pool.modules())
    assert not any(isinstance(m, nn.MaxPool2d) for m in stride.modules())
    assert any(getattr(m, "dilation", (1,))[0] == 2 for m in stride.middle.modules())
    concat, no_concat = small("dilated_concat"), stride
    assert count_parameters(concat) > count_parameters(no_concat)  # decoder convs see the skips too
    with pytest.raises(ValueError, match="downsample"):
        CompactNet(CompactConfig(downsample="avg"))


@pytest.mark.parametrize("name", ["zhang", "compact_classifier", "mlp", "unet", "zhang_hints"])
def test_bad_inputs_raise_clear_errors(name):
    model = small(name)
    bad = [lightness(1, 32)[0], torch.zeros(1, 3, 32, 32), torch.zeros(1, 1, 32, 32, dtype=torch.uint8)]
    if model.input_multiple > 1:
        bad.append(torch.zeros(1, 1, 32 + model.input_multiple // 2, 32))
    for x in bad:
        with pytest.raises(ValueError) as err:
            model(x)
        msg = str(err.value)
        assert name in msg
        assert (str(x.dtype) if x.dtype == torch.uint8 else str(tuple(x.shape))) in msg
    with pytest.raises(TypeError):
        model([[1.0]])


def test_registry_errors_list_valid_choices():
    with pytest.raises(ValueError, match="valid models: .*zhang"):
        build_model("zhangg")
    with pytest.raises(ValueError, match="valid options: .*width"):
        build_model("zhang", widht=0.5)
    with pytest.raises(ValueError, match="valid heads: tanh, sigmoid, linear, classify"):
        build_model("zhang", head="softmax")


def test_bf16_autocast_forward_is_finite():
    model = small("zhang_simplified")
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = model(lightness(2, 32))
    assert out.dtype == torch.bfloat16 and torch.isfinite(out.float()).all()


def test_vgg_front_end_sees_the_grey_of_the_input_lightness():
    """The frozen VGG front end is fed the sRGB grey whose Lab is (L, 0, 0), not a re-converted image."""
    from colorkit.color import rgb_to_lab
    from colorkit.color import gray_from_l

    L = torch.linspace(0, 100, 16, dtype=torch.float64).view(1, 1, 4, 4)
    lab = rgb_to_lab(gray_from_l(L))
    assert torch.allclose(lab[:, :1], L, atol=1e-6)
    assert lab[:, 1:].abs().max() < 1e-2  # white (L = 100) is clipped to sRGB (1, 1, 1): a tiny a of 0.004
