"""Notebook 06's pieces: the run's final table (colorkit.runner) and the run's colorizers as judge callables
(colorkit.judge: load_run_colorizers, decodings, seed-004 stand-ins, sweeps, examples)."""
from __future__ import annotations

import json
import warnings

import matplotlib
import nbformat
import pytest
import torch

from colorkit import evaluation as E
from colorkit import runner
from colorkit.checkpoint import load_checkpoint, save_checkpoint
from colorkit.color import from_luma_chroma, rgb_to_lab, split_lab, to_luma_chroma, uint8_to_float
from colorkit.data import ImageSet
from colorkit.gan import build_gan, fit_gan
from colorkit.models import build_model
from colorkit.models.vgg import VGG
from colorkit.notebook import NotebookRun
from colorkit.profiles import get_profile
from colorkit.targets import predict_ab
from colorkit.train import TrainConfig, fit

matplotlib.use("Agg")
torch.set_num_threads(1)


# ---------------------------------------------------------------- the final table

def _judged(name: str, top1: float) -> dict:
    return {"name": name, "top1": top1, "confidence": top1 / 2, "frechet": 10 * (1 - top1), "rmse_ab": 99.0}


def _write_results(run_dir, notebook: str, **payload) -> None:
    (run_dir / "results").mkdir(parents=True, exist_ok=True)
    (run_dir / "results" / f"{notebook}.json").write_text(json.dumps({"notebook": notebook, **payload}))


@pytest.fixture
def run_with_results(tmp_path):
    _write_results(tmp_path, "01_mlp_baseline", table=[{"model": "MLP", "rmse_ab": 12.0},
                                                       {"model": "CNN (tanh)", "rmse_ab": 10.0}])
    _write_results(tmp_path, "03_classification", table=[{"model": "soft, mode", "rmse_ab": 14.0},
                                                         {"model": "soft, T=0.89", "rmse_ab": 11.0}])
    _write_results(tmp_path, "06_vgg_evaluation", table=[{"model": "VGG transfer, mode", "rmse_ab": 13.0}],
                   judge_rows=[_judged("grayscale", 0.2), _judged("mlp", 0.3), _judged("cnn_tanh", 0.35),
                               _judged("soft_mode", 0.5), _judged("soft_mode, T=0.89", 0.55),
                               _judged("vgg_transfer_mode", 0.45), _judged("ground_truth", 0.8)])
    _write_results(tmp_path, "07_turing_test", table=[{"model": "soft_mode", "fooling_rate": 0.25}])
    return tmp_path


def test_final_table_merges_judge_columns_where_names_match(run_with_results):
    rows = runner.final_table(run_with_results)
    by = {(r["notebook"], r["model"]): r for r in rows}
    assert [r["model"] for r in rows] == ["MLP", "CNN (tanh)", "soft, mode", "soft, T=0.89", "VGG transfer, mode",
                                          "grayscale", "soft_mode, T=0.89", "ground_truth", "soft_mode"]
    mlp = by["01_mlp_baseline", "MLP"]
    assert mlp == {"notebook": "01_mlp_baseline", "model": "MLP", "rmse_ab": 12.0, "top1": 0.3, "confidence": 0.15,
                   "frechet": pytest.approx(7.0)}  # the notebook's own rmse_ab wins over the judge's
    assert by["01_mlp_baseline", "CNN (tanh)"]["top1"] == 0.35
    assert by["03_classification", "soft, mode"]["top1"] == 0.5  # "soft, mode" -> checkpoint soft_mode
    assert "top1" not in by["03_classification", "soft, T=0.89"]  # "soft_t_0.89" was never a checkpoint
    assert by["06_vgg_evaluation", "VGG transfer, mode"]["top1"] == 0.45
    assert by["06_vgg_evaluation", "grayscale"] == {"notebook": "06_vgg_evaluation", "model": "grayscale", **{
        k: v for k, v in _judged("grayscale", 0.2).items() if k != "name"}}
    assert by["07_turing_test", "soft_mode"] == {"notebook": "07_turing_test", "model": "soft_mode",
                                                 "fooling_rate": 0.25, "top1": 0.5, "confidence": 0.25, "frechet": 5.0,
                                                 "rmse_ab": 99.0}


def test_write_final_table_files(run_with_results):
    rows, text = runner.write_final_table(run_with_results)
    assert (run_with_results / "final_table.md").read_text() == text + "\n"
    saved = json.loads((run_with_results / "final_table.json").read_text())
    assert saved["rows"] == rows
    assert saved["columns"] == ["notebook", "model", "rmse_ab", "top1", "confidence", "frechet", "fooling_rate"]
    lines = text.splitlines()
    assert lines[0] == "| notebook | model | rmse_ab | top1 | confidence | frechet | fooling_rate |"
    assert "| 01_mlp_baseline | MLP | 12.000 | 0.300 | 0.150 | 7.000 |  |" in lines
    assert "| 06_vgg_evaluation | ground_truth | 99.000 | 0.800 | 0.400 | 2.000 |  |" in lines
    assert len(lines) == 2 + len(rows)
    empty = run_with_results / "empty"
    empty.mkdir()
    assert runner.write_final_table(empty) == ([], "(no results)")


