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


# Tests over ~10 s on a quiet 2-core CPU (pytest --durations), marked `slow` here in one place: `make test-fast`
# runs the rest (`-m "not slow"`); `make test` runs everything. A name listed here that no longer exists is an error.
SLOW = {
    "test_pretrained.py::test_recipe_runs_at_a_tiny_size_and_resumes",
    "test_references.py::test_on_labelled_cifar_the_rows_are_measured_and_equal_the_effects_tables",
    "test_references.py::test_claims_pick_rows_by_their_text_and_load_only_what_they_compare",
    "test_prior_cli.py::test_photo_prior_counts_every_pixel_and_smooths_like_zhang",
    "test_prior_cli.py::test_train_cli_on_a_folder_of_photos_with_a_prior_file_and_its_own_prior",
    "test_browser.py::test_notebook_slider_in_jupyterlab",
    "test_browser.py::test_hint_editor_click_in_jupyterlab",
    "test_ddp.py::test_torchrun_two_ranks_train_identical_weights_and_one_checkpoint",
    "test_benchmarks.py::test_benchmark_scripts_run_and_print_figures",
    "test_benchmarks.py::test_bench_photos_runs_at_a_tiny_size",
    "test_judge.py::test_stopped_judge_training_resumes_to_the_same_weights",
    "test_publish.py::test_run_then_publish_keeps_prose_and_drops_machine_details",
    "test_publish.py::test_colorkit_run_stores_text_progress_bars_and_no_widget_state",
    "test_publish.py::test_publish_refuses_a_cell_changed_since_the_run",
    "test_runner.py::test_a_failing_notebook_names_its_cell_error_and_how_to_go_on",
    "test_runner.py::test_runner_executes_and_collects",
    "test_colorize.py::test_info_of_a_foreign_file_is_one_line_without_traceback",
    "test_hint_editor.py::test_true_colour_points_lift_psnr_of_the_pretrained_model",
}


def pytest_collection_modifyitems(config, items) -> None:
    """Mark the SLOW tests (all their parametrisations); fail on a listed name that matches no test."""
    seen = set()
    for item in items:
        key = f"{item.path.name}::{item.originalname if hasattr(item, 'originalname') else item.name}"
        if key in SLOW:
            item.add_marker(pytest.mark.slow)
            seen.add(key)
    whole_suite = {item.path.name for item in items} >= {k.split("::")[0] for k in SLOW}
    if whole_suite and SLOW - seen and not config.getoption("-k") and not config.getoption("-m"):
        raise pytest.UsageError(f"tests/conftest.py SLOW names tests that do not exist: {sorted(SLOW - seen)}")


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
