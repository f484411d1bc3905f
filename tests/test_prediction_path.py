"""One prediction path (targets.predict_colors): a perfect colorizer scores ~0 whatever its colour space, through
training's validation, experiment.evaluate (notebooks 01-05), effects.measure (notebook 06, cards) and colorize_images."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from colorkit import evaluation as E
from colorkit import experiment as X
from colorkit import loop, targets
from colorkit.color import to_luma_chroma, uint8_to_float
from colorkit.colorize import colorize_images
from colorkit.colorizer import Colorizer
from colorkit.data import ImageSet
from colorkit.effects import measure
from colorkit.models.vgg import VGG
from colorkit.notebook import NotebookRun
from colorkit.profiles import get_profile
from colorkit.train import History

torch.set_num_threads(1)
SPACES = ("lab", "ycbcr")


def _test_set(n: int = 12) -> ImageSet:
    g = torch.Generator().manual_seed(0)
    x = nn.functional.interpolate(torch.rand(n, 3, 4, 4, generator=g), size=32, mode="bilinear")
    return ImageSet((x * 255).round().to(torch.uint8), torch.arange(n) % 4, list("abcd"), "smooth", "test")


class Oracle(nn.Module):
    """A perfect colorizer of known images in one colour space: it recognises an image by its luma (the nearest
    stored one) and answers that image's true chroma, so it is exact only when it is given its own space's luma."""

    output_kind = "ab"

    def __init__(self, images: torch.Tensor, space: str):
        super().__init__()
        luma, chroma = to_luma_chroma(uint8_to_float(images), space)
        self.register_buffer("luma", luma.flatten(1))
        self.register_buffer("chroma", chroma)
        self.anchor = nn.Parameter(torch.zeros(()))  # the kit finds a model's device through its parameters

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nearest = torch.cdist(x.flatten(1).double(), self.luma.double()).argmin(1)
        return self.chroma[nearest] + 0 * self.anchor


@pytest.fixture
def nb(tmp_path):
    return NotebookRun("t", get_profile("smoke"), torch.device("cpu"), tmp_path, 0, None)


@pytest.mark.parametrize("space", SPACES)
def test_a_perfect_model_scores_zero_through_experiment_evaluate(space, nb):
    test = _test_set()
    exp = X.Experiment("perfect", Colorizer(Oracle(test.images, space), space=space), History(), {})
    row = X.evaluate(exp, test, nb).row
    assert row["rmse_ab"] < 0.05 and row["psnr"] > 60  # was 1.38 for YCbCr: the model was given Lab L
    wrong = X.Experiment("perfect", Colorizer(Oracle(test.images, space), space="lab" if space == "ycbcr" else "ycbcr"),
                         History(), {})  # told the wrong space, it is no longer perfect: the test can fail
    assert X.evaluate(wrong, test, nb).row["rmse_ab"] > 0.5


@pytest.mark.parametrize("space", SPACES)
def test_a_perfect_model_scores_zero_through_notebook_06s_judge_rows(space):
    test = _test_set()
    torch.manual_seed(0)
    judge = VGG("vgg11", num_classes=4, width=0.125)
    views = E.decodings(Oracle(test.images, space), "perfect", space)
    m = measure(test.images, test.labels, views, {"judge": judge}, batch_size=5, progress=False)
    assert m["perfect"]["rmse_ab"].mean() < 0.05 and m["grayscale"]["rmse_ab"].mean() > 5
    assert (m["perfect"]["correct:judge"] == m["truth"]["correct:judge"]).all()  # the judge sees the true images


@pytest.mark.parametrize("space", SPACES)
def test_a_perfect_model_through_training_validation_and_colorize_images(space):
    test = _test_set()
    model = Oracle(test.images, space)
    loss, rmse = loop.validate(model, test.images, "l2", space, batch_size=5)  # in the model's own chroma
    assert loss < 1e-8 and rmse < 1e-3
    photos = colorize_images(Colorizer(model, space=space, size=32), list(test.images))
    assert all((p.int() - t.int()).abs().max() <= 1 for p, t in zip(photos, test.images))
    rgb = targets.predict_colors(model, test.images, space)  # uint8 in, RGB in [0, 1] out
    torch.testing.assert_close(rgb, uint8_to_float(test.images), atol=1e-4, rtol=0)


def test_predict_colors_outputs_and_errors():
    test = _test_set(3)
    model = Oracle(test.images, "ycbcr")
    chroma = targets.predict_colors(model, test.images, "ycbcr", output="chroma")
    torch.testing.assert_close(chroma, to_luma_chroma(uint8_to_float(test.images), "ycbcr")[1])
    small = targets.predict_colors(Oracle(test.images[:, :, ::2, ::2].contiguous(), "lab"), test.images, "lab",
                                   output="lab_ab", size=16)  # the model sees 16 x 16, its ab comes back at 32 x 32
    assert small.shape == (3, 2, 32, 32)
    with pytest.raises(ValueError, match="predict_colors: unknown output 'ab'; valid: rgb, lab_ab, chroma"):
        targets.predict_colors(model, test.images, output="ab")
    with pytest.raises(ValueError, match=r"predict_colors: expected images with 3 channels"):
        targets.predict_colors(model, test.images[:, :1])
    with pytest.raises(ValueError, match="predict_colors: expected images as uint8 or float RGB, got dtype"):
        targets.predict_colors(model, test.images.int())