@pytest.mark.parametrize("name", ["CNN (tanh)", "soft, mode", "one-hot, mode", "L2, YCbCr", "Zhang net, L2",
                                  "soft_mode, T=0.89", "VGG transfer, mode", "regression (cnn_sigmoid)"])
def test_slug_is_the_checkpoint_rule(tmp_path, name):
    nb = NotebookRun("x", get_profile("smoke"), torch.device("cpu"), tmp_path, 0, None)
    assert runner.slug(name) == nb.checkpoint_path(name).stem


def test_run_notebooks_prints_the_final_table(tmp_path, monkeypatch, capsys):
    import papermill

    folder = tmp_path / "notebooks"
    folder.mkdir()
    book = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('# parameters\nprofile = "smoke"\nrun_dir = None\n')
    params.metadata["tags"] = ["parameters"]
    book.cells = [params]
    book.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(book, folder / "06_judge.ipynb")

    def fake_execute(source, target, parameters, **kwargs):  # what notebook 06 leaves in the run folder
        _write_results(tmp_path / "run", "06_judge", table=[{"model": "CNN (tanh)", "rmse_ab": 10.0}],
                       judge_rows=[_judged("cnn_tanh", 0.4), _judged("grayscale", 0.1)])

    monkeypatch.setattr(papermill, "execute_notebook", fake_execute)
    rows = runner.run_notebooks("smoke", run_dir=tmp_path / "run", folder=folder)
    assert rows == [{"notebook": "06_judge", "model": "CNN (tanh)", "rmse_ab": 10.0}]  # unchanged return value
    out = capsys.readouterr().out
    assert "| 06_judge | CNN (tanh) | 10.000 | 0.400 | 0.200 | 6.000 |" in out
    assert "| 06_judge | grayscale | 99.000 | 0.100 |" in out
    assert (tmp_path / "run" / "final_table.md").is_file() and (tmp_path / "run" / "results.md").is_file()


# ---------------------------------------------------------------- the run's colorizers

def _images(n: int, seed: int = 0) -> ImageSet:
    g = torch.Generator().manual_seed(seed)
    x = torch.nn.functional.interpolate(torch.rand(n, 3, 8, 8, generator=g), size=32, mode="bilinear")
    return ImageSet((x * 255).round().to(torch.uint8), torch.arange(n) % 4, ["a", "b", "c", "d"], "tiny", "test")


def _train(folder, name: str, preset: str, **cfg):
    model = build_model(preset, width=0.125)
    fit(model, _images(4), None, TrainConfig(epochs=1, batch_size=4, checkpoint=folder / f"{name}.pt", **cfg),
        device="cpu", progress=False)
    return model


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    run = tmp_path_factory.mktemp("run")
    ckpt = run / "checkpoints"
    models = {"soft_mode": _train(ckpt, "soft_mode", "zhang_simplified", loss="ce"),
              "l2_sigmoid": _train(ckpt, "l2_sigmoid", "cnn_sigmoid"),
              "l2_ycbcr": _train(ckpt, "l2_ycbcr", "cnn_tanh", color_space="ycbcr")}
    G, D, cfg = build_gan("dcgan", "cnn_tanh", width=0.125, epochs=1, batch_size=4, checkpoint=ckpt / "dcgan.pt")
    fit_gan(G, D, _images(4), cfg=cfg, device="cpu", progress=False)  # notebook 05's generators: fit checkpoints
    models["dcgan"] = G
    save_checkpoint(ckpt / "judge-smoke.pt", {"kind": "judge", "model": VGG("vgg11", width=0.125).state_dict()})
    broken = load_checkpoint(ckpt / "soft_mode.pt")
    broken["spec"] = {**broken["spec"], "width": 0.25}  # weights of another width: load_state_dict fails
    save_checkpoint(ckpt / "broken.pt", broken)
    return run, models


