"""Colorization networks: one file a family, built by name through the registry.

    model = build_model("zhang", width=0.25)      # preset name, optional head= and options
    logits = model(L)                              # L: raw lightness (B, 1, H, W) in [0, 100]
    build_model(**model.spec)                      # rebuilds the same architecture (checkpoints use it)

Every model: `forward(L)` -> ab in Lab units (B, 2, H, W) or logits (B, 313, H', W'); attributes
`output_kind` ("ab" / "logits"), `output_stride` (H / H'), `input_multiple`, `spec`.
Heads (`head=`): "tanh", "sigmoid", "linear", "classify" (see heads.py).

Registering a model from another module (e.g. models/vgg.py): import the decorator from the registry
module, not from this package, to avoid an import cycle, and subclass `Colorizer` for the interface:

    from colorkit.models.registry import register
    from colorkit.models.heads import Colorizer, Head

    @register("vgg_transfer", head="classify", description="...")
    def _vgg_transfer(head: str, width: float = 1.0) -> Colorizer: ...

The builder's keyword parameters (besides `head`) become the preset's options. This package imports
models/vgg.py when it exists, so its presets are in `MODEL_PRESETS` after `import colorkit.models`.
"""
from importlib import import_module
from importlib.util import find_spec

from . import compact, cnn, mlp, unet, zhang  # noqa: F401  (each registers its presets)
from .cnn import BlockSpec, CNNConfig, ConvNet
from .compact import CompactConfig, CompactNet
from .heads import HEADS, NUM_BINS, Colorizer, Head, scale_channels
from .mlp import MLPConfig, PatchMLP
from .registry import MODEL_PRESETS, Preset, build_model, count_parameters, list_models, register
from .unet import UNet, UNetConfig
from .zhang import ZhangColorizer, ZhangConfig

for _name in ("vgg",):  # families owned elsewhere that register presets, imported only if present
    if find_spec(f"{__name__}.{_name}") is not None:
        import_module(f"{__name__}.{_name}")

__all__ = [
    "BlockSpec", "CNNConfig", "Colorizer", "CompactConfig", "CompactNet", "ConvNet", "HEADS", "Head",
    "MLPConfig", "MODEL_PRESETS", "NUM_BINS", "PatchMLP", "Preset", "UNet", "UNetConfig",
    "ZhangColorizer", "ZhangConfig", "build_model", "count_parameters", "list_models", "register",
    "scale_channels",
]
