"""Fixtures shared by the test modules: tiny colorizer checkpoints written by train.fit, and a hint oracle."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from colorkit.data import ImageSet
from colorkit.models import build_model
from colorkit.train import TrainConfig, fit


class HintOracle(torch.nn.Module):
    """A 'perfect' hint model, no training needed: the hinted ab where there is a hint, grey elsewhere."""

    output_kind, input_multiple, output_stride, hint_channels = "ab", 1, 1, 3

    def __init__(self):
        super().__init__()
        self.dummy = torch.nn.Parameter(torch.zeros(1))  # the kit finds a model's device through its parameters

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, 1:3] * x[:, 3:4] + 0 * self.dummy


def tiny_checkpoint(path: Path, model: str, size: int) -> Path:
    """One training step of a x0.125 `model` on 8 random size x size images, saved by fit at `path`."""
    torch.manual_seed(0)
    images = torch.randint(0, 256, (8, 3, size, size), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    fit(build_model(model, width=0.125), ImageSet(images, None, [], "noise", "tests"), None,
        TrainConfig(epochs=1, batch_size=8, checkpoint=path, profile="smoke"), device="cpu", progress=False)
    return path


@pytest.fixture(scope="session")
def checkpoint(tmp_path_factory) -> Path:
    """A tiny classification colorizer (compact_classifier) checkpoint."""
    return tiny_checkpoint(tmp_path_factory.mktemp("ckpt") / "tiny.pt", "compact_classifier", 32)


@pytest.fixture(scope="session")
def hint_checkpoint(tmp_path_factory) -> Path:
    """A tiny hint model (zhang_hints) checkpoint."""
    return tiny_checkpoint(tmp_path_factory.mktemp("hints") / "hints.pt", "zhang_hints", 16)
