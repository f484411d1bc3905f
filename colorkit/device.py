"""Device selection and seeding, shared by training, notebooks and benchmarks."""
from __future__ import annotations

import random

import numpy as np
import torch


def default_device() -> torch.device:
    """CUDA when available, else the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (all devices) so the same seed gives the same CPU result."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
