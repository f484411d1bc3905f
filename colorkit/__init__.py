"""colorkit: a notebook-first teaching and reproduction kit for automatic image colorization.

Notebooks use one small surface: `import colorkit as ck`, then `ck.<name>` for the names imported below (each is
used by a numbered notebook; tests/test_namespace.py checks it), `ck.Colorizer` to colour images with a model, and
the modules `ck.color`, `ck.data`, `ck.hints`, `ck.losses`, `ck.metrics`, `ck.models`, `ck.quantize`,
`ck.rebalance`, `ck.references`, `ck.targets` and `ck.viz`. For discovery outside the notebooks:
`ck.list_pretrained()`, `ck.list_models()`, `ck.default_device()`. Larger machinery is imported from its own module
by name (`from colorkit import gan, effects, judge`, `from colorkit.hint_editor import HintSession`).
"""
from . import color, data, hints, losses, metrics, models, quantize, rebalance, references, targets, viz
from .color import join_lab, lab_to_rgb, rgb_to_hsv, rgb_to_lab, rgb_to_ycbcr, split_lab, uint8_to_float
from .colorizer import Colorizer
from .data import ImageSet, load_dataset, load_photos, sample_photo
from .device import default_device
from .experiment import (Experiment, comparison_rows, evaluate, pretrained_experiment, run_experiment, run_gan,
                         show_table, train_config)
from .metrics import evaluate_colorizer
from .models import build_model, count_parameters, list_models
from .notebook import start_notebook
from .pretrained import list_pretrained, load_pretrained
from .profiles import PROFILES
from .quantize import ab_bins, annealed_mean, decode_mean, decode_mode, encode_hard, soft_encode, soft_encode_sparse
from .rebalance import class_weights, empirical_prior, load_zhang_prior, prior_summary, smooth_prior
from .train import TrainConfig, fit
from .viz import toy_bimodal_distribution

__version__ = "0.1.0"
