"""colorkit: a notebook-first teaching and reproduction kit for automatic image colorization."""
from .checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from .device import default_device, seed_everything
from .notebook import start_notebook
from .profiles import PROFILES, get_profile

__version__ = "0.1.0"
