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


@pytest.mark.parametrize("name, want", [("soft_mode", "mode"), ("Classification, mean", "mean"),
                                        ("rebalanced", "annealed"), ("modest_net", "annealed")])
def test_default_decoding_reads_whole_words(name, want):
    assert E.default_decoding(name) == want


def test_decodings_of_a_classifier_and_a_regressor():
    views = E.decodings(_classifier(), "soft", temperatures=(0.38, 0.89))
    assert list(views) == ["soft", "soft, mode", "soft, T=0.89"]  # "soft" itself is the annealed mean at 0.38
    assert [(v.method, v.T) for v in views.values()] == [("annealed", 0.38), ("mode", 0.38), ("annealed", 0.89)]
    assert len({id(v.model) for v in views.values()}) == 1  # one model, read three ways
    moded = E.decodings(_classifier(), "soft_mode", temperatures=(0.38,))
    assert list(moded) == ["soft_mode", "soft_mode, T=0.38"]
    assert list(E.decodings(_regressor(), "l2")) == ["l2"]
    with pytest.raises(ValueError, match=r"decodings: temperatures must be > 0 .* got 0"):
        E.decodings(_classifier(), "soft", temperatures=(0.0,))


def test_decoded_colorizer_output_shape_and_range():
    rgb = torch.rand(3, 3, 18, 14)  # not a multiple of the stride: padded, then cropped back
    for view in [*E.decodings(_classifier(), "soft").values(), *E.decodings(_regressor(), "l2").values()]:
        ab = view(rgb, output="ab")
        assert ab.shape == (3, 2, 18, 14) and torch.isfinite(ab).all() and ab.abs().max() < 128


def test_load_run_colorizers_reads_a_run_folder(tmp_path):
    ckpts = tmp_path / "checkpoints"
    cfg = dict(epochs=1, batch_size=8, lr=1e-3, optimizer="adam")
    fit(_classifier(), _images(8), cfg=TrainConfig(loss="ce", checkpoint=ckpts / "soft.pt", **cfg), progress=False)
    fit(_regressor(), _images(8), cfg=TrainConfig(loss="l2", checkpoint=ckpts / "l2.pt", **cfg), progress=False)
    (ckpts / "broken.pt").write_bytes(b"not a checkpoint")  # skipped: not a colorizer checkpoint
    found = E.load_run_colorizers(tmp_path, device="cpu", temperatures=(0.89,))
    assert list(found) == ["l2", "soft", "soft, mode", "soft, T=0.89"]  # regressors first
    assert found["l2"].output_kind == "ab" and found["soft"].output_kind == "logits"
    assert not found["soft"].model.training
    with pytest.raises(FileNotFoundError, match="load_run_colorizers: run_dir .*nowhere.* is not a folder"):
        E.load_run_colorizers(tmp_path / "nowhere")


def _view(source: str, kind: str, method: str = "annealed", T: float = 0.38):
    return SimpleNamespace(source=source, kind=kind, method=method, T=T)


