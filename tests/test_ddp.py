"""Data-parallel training: `torchrun --nproc_per_node=2 -m colorkit.train` on CPU (gloo) at the smoke size."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from colorkit.checkpoint import load_checkpoint
from colorkit.profiles import get_profile
from colorkit.checkpoint import load_model
from colorkit.train import shard_indices, weights_digest

ROOT = Path(__file__).resolve().parents[1]


def test_shards_are_disjoint_equal_and_cover_all_but_the_remainder():
    perm = torch.randperm(11, generator=torch.Generator().manual_seed(0))
    shards = [shard_indices(perm, r, 3) for r in range(3)]
    assert [len(s) for s in shards] == [3, 3, 3]  # 11 // 3 each: every rank runs the same number of steps
    joined = torch.cat(shards)
    assert len(set(joined.tolist())) == 9 and set(joined.tolist()) <= set(perm.tolist())
    assert torch.equal(shard_indices(perm, 0, 1), perm)


@pytest.mark.skipif(not torch.distributed.is_available(), reason="torch.distributed not built")
def test_torchrun_two_ranks_train_identical_weights_and_one_checkpoint(tmp_path):
    torchrun = shutil.which("torchrun", path=str(Path(sys.executable).parent)) or shutil.which("torchrun")
    cmd = ([torchrun] if torchrun else [sys.executable, "-m", "torch.distributed.run"]) + [
        "--standalone", "--nproc_per_node=2", "-m", "colorkit.train", "--model", "zhang_simplified",
        "--width", "0.125", "--profile", "smoke", "--data", "embedded", "--epochs", "1",
        "--checkpoint", str(tmp_path / "out.pt"), "--no-progress"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": "",
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-4000:]
    digests = dict(re.findall(r"rank (\d)/2: weights sha256 ([0-9a-f]{64})", log))
    assert set(digests) == {"0", "1"}, log[-4000:]
    assert digests["0"] == digests["1"]  # gradients all-reduced, BatchNorm statistics broadcast
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.pt"]  # one checkpoint, no temp files left
    state = load_checkpoint(tmp_path / "out.pt")
    assert state["epoch"] == 1 and state["dataset"] == "embedded photo patches"
    steps = get_profile("smoke").n_train // 2 // 64  # the smoke images, halved between 2 ranks, 64 a batch
    assert len(state["history"]["train_loss_step"]) == steps
    model, _ = load_model(tmp_path / "out.pt", device="cpu")
    assert weights_digest(model) == digests["0"]  # rank 0 wrote what both ranks hold
