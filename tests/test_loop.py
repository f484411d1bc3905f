"""loop.run_epochs, the skeleton of every trainer: values read back in groups, history, divergence, checkpoints."""
from __future__ import annotations

import pytest
import torch

from colorkit import loop
from colorkit.checkpoint import load_checkpoint


def _run(tmp_path, steps=5, epochs=2, log_every=2, poison=None, **kw):
    seen = {"begin": [], "end": [], "syncs": 0}
    net = torch.nn.Linear(2, 1)

    def begin(epoch):
        seen["begin"].append(epoch)

    def step(epoch, i):
        v = float(epoch * 10 + i)
        if poison == (epoch, i):
            v = float("nan")
        return {"loss": torch.tensor(v), "terms": torch.tensor([v, -v])}

    def end(epoch, values, seconds):
        seen["end"].append((epoch, values, seconds >= 0))
        return {"loss": sum(values["loss"]) / len(values["loss"])}

    real = torch.Tensor.tolist

    def counting(t):  # every read-back is one .tolist() of the concatenated values
        seen["syncs"] += 1
        return real(t)

    path = tmp_path / "state.pt"
    try:
        torch.Tensor.tolist = counting
        loop.run_epochs("t", 0, epochs, steps, begin, step, end, lambda done: {"epoch": done}, path, [net],
                        {"loss": "the loss"}, lambda: "Try less.", log_every, progress=False, **kw)
    finally:
        torch.Tensor.tolist = real
    return seen, path


def test_values_come_back_per_step_in_groups_and_each_epoch_is_saved(tmp_path):
    seen, path = _run(tmp_path)
    assert seen["begin"] == [0, 1]
    epoch, values, timed = seen["end"][1]
    assert epoch == 1 and timed and values["loss"] == [10.0, 11.0, 12.0, 13.0, 14.0]
    assert values["terms"] == [[v, -v] for v in values["loss"]]  # vectors stay vectors
    assert seen["syncs"] == 2 * 5  # log_every counts values: 2 a step reach it at every step
    assert load_checkpoint(path)["epoch"] == 2


def test_a_non_finite_value_stops_with_the_step_and_keeps_the_last_checkpoint(tmp_path):
    with pytest.raises(loop.TrainingDiverged, match=r"t: the loss is nan at epoch 2, step 4 of 5; training stopped "
                                                    r"\(the last good checkpoint .*state.pt \(epoch 1\) is kept\). Try less."):
        _run(tmp_path, poison=(1, 3))
    assert load_checkpoint(tmp_path / "state.pt")["epoch"] == 1


def test_non_finite_weights_are_never_saved(tmp_path):
    net = torch.nn.Linear(2, 1)
    with torch.no_grad():
        net.weight.fill_(float("inf"))
    path = tmp_path / "s.pt"
    with pytest.raises(loop.TrainingDiverged, match=r"the weights are NaN or infinite after epoch 1; training stopped "
                                                    r"\(no checkpoint was written\)"):
        loop.run_epochs("t", 0, 1, 1, lambda e: None, lambda e, i: {}, lambda e, v, s: {}, lambda d: {}, path, [net],
                        progress=False)
    assert not path.exists()


def test_one_device_rule_for_training_and_colouring():
    from colorkit.device import resolve_device

    assert resolve_device("cpu") == torch.device("cpu") and resolve_device(None).type in ("cpu", "cuda")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match=r"device 'cuda:1' asked for, but CUDA is not available here; use cpu"):
            resolve_device("cuda:1")
        assert resolve_device(None, world=2) == torch.device("cpu")  # torchrun without GPUs: the CPU
