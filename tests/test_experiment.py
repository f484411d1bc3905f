"""colorkit.experiment: train + evaluate + table row, re-decoding classifiers, grids and temperature sweeps."""
from __future__ import annotations

import pytest
import torch

from colorkit import experiment as X
from colorkit.data import ImageSet
from colorkit.notebook import NotebookRun
from colorkit.profiles import get_profile


def _set(n: int, seed: int = 0) -> ImageSet:
    g = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (n, 3, 16, 16), dtype=torch.uint8, generator=g)
    return ImageSet(images, None, [], "random", "test")


@pytest.fixture
def nb(tmp_path):
    return NotebookRun("t", get_profile("smoke", epochs=1, batch_size=8, width=0.125), torch.device("cpu"),
                       tmp_path, 0, None)


def test_train_config_takes_the_profile_and_rejects_unknown_options(nb):
    cfg = X.train_config(nb.profile, seed=3, lr=0.01)
    assert (cfg.epochs, cfg.batch_size, cfg.seed, cfg.profile, cfg.lr) == (1, 8, 3, "smoke", 0.01)
    with pytest.raises(ValueError, match=r"train_config: unknown option\(s\) learning_rate; valid: .*lr"):
        X.train_config(nb.profile, learning_rate=0.01)


def test_run_experiment_checkpoints_evaluates_and_resumes(nb):
    train, test = _set(16), _set(8, seed=1)
    exp = X.run_experiment("CNN (tanh)", "cnn_tanh", train, test, nb, progress=False)
    assert nb.checkpoint_path("CNN (tanh)").name == "cnn_tanh.pt" and nb.checkpoint_path("CNN (tanh)").is_file()
    assert set(X.METRIC_COLUMNS) - {"auc_rebalanced"} <= set(exp.row) and exp.row["model"] == "CNN (tanh)"
    assert exp.row["params"] == sum(p.numel() for p in exp.colorizer.model.parameters())
    again = X.run_experiment("CNN (tanh)", "cnn_tanh", train, test, nb, progress=False)  # resumed: not retrained
    assert again.row == exp.row


def test_decoded_only_for_classifiers(nb):
    train, test = _set(16), _set(8, seed=1)
    reg = X.run_experiment("reg", "cnn_tanh", train, test, nb, progress=False)
    with pytest.raises(ValueError, match="Experiment.decoded: reg is a regression model"):
        reg.decoded("reg, mode", method="mode")
    cls = X.run_experiment("cls", "compact_classifier", train, test, nb, progress=False)
    mode = cls.decoded("cls, mode", method="mode")
    assert mode.colorizer.model is cls.colorizer.model and mode.colorizer.method == "mode" and mode.row == {}
    assert mode.colorizer.label == "cls, mode (mode)" and cls.colorizer.label == "cls (T=0.38)"
    assert X.evaluate(mode, test, nb).row["rmse_ab"] != cls.row["rmse_ab"]  # read another way, other colours


def test_grids_have_one_row_per_model_plus_input_and_truth(nb):
    train, test = _set(16), _set(8, seed=1)
    cls = X.run_experiment("cls", "compact_classifier", train, test, nb, progress=False)
    ycc = X.run_experiment("ycc", "cnn_tanh", train, test, nb, progress=False,
                           cfg=X.train_config(nb.profile, color_space="ycbcr", loss="l2"))
    rows = X.comparison_rows([cls, ycc], test.images[:4])
    assert list(rows) == ["input (L)", "cls", "ycc", "ground truth"]
    assert all(v.shape == (4, 3, 16, 16) and 0 <= v.min() and v.max() <= 1 for v in rows.values())


def test_show_table_returns_markdown():
    text = X.show_table([{"model": "a", "rmse_ab": 1.23456}, {"model": "b", "psnr": 20.0}])
    assert text.splitlines()[0] == "| model | rmse_ab | psnr |" and "| a | 1.235 |  |" in text
