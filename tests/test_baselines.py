"""colorkit.baselines: the grayscale and mean-colour rows of every results table."""
from __future__ import annotations

import pytest
import torch

from colorkit import baselines, color
from colorkit.data import ImageSet


def _images(n=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n, 3, 16, 16), dtype=torch.uint8, generator=g)


def test_mean_ab_is_the_mean_over_all_pixels_in_any_batch_size():
    x = _images(5)
    ab = color.split_lab(color.uint8_to_float(x).double())[1]
    expected = ab.mean(dim=(0, 2, 3))
    assert torch.allclose(baselines.mean_ab(x, batch_size=2), expected, atol=1e-4)
    with pytest.raises(ValueError, match=r"mean_ab: expected at least one uint8 \(N, 3, H, W\) image"):
        baselines.mean_ab(torch.zeros(2, 3, 4, 4))


def test_baseline_rows_grayscale_rmse_is_the_chroma_of_the_truth():
    train, test = ImageSet(_images(4, 1), None, [], "t", "t"), ImageSet(_images(3, 2), None, [], "t", "t")
    gray, mean = baselines.baseline_rows(train, test, device="cpu")
    assert (gray["model"], mean["model"]) == (baselines.GRAYSCALE, baselines.MEAN_COLOUR)
    ab = color.split_lab(color.uint8_to_float(test.images))[1]
    per_image = ab.square().mean(dim=(1, 2, 3)).sqrt()  # RMSE of predicting a = b = 0
    assert gray["rmse_ab"] == pytest.approx(per_image.mean().item(), rel=1e-5)
    assert gray["colorfulness"] < 1.0 and gray["params"] == 0 and "auc_rebalanced" not in gray
    constant = baselines.constant_colorizer(torch.tensor([3.0, -4.0]))(torch.zeros(2, 1, 5, 6))
    assert constant.shape == (2, 2, 5, 6) and constant[1, :, 4, 5].tolist() == [3.0, -4.0]
    with pytest.raises(ValueError, match="constant_colorizer: expected ab as 2 numbers"):
        baselines.constant_colorizer(torch.zeros(3))
