"""The benchmark scripts run end to end at tiny sizes (so they do not rot), and check_prior's checks hold by hand."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
import check_prior  # noqa: E402

from colorkit.quantize import ab_bins  # noqa: E402
from colorkit.rebalance import smooth_prior  # noqa: E402


def _run(*args: str) -> str:
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}  # the CPU rows only, also where a GPU is present
    out = subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout


@pytest.mark.parametrize("args, expect", [
    (("benchmarks/bench_targets.py", "--n-images", "16", "--repeats", "1", "--threads", "1"), "soft"),
    (("benchmarks/bench_models.py", "--quick", "--width", "0.125", "--steps", "1", "--warmup", "0",
      "--models", "zhang_simplified"), "zhang_simplified"),
    (("benchmarks/bench_judge.py", "--quick", "--steps", "2", "--width", "0.125"), "img/s"),
    (("benchmarks/bench_precision.py", "--quick"), "bf16 channels_last"),
    (("benchmarks/bench_checkpoints.py", "--model", "cnn_tanh", "--count", "2", "--repeats", "1"), "2 found"),
    (("benchmarks/bench_profile.py", "--seconds", "0", "--batch", "4", "--width", "0.125"), "compact_classifier"),
    (("benchmarks/train_digests.py",), "gan_wgan_gp"),
])
def test_benchmark_scripts_run_and_print_figures(args, expect):
    assert expect in _run(*args)


def _bins() -> np.ndarray:
    return ab_bins(torch.device("cpu"), torch.float64).numpy()


def test_neighbour_ratio_finds_the_steepest_step():
    bins = _bins()
    p = np.full(313, 1.0)
    p[int(np.flatnonzero((bins == [0, 0]).all(1))[0])] = 50.0  # a spike at grey, flat elsewhere
    ratio, a, b = check_prior.neighbour_ratio(p / p.sum(), bins)
    assert ratio == pytest.approx(50.0) and (0.0, 0.0) in (a, b)
    assert sum(abs(u - v) for u, v in zip(a, b)) == 10.0  # grid neighbours
    smooth = smooth_prior(torch.from_numpy(p / p.sum())).numpy()  # smoothing flattens the step
    assert check_prior.neighbour_ratio(smooth, bins)[0] < 50.0


def test_reordered_chroma_recovers_a_prior_written_b_major():
    bins = _bins()
    grey = np.exp(-(bins ** 2).sum(1) / 200.0)  # a photo-like prior peaked at grey
    grey /= grey.sum()
    order = np.lexsort((bins[:, 0], bins[:, 1]))  # b-major, both ascending
    written = grey[order]  # the file lists the bins in that order
    chroma = check_prior.reordered_chroma(written, bins)
    assert len(chroma) == 8 and min(chroma, key=chroma.get) == "b-major, +b +minor"
    assert chroma["b-major, +b +minor"] == pytest.approx(float((grey * np.hypot(bins[:, 0], bins[:, 1])).sum()))


def test_gpu_check_fits_a_lent_gpu_and_names_every_recipe(tmp_path):
    """The prepared GPU command: every step bounded, 8 minutes at most in all, every pretrained recipe in it."""
    import gpu_check

    from colorkit.pretrained_train import RECIPES

    steps = gpu_check.steps("cifar10-jpeg.tar.gz", tmp_path, "cuda", tiny=False)
    assert sum(bound for _, _, bound in steps) <= 8 * 60
    assert {name.removeprefix("pretrained_") for name, _, _ in steps if name.startswith("pretrained_")} == set(RECIPES)
    for name, argv, _ in steps:
        script = next((a for a in argv[1:] if a.endswith(".py")), None)
        assert script is None or (ROOT / script).is_file(), name
        assert "--device" in argv and argv[argv.index("--device") + 1] == "cuda", name


def test_bench_photos_runs_at_a_tiny_size(tmp_path):
    out = _run("benchmarks/bench_photos.py", "--runs", "regressor:16", "--photos", "astronaut", "chelsea",
               "--long-side", "48", "--height", "32", "--out", str(tmp_path))
    assert "regressor      16  guided" in out and "bilinear" in out
    assert {p.name for p in tmp_path.iterdir()} == {"montage_regressor_16.png", "zoom_regressor_16.png"}


def test_compare_numbers_finds_each_moved_number_and_skips_timings(tmp_path):
    import importlib.util
    spec = importlib.util.spec_from_file_location("compare_numbers", ROOT / "benchmarks" / "compare_numbers.py")
    cn = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cn)
    before = {"seconds": 3.0, "table": [{"model": "L1", "rmse_ab": 10.5}, {"model": "L2", "rmse_ab": 11.0}]}
    after = {"seconds": 9.0, "table": [{"model": "L1", "rmse_ab": 10.5}, {"model": "L2", "rmse_ab": 11.0 + 1e-9}],
             "new": 1}
    assert cn.differences(before, after) == ["new: only after", "table[1].rmse_ab: 11.0 -> 11.000000001"]
    assert cn.differences(before, after, rtol=1e-6) == ["new: only after"]
    for name, data in (("a", before), ("b", before)):
        (tmp_path / name / "results").mkdir(parents=True)
        (tmp_path / name / "results" / "01.json").write_text(json.dumps(data))
    assert cn.main(["--runs", str(tmp_path / "a"), str(tmp_path / "b")]) == 0
    (tmp_path / "b" / "results" / "01.json").write_text(json.dumps(after))
    assert cn.main(["--runs", str(tmp_path / "a"), str(tmp_path / "b")]) == 1
    assert cn.main([]) == 2
