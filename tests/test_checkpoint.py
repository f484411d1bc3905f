"""colorkit.checkpoint: atomic writes, weights_only loads, clear errors, memory-mapped metadata reads."""
import threading

import pytest
import torch

from colorkit.checkpoint import FORMAT, CheckpointError, load_checkpoint, save_checkpoint


def test_round_trip_and_marker(tmp_path):
    state = {"model": {"w": torch.arange(6.0).reshape(2, 3)}, "epoch": 3, "spec": {"name": "cnn_tanh"}}
    path = save_checkpoint(tmp_path / "sub" / "run.pt", state)  # parent folders are created
    back = load_checkpoint(path)
    assert back["format"] == FORMAT and back["epoch"] == 3 and torch.equal(back["model"]["w"], state["model"]["w"])


def test_a_failed_write_keeps_the_previous_checkpoint_and_no_temp_file(tmp_path):
    path = save_checkpoint(tmp_path / "run.pt", {"epoch": 1})
    with pytest.raises(Exception):
        save_checkpoint(path, {"epoch": 2, "lock": threading.Lock()})  # torch.save fails half way
    assert load_checkpoint(path)["epoch"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["run.pt"]


def test_errors_name_the_file(tmp_path):
    with pytest.raises(CheckpointError, match=r"checkpoint .*missing\.pt does not exist"):
        load_checkpoint(tmp_path / "missing.pt")
    (tmp_path / "junk.pt").write_bytes(b"\x00" * 64)
    with pytest.raises(CheckpointError, match=r"junk\.pt is not a readable colorkit checkpoint"):
        load_checkpoint(tmp_path / "junk.pt")
    torch.save({"weights": torch.zeros(2)}, tmp_path / "foreign.pt")
    with pytest.raises(CheckpointError, match=r"foreign\.pt is not a colorkit checkpoint \(no 'colorkit-checkpoint'"):
        load_checkpoint(tmp_path / "foreign.pt")


def test_mmap_load_gives_the_same_state(tmp_path):
    state = {"model": {"w": torch.randn(64, 64), "b": torch.randn(64)}, "config": {"lr": 0.1}}
    path = save_checkpoint(tmp_path / "run.pt", state)
    mapped, read = load_checkpoint(path, mmap=True), load_checkpoint(path)
    assert mapped["config"] == read["config"]
    for key in state["model"]:
        assert torch.equal(mapped["model"][key], read["model"][key])
