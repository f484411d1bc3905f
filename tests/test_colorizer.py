"""ck.Colorizer beyond tests/test_effects.py: hints, checkpoints (space and size read from them) and overrides."""
from __future__ import annotations

import pytest
import torch

import colorkit as ck
from colorkit.colorizer import Colorizer, image_pair, load_colorizer
from colorkit.hint_points import hints_from_points
from colorkit.targets import predict_colors


@pytest.fixture(scope="module")
def images():
    return ck.load_dataset("embedded", "test", limit=2).images  # (2, 3, 32, 32) uint8


def test_hints_pass_through_to_predict_colors(images):
    torch.manual_seed(0)
    model = ck.build_model("zhang_hints", width=0.125).eval()
    hints = [torch.cat(t) for t in zip(*(hints_from_points([(3, 4, "#ff0000"), (20, 9, (10.0, -30.0))], (32, 32))
                                         for _ in range(2)))]
    c = Colorizer(model, name="hints", size=16)
    hinted = c(images, hints=tuple(hints))
    assert torch.equal(hinted, predict_colors(model, images, "lab", size=16, hints=tuple(hints)))
    assert not torch.equal(hinted, c(images))  # the hints change the colours
    with pytest.raises(ValueError, match="no hint input"):
        Colorizer(ck.build_model("zhang_simplified", width=0.125))(images, hints=tuple(hints))


def test_from_checkpoint_reads_space_and_size_and_takes_overrides(images, tmp_path):
    torch.manual_seed(0)
    model = ck.build_model("cnn_sigmoid", width=0.125)
    cfg = ck.TrainConfig(epochs=1, batch_size=2, color_space="ycbcr", checkpoint=str(tmp_path / "tiny.pt"))
    ck.fit(model, images[:, :, :24].contiguous(), None, cfg, device="cpu", progress=False)  # trained at 24 x 32
    c = Colorizer.from_checkpoint(tmp_path / "tiny.pt", "cpu")
    assert (c.space, c.size, c.T, c.method) == ("ycbcr", (24, 32), ck.quantize.DEFAULT_T, "annealed")
    assert torch.equal(c(images), predict_colors(c.model, images, "ycbcr", size=(24, 32)))
    other = Colorizer.from_checkpoint(tmp_path / "tiny.pt", "cpu", space="lab", size=16, T=0.2)
    assert (other.space, other.size, other.T) == ("lab", 16, 0.2)
    assert load_colorizer(tmp_path / "tiny.pt", "cpu", image_size=8)[1]["image_size"] == (8, 8)
    with pytest.raises(ValueError, match="image_size must be a positive int"):
        image_pair(0)