def test_load_run_colorizers_names_and_skips(run_dir):
    run, _ = run_dir
    with pytest.warns(RuntimeWarning, match=r"load_run_colorizers: skipping broken.pt"):
        found = E.load_run_colorizers(run, "cpu")
    assert list(found) == ["dcgan", "l2_sigmoid", "l2_ycbcr", "soft_mode", "soft_mode, T=0.38", "soft_mode, T=0.89"]
    assert {n: (c.name, c.output_kind, c.method, c.T, c.space) for n, c in found.items()} == {
        "dcgan": ("dcgan", "ab", "annealed", 0.38, "lab"),
        "l2_sigmoid": ("l2_sigmoid", "ab", "annealed", 0.38, "lab"),
        "l2_ycbcr": ("l2_ycbcr", "ab", "annealed", 0.38, "ycbcr"),
        "soft_mode": ("soft_mode", "logits", "mode", 0.38, "lab"),
        "soft_mode, T=0.38": ("soft_mode", "logits", "annealed", 0.38, "lab"),
        "soft_mode, T=0.89": ("soft_mode", "logits", "annealed", 0.89, "lab")}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert list(E.load_run_colorizers(run, "cpu", temperatures=(0.5,)))[3:] == ["soft_mode", "soft_mode, T=0.5"]
    with pytest.raises(FileNotFoundError, match="load_run_colorizers: run_dir"):
        E.load_run_colorizers(run / "nothing", "cpu")


def test_decoded_colorizers_match_predict_ab(run_dir):
    run, models = run_dir
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        found = E.load_run_colorizers(run, "cpu")
    rgb = uint8_to_float(_images(3, seed=1).images)  # (3, 3, 32, 32)
    L, _ = split_lab(rgb)  # (3, 1, 32, 32)
    def close(a, b):  # a trained model may run in another memory layout than its reloaded copy: float rounding
        torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-5)

    soft = models["soft_mode"].eval()
    close(found["soft_mode"](rgb, output="ab"), predict_ab(soft, L, method="mode"))
    close(found["soft_mode, T=0.89"](rgb, output="ab"), predict_ab(soft, L, T=0.89))
    close(found["l2_sigmoid"](rgb, output="ab"), predict_ab(models["l2_sigmoid"].eval(), L))
    close(found["dcgan"](rgb, output="ab"), predict_ab(models["dcgan"].eval(), L))
    ycc = models["l2_ycbcr"].eval()  # sees the YCbCr luma Y it was trained on; its CbCr is read back as Lab ab
    Y, _ = to_luma_chroma(rgb, "ycbcr")
    expected = rgb_to_lab(from_luma_chroma(Y, predict_ab(ycc, Y), "ycbcr"))[:, 1:]
    close(found["l2_ycbcr"](rgb, output="ab"), expected)
    assert found["soft_mode"](rgb, output="ab").shape == (3, 2, 32, 32)  # decoded at 1/4, upsampled to L's size


def test_colorizer_sweep_runs_the_network_once_per_batch():
    model = build_model("zhang_simplified", width=0.125).eval()
    calls = []
    model.register_forward_hook(lambda *_: calls.append(1))
    views = E.decodings(model, "rebalanced_ours", temperatures=(0.2, 0.38, 0.89))
    assert list(views) == ["rebalanced_ours", "rebalanced_ours, mode", "rebalanced_ours, T=0.2",
                           "rebalanced_ours, T=0.89"]  # T = 0.38 is the plain name's decoding
    L, _ = split_lab(torch.rand(5, 3, 32, 32))
    swept = views["rebalanced_ours"].sweep(L, [0.2, 0.38, 0.89, 0.0], batch_size=2)
    assert len(calls) == 3  # three batches of at most 2, one forward pass each for all four decodings
    calls.clear()
    for name, T in (("rebalanced_ours, T=0.2", 0.2), ("rebalanced_ours", 0.38), ("rebalanced_ours, T=0.89", 0.89),
                    ("rebalanced_ours, mode", 0.0)):
        torch.testing.assert_close(swept[T], views[name].ab(L))  # each decoding run on its own
    assert len(calls) == 4  # on its own: one pass per decoding
    assert not torch.allclose(swept[0.2], swept[0.89])
    with pytest.raises(ValueError, match=r"decodings: temperatures must be > 0"):
        E.decodings(model, "x", temperatures=(0.0,))
    with pytest.raises(ValueError, match=r"Colorizer.sweep: temperatures must be finite and >= 0"):
        views["rebalanced_ours"].sweep(L, [-1.0])


@pytest.mark.parametrize("name, method", [("soft_mode", "mode"), ("one-hot_mode", "mode"), ("soft, mean", "mean"),
                                          ("rebalanced_ours", "annealed"), ("unimodal", "annealed"),
                                          ("07_compact_classifier", "annealed")])
def test_default_decoding(name, method):
    assert E.default_decoding(name) == method


# ---------------------------------------------------------------- seed 004, sweeps and examples

def _views(**kinds) -> dict:
    reg, cls = build_model("cnn_sigmoid", width=0.125), build_model("zhang_simplified", width=0.125)
    out = {}
    for name, kind in kinds.items():
        out.update(E.decodings(reg if kind == "r" else cls, name))
    return out


