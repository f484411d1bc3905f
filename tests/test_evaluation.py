"""colorkit.evaluation (notebook 06's machinery): cache folder, decodings, a run's colorizers, seed 004's rows."""
from types import SimpleNamespace

import pytest
import torch

from colorkit import evaluation as E
from colorkit.models import build_model
from colorkit.train import TrainConfig, fit


def _images(n: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n, 3, 16, 16), dtype=torch.uint8, generator=g)


def _classifier():
    torch.manual_seed(0)
    return build_model("compact_classifier", width=0.125)


def _regressor():
    torch.manual_seed(0)
    return build_model("cnn_tanh", width=0.125)


def test_judge_cache_dir_follows_the_colorkit_cache(tmp_path, monkeypatch):
    assert E.judge_cache_dir(tmp_path) == tmp_path / "judges"
    monkeypatch.setenv("COLORKIT_CACHE", str(tmp_path / "env"))
    assert E.judge_cache_dir() == tmp_path / "env" / "judges"


@pytest.mark.parametrize("name, want", [("soft_mode", "mode"), ("Classification, mean", "mean"),
                                        ("rebalanced", "annealed"), ("modest_net", "annealed")])
def test_default_decoding_reads_whole_words(name, want):
    assert E.default_decoding(name) == want


def test_decodings_of_a_classifier_and_a_regressor():
    views = E.decodings(_classifier(), "soft", temperatures=(0.38, 0.89))
    assert list(views) == ["soft", "soft, mode", "soft, T=0.89"]  # "soft" itself is the annealed mean at 0.38
    assert [(v.method, v.T) for v in views.values()] == [("annealed", 0.38), ("mode", 0.38), ("annealed", 0.89)]
    assert len({id(v.cache) for v in views.values()}) == 1  # one network pass per batch for all three
    moded = E.decodings(_classifier(), "soft_mode", temperatures=(0.38,))
    assert list(moded) == ["soft_mode", "soft_mode, T=0.38"]
    assert list(E.decodings(_regressor(), "l2")) == ["l2"]
    with pytest.raises(ValueError, match=r"decodings: temperatures must be > 0 .* got 0"):
        E.decodings(_classifier(), "soft", temperatures=(0.0,))


def test_decoded_colorizer_output_shape_and_range():
    rgb = torch.rand(3, 3, 18, 14)  # not a multiple of the stride: padded, then cropped back
    for view in [*E.decodings(_classifier(), "soft").values(), *E.decodings(_regressor(), "l2").values()]:
        ab = view.from_rgb(rgb)
        assert ab.shape == (3, 2, 18, 14) and torch.isfinite(ab).all() and ab.abs().max() < 128


def test_load_run_colorizers_reads_a_run_folder(tmp_path):
    ckpts = tmp_path / "checkpoints"
    cfg = dict(epochs=1, batch_size=8, lr=1e-3, optimizer="adam")
    fit(_classifier(), _images(8), cfg=TrainConfig(loss="ce", checkpoint=ckpts / "soft.pt", **cfg), progress=False)
    fit(_regressor(), _images(8), cfg=TrainConfig(loss="l2", checkpoint=ckpts / "l2.pt", **cfg), progress=False)
    (ckpts / "broken.pt").write_bytes(b"not a checkpoint")  # skipped: not a colorizer checkpoint
    found = E.load_run_colorizers(tmp_path, device="cpu", temperatures=(0.89,))
    assert list(found) == ["l2", "soft", "soft, mode", "soft, T=0.89"]  # regressors first
    assert found["l2"].kind == "regression" and found["soft"].kind == "classifier"
    assert not found["soft"].model.training
    with pytest.raises(FileNotFoundError, match="load_run_colorizers: run_dir .*nowhere.* is not a folder"):
        E.load_run_colorizers(tmp_path / "nowhere")


def _view(source: str, kind: str, method: str = "annealed", T: float = 0.38):
    return SimpleNamespace(source=source, kind=kind, method=method, T=T)


def test_seed_004_stand_ins_prefer_the_named_checkpoints():
    views = {"cnn": _view("cnn", "regression"), "l2_sigmoid": _view("l2_sigmoid", "regression"),
             "other": _view("other", "classifier"), "other, mode": _view("other", "classifier", "mode"),
             "soft_mode": _view("soft_mode", "classifier", "mode"),
             "soft_mode, T=0.89": _view("soft_mode", "classifier", "annealed", 0.89)}
    assert E.seed_004_stand_ins(views) == {
        "grayscale": "grayscale", "regression": "l2_sigmoid", "classification": "soft_mode",
        "annealed_mean": "soft_mode, T=0.89", "vgg_transfer": None, "ground_truth": "ground_truth"}
    fallback = E.seed_004_stand_ins({"cnn": _view("cnn", "regression")})
    assert fallback["regression"] == "cnn" and fallback["classification"] is None


def test_seed_004_comparison_puts_the_published_top1_beside_ours():
    rows = [{"name": "grayscale", "top1": 0.4, "frechet": 9.0}, {"name": "l2", "top1": 0.5}]
    table = E.seed_004_comparison(rows, {"grayscale": "grayscale", "regression": "l2", "classification": None})
    assert table == [
        {"name": "grayscale", "model": "grayscale", "top1": 0.4, "frechet": 9.0, "seed_004_top1": 0.22},
        {"name": "regression", "model": "l2", "top1": 0.5, "seed_004_top1": 0.46},
        {"name": "classification", "model": None, "seed_004_top1": 0.57}]


def test_fixed_examples_lists_grayscale_errors_a_colorizer_fixes_first():
    labels = torch.tensor([0, 1, 2, 3, 4])
    rows = [{"name": "grayscale", "example_predictions": torch.tensor([9, 1, 9, 9, 4])},  # wrong at 0, 2, 3
            {"name": "soft", "example_predictions": torch.tensor([9, 1, 2, 3, 9])},  # fixes 2 and 3
            {"name": "ground_truth", "example_predictions": labels.clone()}]
    index, n_fixed = E.fixed_examples(rows, labels, n=4)
    assert n_fixed == 2 and index.tolist() == [2, 3, 0, 1]
    index, n_fixed = E.fixed_examples(rows, labels, n=5, fixer="ground_truth")
    assert n_fixed == 3 and index.tolist() == [0, 2, 3, 1, 4]
