"""colorkit: a notebook-first teaching and reproduction kit for automatic image colorization.

Notebooks use one small surface: `import colorkit as ck`, then `ck.<function>` for the names below, `ck.Colorizer`
to colour images with a model, and the modules `ck.viz`, `ck.models`, `ck.metrics`, `ck.losses`, `ck.targets`,
`ck.data`, ... for plots and the larger families; `ck.references` puts the reference models beside a notebook's own. Larger machinery is imported from its own module by name
(`from colorkit import gan`, `from colorkit import judge`, `from colorkit.hint_editor import HintSession`).
"""
from . import color, data, hints, losses, metrics, models, quantize, rebalance, references, targets, viz
from .checkpoint import CheckpointError, load_checkpoint, load_model, save_checkpoint
from .color import (from_luma_chroma, hsv_to_rgb, join_lab, lab_to_rgb, rgb_to_hsv, rgb_to_lab, rgb_to_ycbcr,
                    split_lab, to_luma_chroma, uint8_to_float, ycbcr_to_rgb)
from .colorizer import Colorizer
from .data import ImageSet, embedded_images, load_cifar10, load_dataset, load_photos, sample_photo
from .device import default_device, seed_everything
from .experiment import (Experiment, comparison_rows, evaluate, pretrained_experiment, run_experiment, run_gan,
                         show_table, train_config)
from .metrics import evaluate_colorizer
from .models import build_model, count_parameters, list_models
from .notebook import start_notebook
from .pretrained import list_pretrained, load_pretrained
from .profiles import PROFILES, get_profile
from .quantize import (ab_bins, annealed_mean, decode, decode_mean, decode_mode, encode_hard, soft_encode,
                       soft_encode_sparse)
from .rebalance import (class_weights, empirical_prior, load_zhang_prior, prior_summary, smooth_prior,
                        try_load_zhang_prior)
from .targets import predict_ab
from .train import History, TrainConfig, fit
from .viz import toy_bimodal_distribution

__version__ = "0.1.0"
