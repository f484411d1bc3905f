"""Device selection and seeding, shared by training, notebooks and benchmarks."""
from __future__ import annotations

import random

import numpy as np
import torch


def default_device() -> torch.device:
    """CUDA when available, else the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def resolve_device(device: str | torch.device | None = None, world: int = 1) -> torch.device:
    """The device asked for, else this rank's GPU under torchrun (world > 1), else default_device(); a CUDA device
    on a machine without CUDA is refused with a ValueError that says so."""
    if device is None and world > 1 and torch.cuda.is_available():
        return torch.device("cuda", torch.cuda.current_device())  # torchrun: set_device(LOCAL_RANK) beforehand
    device = default_device() if device is None else torch.device(device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {str(device)!r} asked for, but CUDA is not available here; use cpu")
    return device


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (all devices) so the same seed gives the same CPU result."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
